import Foundation
@testable import Metering
import Testing

/// A bill as the ledger keeps it, at the built-in prices.
func billed(_ n: Int, family: String = "app", start: Int64, seconds: Int64, cpu: Int = 256, memory: Int = 512, storage: Int = 20,
            architecture: String = "X86_64", group: String? = nil, tags: [String: String] = [:]) -> BillingRecord {
    let task = BillableTask(family: family, revision: 1 + n % 3, cpu: cpu, memory: memory, ephemeralStorageGiB: storage, architecture: architecture,
                            attribution: TaskAttribution(cluster: n % 2 == 0 ? "blue" : "green", startedBy: "ci", group: group, tags: tags))
    let startDate = Date(timeIntervalSince1970: Double(start) / 1e6)
    return try! task.record(taskArn: "arn:aws:ecs:us-east-1:0:task/c/\(String(format: "%016x", n))", start: startDate,
                            end: startDate.addingTimeInterval(Double(seconds)), prices: .usEast1, stopCode: nil)
}

struct CostAllocationTests {
    /// Tasks of random sizes and lengths over three days, starting at odd microseconds.
    func fleet(_ count: Int = 300) -> [BillingRecord] {
        var rng = SystemRandomNumberGenerator()
        let sizes = [(256, 512), (512, 2048), (1024, 3072), (4096, 12288), (16384, 122_880)]
        return (0..<count).map { n in
            let (cpu, mem) = sizes[Int.random(in: 0..<sizes.count, using: &rng)]
            return billed(n, family: ["api", "worker", "batch"][n % 3], start: 1_764_979_200_000_000 + Int64.random(in: 0..<259_200_000_000, using: &rng),
                          seconds: Int64.random(in: 1...200_000, using: &rng), cpu: cpu, memory: mem, storage: [20, 21, 200][n % 3],
                          architecture: n % 4 == 0 ? "ARM64" : "X86_64", group: n % 5 == 0 ? "service:web" : nil,
                          tags: n % 2 == 0 ? ["team": "a"] : [:])
        }
    }

    @Test func groupTotalsAreTheSumOfTaskCostsToTheNanoDollar() throws {
        let records = fleet()
        let sum = records.reduce(Money.zero) { $0 + $1.cost }
        for keys in [[GroupKey.family], [.revision, .cluster], [.service], [.tag("team")], [.day], [.hour], [.family, .hour], [.startedBy, .group, .day]] {
            let a = try CostAllocation(records: records, usage: [:], query: .init(groupBy: keys, priceAs: [.arm64, .spot, .savingsPlan(Percent("17.5")!)]),
                                       prices: .usEast1)
            #expect(a.total.cost == sum, "\(keys)")
            #expect(a.rows.reduce(Money.zero) { $0 + $1.cost } == sum)
            for row in a.rows { #expect(row.cpuCost + row.memoryCost + row.storageCost == row.cost) }
            // What-if columns add up too, to the per-task what-if costs.
            for (i, w) in a.query.priceAs.enumerated() {
                let whole = try records.reduce(Money.zero) { $0 + (try w.cost(of: $1, prices: .usEast1)) }
                #expect(a.rows.reduce(Money.zero) { $0 + $1.whatIf[i] } == whole, "\(w) by \(keys)")
            }
        }
    }

    @Test func aWindowTakesTheCostOfTheSecondsInsideItExactly() throws {
        let records = fleet(120)
        let since = Date(timeIntervalSince1970: 1_765_000_000.123456), until = Date(timeIntervalSince1970: 1_765_100_000.5)
        let inWindow = records.filter { $0.billingStart.addingTimeInterval(Double($0.billedSeconds)) > since && $0.billingStart < until }
        let whole = try CostAllocation(records: inWindow, usage: [:], query: .init(since: since, until: until), prices: .usEast1)
        let byHour = try CostAllocation(records: inWindow, usage: [:], query: .init(groupBy: [.hour], since: since, until: until), prices: .usEast1)
        #expect(whole.total.cost == byHour.total.cost, "hours of a window add up to the window")
        #expect(whole.total.cost < inWindow.reduce(Money.zero) { $0 + $1.cost }, "tasks reaching outside the window count only inside it")
        for row in whole.rows {
            let r = row.record!
            let from = max(Billing.micros(since), r.billingStartMicros) - r.billingStartMicros
            let to = min(Billing.micros(until), r.billingStartMicros + r.billedSeconds * 1_000_000) - r.billingStartMicros
            let parts = CostSplit.parts(of: r)
            let expected = [parts.cpu, parts.memory, parts.storage].reduce(Money.zero) {
                $0 + CostSplit.share($1, from: from, to: to, of: r.billedSeconds * 1_000_000)
            }
            #expect(row.cost == expected)
        }
    }

    @Test func efficiencyIsUsedOverRequestedWeightedByCost() throws {
        // One hour of 1 vCPU, 2 GB: half a vCPU and 512 MiB used on average.
        let r = billed(1, start: 1_765_000_800_000_000, seconds: 3600, cpu: 1024, memory: 2048)
        var used = UsageTotals()
        used.cpuNanos = 1800 * 1_000_000_000
        used.memoryByteSeconds = 3600 * 512 * 1_048_576
        used.millis = 3_600_000
        let a = try CostAllocation(records: [r], usage: [r.taskArn: [0: used]], query: .init(), prices: .usEast1)
        let row = a.rows[0]
        #expect(row.cpuCost == Money(dollars: "0.04048"))
        #expect(row.memoryCost == Money(dollars: "0.00889"))
        #expect(abs(row.cpuEfficiency! - 0.5) < 1e-9)
        #expect(abs(row.memoryEfficiency! - 0.25) < 1e-9)
        // OpenCost: (0.5 × cpu cost + 0.25 × memory cost) / (cpu + memory cost).
        #expect(abs(row.totalEfficiency! - (0.5 * 0.04048 + 0.25 * 0.00889) / 0.04937) < 1e-9)
        // The CSV's averages are plain decimals (cores to a millionth, bytes whole), no exponents.
        let csv = CostReport(allocation: a, prices: .usEast1).render(.csv).split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false) }
        let columns = Dictionary(uniqueKeysWithValues: zip(csv[0].map(String.init), csv[1].map(String.init)))
        #expect(columns["cpu_core_usage_average"] == "0.500000" && columns["cpu_core_request_average"] == "1.000000", "\(columns)")
        #expect(columns["ram_bytes_usage_average"] == "536870912" && columns["ram_bytes_request_average"] == "2147483648", "\(columns)")
        #expect(row.unusedCpuCost == Money(dollars: "0.02024"))
        #expect(row.unusedMemoryCost == Money(nanos: 6_667_500))
        #expect(abs(row.cpuCoreUsageAverage! - 0.5) < 1e-9)
        #expect(abs(row.ramBytesRequestAverage! - 2048 * 1_048_576) < 1)
        // A task without samples has no efficiency and no unused cost: unknown, not idle.
        let unsampled = try CostAllocation(records: [r], usage: [:], query: .init(), prices: .usEast1)
        #expect(unsampled.rows[0].cpuEfficiency == nil)
        #expect(unsampled.rows[0].unusedCost == .zero)
    }

    @Test func costPartsAddUpForEveryStorageSize() {
        for (n, storage) in [20, 21, 50, 200].enumerated() {
            for seconds in [60, 61, 3599, 86_401] as [Int64] {
                let r = billed(n, start: 0, seconds: seconds, cpu: 512, memory: 3072, storage: storage)
                let p = CostSplit.parts(of: r)
                #expect(p.cpu + p.memory + p.storage == r.cost)
                #expect(storage == 20 ? p.storage == .zero : p.storage > .zero)
            }
        }
    }

    @Test func whatIfPrices() throws {
        let r = billed(1, start: 0, seconds: 3600, cpu: 1024, memory: 2048)
        #expect(try WhatIfPrice.arm64.cost(of: r, prices: .usEast1) == Money(dollars: "0.03950"))
        // 70 % off the x86 on-demand price, from the price table.
        #expect(try WhatIfPrice.spot.cost(of: r, prices: .usEast1) == Money(dollars: "0.014811"))
        #expect(try WhatIfPrice.parse("savings-plan=20").cost(of: r, prices: .usEast1) == Money(dollars: "0.039496"))
        var withSpotRates = PriceTable.usEast1
        withSpotRates.platforms["linux/x86_64/spot"] = .init(vcpuHour: Money(dollars: "0.01")!, gbHour: Money(dollars: "0.001")!)
        #expect(try WhatIfPrice.spot.cost(of: r, prices: withSpotRates) == Money(dollars: "0.012"))
        #expect(throws: ReportError.self) { try WhatIfPrice.parse("savings-plan=120") }
        #expect(throws: ReportError.self) { try WhatIfPrice.parse("reserved") }
    }
}
