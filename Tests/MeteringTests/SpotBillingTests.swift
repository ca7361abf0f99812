import Foundation
@testable import Metering
import Testing

/// Tasks on Fargate Spot (capacity provider FARGATE_SPOT) are billed at Spot's rates from the
/// price file, and reported as Spot usage.
struct SpotBillingTests {
    let start = Date(timeIntervalSince1970: 1_765_000_800)

    func task(_ provider: String?, architecture: String = "X86_64", storage: Int = 20) -> BillableTask {
        BillableTask(family: "app", revision: 1, cpu: 1024, memory: 2048, ephemeralStorageGiB: storage, architecture: architecture,
                     attribution: TaskAttribution(cluster: "default", startedBy: "ecs-svc/1", group: "service:web"),
                     capacityProvider: provider)
    }

    func bill(_ t: BillableTask, hours: Double = 1, prices: PriceTable = .usEast1) throws -> BillingRecord {
        try t.record(taskArn: "arn:aws:ecs:us-east-1:0:task/default/\(t.capacityProvider ?? "od")", start: start,
                     end: start.addingTimeInterval(hours * 3600), prices: prices, stopCode: nil)
    }

    @Test func aSpotTaskIsBilledAtTheDiscountedRates() throws {
        let r = try bill(task("FARGATE_SPOT"))
        // 70 % off each us-east-1 rate: $0.012144 per vCPU-hour, $0.0013335 per GB-hour.
        #expect(r.pricePlatform == "linux/x86_64/spot")
        #expect(r.vcpuHourNanos == 12_144_000 && r.gbHourNanos == 1_333_500)
        #expect(r.cost == Money(dollars: "0.014811"), "1 vCPU + 2 GB for an hour: 0.012144 + 2 × 0.0013335")
        #expect(try bill(task(nil)).cost == Money(dollars: "0.04937"), "the same task on demand")
        #expect(try bill(task("FARGATE")).pricePlatform == "linux/x86_64")
        // Its parts split from the rates it was billed at; priced "as spot" it costs what it cost.
        let p = CostSplit.parts(of: r)
        #expect(p.cpu + p.memory + p.storage == r.cost && p.storage == .zero)
        #expect(try WhatIfPrice.spot.cost(of: r, prices: .usEast1) == r.cost)
        // Seconds are billed as on demand: rounded up, one minute at least.
        #expect(try bill(task("FARGATE_SPOT"), hours: 10 / 3600).billedSeconds == 60)
    }

    @Test func thePriceFilesSpotRowWinsOverTheDiscount() throws {
        var prices = PriceTable.usEast1
        prices.platforms["linux/x86_64/spot"] = .init(vcpuHour: Money(dollars: "0.01")!, gbHour: Money(dollars: "0.001")!)
        let r = try bill(task("FARGATE_SPOT"), prices: prices)
        #expect(r.vcpuHourNanos == 10_000_000 && r.gbHourNanos == 1_000_000 && r.cost == Money(dollars: "0.012"))
        // Storage above 20 GB stays at its one price.
        let big = try bill(task("FARGATE_SPOT", storage: 30), prices: prices)
        #expect(big.cost - r.cost == Money(dollars: "0.00111"))
    }

    @Test func anARM64TaskOnSpotIsPricedAsX86Spot() throws {
        // Fargate Spot runs x86 only; priced as `--price-as spot` prices an ARM64 task.
        let r = try bill(task("FARGATE_SPOT", architecture: "ARM64"))
        #expect(r.pricePlatform == "linux/x86_64/spot" && r.cost == Money(dollars: "0.014811"))
    }

    @Test func aPriceFileWithoutSpotPricesIsNamed() throws {
        var prices = PriceTable.usEast1
        prices.spotDiscountPercent = nil
        do {
            _ = try bill(task("FARGATE_SPOT"), prices: prices)
            Issue.record("a Spot task was billed without Spot prices")
        } catch {
            #expect("\(error)".contains("linux/x86_64/spot") && "\(error)".contains("spotDiscountPercent"), "\(error)")
        }
    }

    @Test func theStateOfATaskStartedBeforeSpotBillingIsOnDemand() throws {
        // A state file written before BillableTask had capacityProvider: gc bills it on demand.
        let old = #"{"family": "app", "revision": 1, "cpu": 256, "memory": 512, "ephemeralStorageGiB": 20, "architecture": "X86_64"}"#
        let t = try JSONDecoder().decode(BillableTask.self, from: Data(old.utf8))
        #expect(t.capacityProvider == nil && !t.isSpot && t.pricePlatform == "linux/x86_64")
        let round = try JSONDecoder().decode(BillableTask.self, from: JSONEncoder().encode(task("FARGATE_SPOT")))
        #expect(round.isSpot, "the provider survives the state file, so gc bills a Spot task as Spot")
    }

    @Test func spotLineItemsInTheCURAreSpotUsage() throws {
        let spot = try bill(task("FARGATE_SPOT"), hours: 1.5)
        let allocation = try CostAllocation(records: [spot], usage: [:], query: CURExport.query(since: nil, until: nil, family: nil),
                                            prices: .usEast1)
        let lines = CURExport(allocationOf: allocation, prices: .usEast1).csv().split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        let items = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, csvFields($0))) }
        #expect(Set(items.map { $0["line_item_usage_type"]! }) == ["USE1-SpotUsage-Fargate-vCPU-Hours:perCPU", "USE1-SpotUsage-Fargate-GB-Hours"])
        #expect(items.allSatisfy { $0["pricing_term"] == "Spot" })
        #expect(items.reduce(Money.zero) { $0 + Money(dollars: $1["line_item_unblended_cost"]!)! } == spot.cost)
        // The public on-demand columns say what the same hours cost on demand.
        let onDemand = try bill(task(nil), hours: 1.5)
        #expect(items.reduce(Money.zero) { $0 + Money(dollars: $1["pricing_public_on_demand_cost"]!)! } == onDemand.cost)
        #expect(items.first { $0["line_item_usage_type"]!.contains("vCPU") }?["pricing_public_on_demand_rate"] == "0.04048")
    }
}
