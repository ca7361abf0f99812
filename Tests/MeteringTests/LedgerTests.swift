import Foundation
import Metering
import TestSupport
import Testing

struct LedgerTests {
    func record(_ arn: String, family: String = "app", seconds: Int64 = 60, cost: Int64 = 205_708, start: Int64 = 1_700_000_000_000_000) -> BillingRecord {
        BillingRecord(taskArn: arn, family: family, revision: 3, cpu: 256, memory: 512, ephemeralStorageGiB: 20,
                      architecture: "X86_64", pricePlatform: "linux/x86_64", region: "us-east-1",
                      billingStartMicros: start, billingEndMicros: start + seconds * 1_000_000, billedSeconds: seconds,
                      costNanos: cost, vcpuHourNanos: 40_480_000, gbHourNanos: 4_445_000, stopCode: "EssentialContainerExited",
                      cpuUsageNanos: 12_000_000, memoryPeakBytes: 4096)
    }

    @Test func roundTripThroughARealSQLiteFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/ledger.sqlite"
        do {
            let ledger = try Ledger(path: path)
            try ledger.open(OpenTask(taskArn: "arn:a", family: "app", billingStartMicros: 1, pid: 42))
            #expect(try ledger.openTasks().map(\.taskArn) == ["arn:a"])
            try ledger.close(record("arn:a"))
            #expect(try ledger.openTasks().isEmpty, "closing a task removes its open marker in the same transaction")
        }
        // A second process (here: a second connection) sees the committed rows.
        let reopened = try Ledger(path: path)
        #expect(try reopened.records() == [record("arn:a")])
        let mode = try run("/usr/bin/sqlite3", [path, "PRAGMA journal_mode;"])
        #expect(mode.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "wal")
    }

    @Test func aTaskIsNeverBilledTwice() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try Ledger(path: dir.path + "/l.sqlite")
        try ledger.close(record("arn:a"))
        #expect(throws: MeteringError.self) { try ledger.close(record("arn:a")) }
        #expect(try ledger.records().count == 1)
    }

    /// What a runner bills with: a task billed before (a resumed task whose host billed it
    /// and died before saying so) is not billed again, and that is no error.
    @Test func closeOnceBillsATaskOnceAndSaysWhetherItDid() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try Ledger(path: dir.path + "/l.sqlite")
        try ledger.open(OpenTask(taskArn: "arn:a", family: "app", billingStartMicros: 1, pid: 42))
        #expect(try ledger.closeOnce(record("arn:a")))
        #expect(try ledger.openTasks().isEmpty, "the open marker ends with the bill")
        #expect(try ledger.closeOnce(record("arn:a", cost: 1)) == false)
        #expect(try ledger.records().map(\.costNanos) == [205_708], "the first bill stands")
    }

    @Test func recordsAreAppendOnly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/l.sqlite"
        let ledger = try Ledger(path: path)
        try ledger.close(record("arn:a"))
        let upd = try run("/usr/bin/sqlite3", [path, "UPDATE billing_records SET cost_nanos = 0;"])
        #expect(upd.status != 0)
        #expect(upd.stderr.contains("append-only"))
        let del = try run("/usr/bin/sqlite3", [path, "DELETE FROM billing_records;"])
        #expect(del.status != 0)
        #expect(try ledger.records().first?.costNanos == 205_708)
    }

    @Test func reportTotalsEqualTheSumOfRows() throws {
        let rows = [record("arn:aws:ecs:us-east-1:0:task/c/aaaaaaaaaaaaaaaa", seconds: 60, cost: 205_708),
                    record("arn:aws:ecs:us-east-1:0:task/c/bbbbbbbbbbbbbbbb", family: "web", seconds: 3600, cost: 12_342_500)]
        let report = CostReport(records: rows)
        #expect(report.totalCost == Money(nanos: 12_548_208))
        #expect(report.totalSeconds == 3660)
        let table = report.render(.table)
        #expect(table.contains("TOTAL"))
        #expect(table.contains("$0.012548208"))
        #expect(table.contains("aaaaaaaaaaaa"))
        let csv = report.render(.csv).split(separator: "\n")
        #expect(csv.count == 3)
        #expect(csv[0].hasPrefix("task_arn,family,revision"))
        #expect(csv[2].split(separator: ",")[9...10] == ["3600", "0.0123425"], "billed seconds and cost stay where they were")
        let json = try JSONSerialization.jsonObject(with: Data(report.render(.json).utf8)) as! [String: Any]
        #expect(json["totalCost"] as? String == "0.012548208")
        #expect((json["tasks"] as? [Any])?.count == 2)
    }

    @Test func filtersByFamilyAndTime() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try Ledger(path: dir.path + "/l.sqlite")
        try ledger.close(record("arn:1", family: "a", start: 1_000_000_000_000_000))
        try ledger.close(record("arn:2", family: "b", start: 2_000_000_000_000_000))
        #expect(try ledger.records(family: "a").map(\.taskArn) == ["arn:1"])
        #expect(try ledger.records(since: Date(timeIntervalSince1970: 1_500_000_000)).map(\.taskArn) == ["arn:2"])
    }

    /// A 40-second task is billed 60 s: a window from its end on still holds the 20 billed
    /// seconds after it, and the two sides of any time add up to the bill.
    @Test func aWindowAfterAShortTaskEndedHoldsItsBilledMinute() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let ledger = try Ledger(path: dir.path + "/l.sqlite")
        let start: Int64 = 1_765_000_000_000_000
        var short = record("arn:aws:ecs:us-east-1:0:task/c/0123456789abcdef0123456789abcdef", start: start)
        short.billingEndMicros = start + 40_000_000
        try ledger.close(short)
        let at = { (seconds: Double) in Date(timeIntervalSince1970: Double(start) / 1e6 + seconds) }
        #expect(try ledger.records(since: at(40)).count == 1, "ended, billed on")
        #expect(try ledger.records(since: at(59.9)).count == 1)
        #expect(try ledger.records(since: at(60)).isEmpty, "its billed minute is over")
        for cut in [1.0, 39.5, 40, 41, 59] {
            let before = try CostAllocation(records: ledger.records(until: at(cut)), usage: [:], query: .init(until: at(cut)), prices: .usEast1)
            let after = try CostAllocation(records: ledger.records(since: at(cut)), usage: [:], query: .init(since: at(cut)), prices: .usEast1)
            #expect(before.total.billedMicros + after.total.billedMicros == 60_000_000, "cut at +\(cut) s")
            #expect(before.total.cost + after.total.cost == Money(nanos: short.costNanos), "cut at +\(cut) s")
        }
    }

    @Test func priceFileRoundTrip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let data = try JSONEncoder().encode(PriceTable.usEast1)
        try writeFile(dir.path + "/p.json", data)
        #expect(try PriceTable.load(dir.path + "/p.json") == PriceTable.usEast1)
        #expect(throws: MeteringError.self) { try PriceTable.usEast1.rates(for: "windows/x86_64") }
    }
}
