#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

extension Harness {
    /// A metering command (usage, advise, report) against the harness's root.
    func metering(_ verb: String, _ args: [String]) throws -> RunResult {
        try run(fargateRunBinary, [verb, "--root", root] + args)
    }

    /// `usage TASK --format json`, parsed.
    func usage(_ id: String) throws -> [String: Any] {
        let r = try metering("usage", [id, "--format", "json"])
        try #require(r.status == 0, "\(r.stderr)")
        return try json(r.stdout)
    }

    func sqlite(_ sql: String) throws -> String {
        try run("/usr/bin/sqlite3", [root + "/ledger.sqlite", sql]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

func usageContainer(_ usage: [String: Any], _ name: String) throws -> [String: Any] {
    let list = try #require(usage["containers"] as? [[String: Any]])
    return try #require(list.first { $0["name"] as? String == name })
}

/// Usage samples from real cgroups: what `usage` and `advise` say of tasks whose use is known.
/// Tasks run with `--network none`: what is measured here is the cgroups', and no host bridge is
/// shared with the other suites.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct UsageTests {
    @Test func aSpinnerReadsNearAllOfItsQuarterVCPUAndAnIdleTaskNearNone() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let spinner = try h.task(#"""
            {"family": "spinner", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "spin", "image": "IMAGE", "command": ["sh", "-c", "timeout 8 yes > /dev/null; true"]}]}
            """#, name: "spin.json")
        let idle = try h.task(#"""
            {"family": "idle", "networkMode": "awsvpc", "cpu": "1024", "memory": "2048", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "memoryReservation": 256, "command": ["sleep", "8"]}]}
            """#, name: "idle.json")
        for t in [spinner, idle] {
            let r = try h.fargateRun(["--network", "none", "-q", t])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let ids = try h.sqlite("SELECT task_arn FROM usage_tasks ORDER BY id").split(separator: "\n").map { String($0.split(separator: "/").last!) }
        try #require(ids.count == 2)
        let spin = try usageContainer(try h.usage(ids[0]), "(task)")
        let spinP95 = try #require(spin["cpuP95ShareOfTask"] as? Double)
        let spinAverage = try #require(spin["cpuAverageShareOfTask"] as? Double)
        // The p95 of eight or nine one-second rows is about their largest; on a busy machine a
        // row's reading comes late or early against its second by up to a tenth (seen: 1.11).
        #expect(spinP95 > 0.9 && spinP95 < 1.2, "p95 of a spinner capped at 0.25 vCPU: \(spinP95)")
        #expect(spinAverage > 0.7, "mean over the task, its start and end included: \(spinAverage)")
        let still = try usageContainer(try h.usage(ids[1]), "(task)")
        let idleAverage = try #require(still["cpuAverageShareOfTask"] as? Double)
        #expect(idleAverage < 0.02, "\(idleAverage)")
        #expect(try #require(still["memoryPeakShareOfTask"] as? Double) < 0.05)

        // The table says the same to a person, with a sparkline.
        let table = try h.metering("usage", [ids[0]])
        #expect(table.stdout.contains("(task)") && table.stdout.contains("spin") && table.stdout.contains("█"), "\(table.stdout)")

        // advise: the idle family is Overprovisioned and fits the smallest size; the spinner
        // is Underprovisioned (its p99 is its whole vCPU).
        let advice = try h.metering("advise", ["--min-data", "5s", "--format", "json"])
        #expect(advice.status == 0, "\(advice.stderr)")
        let list = try #require(try json(advice.stdout)["recommendations"] as? [[String: Any]])
        let idleAdvice = try #require(list.first { $0["family"] as? String == "idle" })
        #expect(idleAdvice["finding"] as? String == "Overprovisioned")
        #expect(idleAdvice["findingReasonCodes"] as? [String] == ["CPUOverprovisioned", "MemoryOverprovisioned"])
        let option = try #require((idleAdvice["serviceRecommendationOptions"] as? [[String: Any]])?.first)
        #expect(option["cpu"] as? Int == 256 && option["memory"] as? Int == 512)
        let spinAdvice = try #require(list.first { $0["family"] as? String == "spinner" })
        #expect(spinAdvice["finding"] as? String == "Underprovisioned")
        // With the default 24 hours of data there is too little to say anything.
        let refused = try h.metering("advise", [])
        #expect(refused.stdout.contains("insufficient data") && refused.stdout.contains("advice needs 24.0 h"), "\(refused.stdout)")

        // report: efficiency columns, and a chart with one series per family.
        let svg = h.dir.path + "/cost.svg"
        let report = try h.metering("report", ["--group-by", "family", "--format", "json", "--plot", svg])
        #expect(report.status == 0, "\(report.stderr)")
        let rows = try #require(try json(report.stdout)["rows"] as? [[String: Any]])
        let spinRow = try #require(rows.first { ($0["key"] as? [String: String])?["family"] == "spinner" })
        #expect(try #require(spinRow["cpuEfficiency"] as? Double) > 0.1, "8 s of a full vCPU in a 60 s bill")
        let text = try String(contentsOfFile: svg, encoding: .utf8)
        #expect(text.components(separatedBy: "class=\"series\"").count - 1 == 2)

        // What the report cannot do is a bad input (status 2) named on stderr.
        let x86Only = h.dir.path + "/x86-only.json"
        try #"{"region": "us-east-1", "platforms": {"linux/x86_64": {"vcpuHour": "0.04048", "gbHour": "0.004445"}}, "ephemeralStorageGBHour": "0.000111"}"#
            .write(toFile: x86Only, atomically: false, encoding: .utf8)
        for (args, message) in [(["--prices", x86Only, "--price-as", "arm64"], "fargate-run: no linux/arm64 prices for us-east-1 (have: linux/x86_64)"),
                                (["--format", "cur", "--price-as", "spot"], "fargate-run: --format cur writes what was billed; --price-as does not apply to it"),
                                (["--group-by", "family,day", "--group-by", "family"], "fargate-run: --group-by names family twice")] {
            let bad = try h.metering("report", args)
            #expect(bad.status == 2 && bad.stderr.hasPrefix(message) && bad.stdout.isEmpty, "\(args): \(bad.status) \(bad.stderr)")
        }
    }

    @Test func aMemoryHogsPeakIsTheCgroupsOwn() throws {
        let h = try Harness()
        defer { h.cleanup() }
        // dd holds a 96 MiB buffer for a moment: too short for a per-second sample to catch,
        // not for the kernel's high-water mark.
        let t = try h.task(#"""
            {"family": "hog", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "hog", "image": "IMAGE", "command": ["sh", "-c", "dd if=/dev/zero of=/dev/null bs=96M count=1 2>/dev/null; touch /tmp/done; sleep 4"]}]}
            """#)
        let p = try h.background(["--network", "none", "-q", t])
        defer { p.stop() }
        var dirs: [String] = []
        try #require(eventually {
            guard let id = h.taskIds().first, let s = h.state(id), let d = s["cgroupDirectories"] as? [String],
                  let ps = s["pids"] as? [String: Int], let hog = ps["hog"] else { return false }
            dirs = d
            return FileManager.default.fileExists(atPath: "/proc/\(hog)/root/tmp/done")
        }, "the hog never finished: \(p.stderr)")
        // The container's cgroup's own peak, as the kernel keeps it.
        var kernelPeak: Int64?
        for d in dirs {
            for f in ["memory.max_usage_in_bytes", "memory.peak"] {
                if let v = try? String(contentsOfFile: d + "/hog/" + f, encoding: .utf8) { kernelPeak = Int64(v.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }
        let peak = try #require(kernelPeak)
        #expect(peak >= 96 << 20)
        #expect(p.wait(timeout: 60) == 0, "\(p.stderr)")
        let usage = try h.usage(try #require(h.taskIds().first))
        let hog = try usageContainer(usage, "hog")
        #expect(hog["memoryPeakBytes"] as? Int64 == peak || (hog["memoryPeakBytes"] as? Int).map(Int64.init) == peak,
                "usage's peak \(hog["memoryPeakBytes"] ?? "none") is the cgroup's \(peak)")
    }

    @Test func samplesSurviveKill9AndAgreeWithTheBill() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "killed", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "busy", "image": "IMAGE", "command": ["sh", "-c", "timeout 4 yes > /dev/null; sleep 1000"]}]}
            """#)
        let p = try h.background(["--network", "none", "-q", t])
        defer { p.stop() }
        let (id, _) = try #require(eventually { h.runningTask() != nil } ? h.runningTask() : nil, "\(p.stderr)")
        // The report says a running task is not in it yet, and does not call it abandoned.
        let running = try h.metering("report", [])
        #expect(running.stderr.contains("1 running task(s) not in this report") && !running.stderr.contains("never closed"), "\(running.stderr)")
        // The spinner's seconds sampled (2 s at 0.25 vCPU, what the bill is checked for below:
        // half what it may use, as the machine's other tests take their share of its 2 cores),
        // some later ones perhaps not yet written when the kill comes. Not a count of rows: idle
        // seconds after the spinner are held back as one row until the minute ends, and a
        // registration late under load covers the first second or two in one row.
        try #require(eventually(timeout: 30) {
            (Int((try? h.sqlite("SELECT coalesce(sum(cpu_ns), 0) FROM usage_samples WHERE container = 0")) ?? "") ?? 0) >= 500_000_000
        }, "sampled: \((try? h.sqlite("SELECT count(*), sum(cpu_ns) FROM usage_samples WHERE container = 0")) ?? "nothing")")
        usleep(600_000)
        p.signal(SIGKILL)
        _ = p.wait(timeout: 10)
        let before = Int(try h.sqlite("SELECT count(*) FROM usage_samples")) ?? 0
        #expect(before > 0, "the samples written before the kill are in the ledger")
        let abandoned = try h.metering("report", [])
        #expect(abandoned.stderr.contains("1 task(s) started billing and never closed") && abandoned.stderr.contains(id)
                && !abandoned.stderr.contains("running task"), "\(abandoned.stderr)")
        let gc = try h.fargateRun(["gc"])
        #expect(gc.status == 0, "\(gc.stderr)")
        let bill = try h.sqlite("SELECT cpu_usage_ns, billing_start_us, billing_end_us FROM billing_records").split(separator: "|").compactMap { Int64($0) }
        try #require(bill.count == 3, "gc billed the task")
        let sampled = try h.sqlite("SELECT sum(cpu_ns), min(t - span_ms / 1000), max(t), count(*), count(DISTINCT t) FROM usage_samples WHERE container = 0")
            .split(separator: "|").compactMap { Int64($0) }
        try #require(sampled.count == 5)
        // The samples' CPU is the cgroup's, which the bill read as it ended the task.
        let (sampledCpu, billedCpu) = (Double(sampled[0]), Double(bill[0]))
        #expect(abs(sampledCpu - billedCpu) <= 0.02 * billedCpu + 50_000_000, "samples \(sampledCpu) ns, bill \(billedCpu) ns")
        #expect(billedCpu > 2e9 * 0.25, "of the 4 s at 0.25 vCPU it may use, at least half")
        #expect(sampled[3] == sampled[4], "one task sample per second, none twice")
        #expect(sampled[1] >= bill[1] / 1_000_000 - 1 && sampled[2] <= bill[2] / 1_000_000 + 1, "samples lie within the billed time")
        let report = try h.metering("report", ["--format", "json"])
        let row = try #require((try json(report.stdout)["tasks"] as? [[String: Any]])?.first)
        #expect(row["cpuEfficiency"] as? Double != nil, "the report uses the samples")
        #expect(report.stderr.isEmpty, "billed by gc, nothing is open: \(report.stderr)")
        // A billing start whose task has no state (its bill never written): named, and not as
        // gc's to bill.
        let lost = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef0123456789abcdef"
        _ = try h.sqlite("INSERT INTO open_tasks (task_arn, family, billing_start_us, pid) VALUES ('\(lost)', 'gone', 1, 1)")
        let unbillable = try h.metering("report", [])
        #expect(unbillable.stderr.contains("1 task(s) started billing and have stopped, or have no state, without a bill") && unbillable.stderr.contains(lost)
                && !unbillable.stderr.contains("gc bills"), "\(unbillable.stderr)")
    }

    /// A host writes its samples five seconds at a time; stopped by SIGTERM, it writes the
    /// seconds it holds before it exits (its tasks run on).
    @Test func aHostStoppedBySIGTERMWritesTheSamplesItHolds() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "held", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "spin", "image": "IMAGE", "command": ["sh", "-c", "yes > /dev/null"], "stopTimeout": 2}]}
            """#)
        let host = try BackgroundProcess(fargateRunBinary, ["serve", "--root", h.root, "--listen", "none", "--network", "none"])
        defer { host.stop() }
        var id = ""
        try #require(eventually(timeout: 30) {
            guard let r = try? run(fargateRunBinary, ["run", "-d", "--root", h.root, t]), r.status == 0 else { return false }
            id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            return true
        }, "the host never took the task: \(host.stderr)")
        func lastSecond() -> Int? { Int((try? h.sqlite("SELECT max(t) FROM usage_samples WHERE container = 0")) ?? "") }
        // The registration's row, then the first five-second write: right after it, the next
        // two seconds are held when the host is told to stop.
        try #require(eventually(timeout: 30) { lastSecond() != nil }, "never registered: \(host.stderr)")
        let registered = try #require(lastSecond())
        try #require(eventually(timeout: 30) { (lastSecond() ?? 0) > registered }, "no write after the registration: \(host.stderr)")
        let written = try #require(lastSecond())
        usleep(3_500_000)
        host.signal(SIGTERM)
        #expect(host.wait(timeout: 30) == 0, "\(host.stderr)")
        #expect((lastSecond() ?? 0) >= written + 2, "the seconds after \(written) were written at the stop: \(lastSecond() ?? 0)")
        // The task ran on; a new host stops it.
        let again = try BackgroundProcess(fargateRunBinary, ["serve", "--root", h.root, "--listen", "none", "--network", "none"])
        defer { again.stop() }
        #expect(eventually(timeout: 30) { (try? run(fargateRunBinary, ["stop", "--root", h.root, id]))?.status == 0 }, "\(again.stderr)")
        _ = try run(fargateRunBinary, ["wait", "--root", h.root, id])
    }

    @Test func aHostSamplesEveryTaskItRunsAndUsageAgreesWithTheBills() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "hosted", "networkMode": "awsvpc", "cpu": "512", "memory": "1024", "containerDefinitions": [
              {"name": "web", "image": "IMAGE", "command": ["sh", "-c", "timeout 3 yes > /dev/null; sleep 2"]},
              {"name": "side", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 100 & wait"]}]}
            """#)
        let host = try BackgroundProcess(fargateRunBinary, ["serve", "--root", h.root, "--listen", "none", "--network", "none"])
        defer { host.stop() }
        var ids: [String] = []
        try #require(eventually(timeout: 30) {
            guard let r = try? run(fargateRunBinary, ["run", "-d", "--root", h.root, t]), r.status == 0 else { return false }
            ids.append(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            return true
        }, "the host never took a task: \(host.stderr)")
        let second = try run(fargateRunBinary, ["run", "-d", "--root", h.root, t])
        #expect(second.status == 0, "\(second.stderr)")
        ids.append(second.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        for id in ids {
            let w = try run(fargateRunBinary, ["wait", "--root", h.root, id])
            #expect(w.status == 0, "\(w.stderr)")
        }
        try #require(eventually(timeout: 30) { (try? h.sqlite("SELECT count(*) FROM billing_records")) == "2" }, "\(host.stderr)")
        // Both tasks, and each container of each, were sampled by the host.
        let sampled = try h.sqlite("SELECT task, container, count(*) FROM usage_samples GROUP BY task, container").split(separator: "\n")
        #expect(sampled.count == 2 * 3, "\(sampled)")
        for id in ids {
            let row = try h.sqlite("""
                SELECT b.cpu_usage_ns, (SELECT sum(cpu_ns) FROM usage_samples s WHERE s.task = u.id AND s.container = 0)
                FROM billing_records b JOIN usage_tasks u ON u.task_arn = b.task_arn WHERE b.task_arn LIKE '%\(id)'
                """).split(separator: "|").compactMap { Double($0) }
            try #require(row.count == 2, "\(id)")
            #expect(abs(row[0] - row[1]) <= 0.02 * row[0] + 50_000_000, "bill \(row[0]) ns, samples \(row[1]) ns")
            #expect(row[1] > 1.5e9 * 0.5, "of the 3 s at 0.5 vCPU a spinner may use, at least half")
        }
    }
}

