import Foundation

/// Line items shaped like the AWS Cost and Usage Report 2.0 (Data Exports, table
/// COST_AND_USAGE_REPORT) with split cost allocation data, so the queries people run on their
/// CUR run on this: one line item per task, hour and usage type (vCPU, memory, and ephemeral
/// storage above 20 GB), the task's ARN as the resource id.
///
/// Fargate bills what a task reserves: `line_item_usage_amount` and
/// `split_line_item_reserved_usage` are the requested vCPU-hours or GB-hours in the hour,
/// `split_line_item_actual_usage` what the task's samples say it used (empty without samples),
/// `split_line_item_split_cost` the line's cost, and `split_line_item_unused_cost` the part of
/// it paid for reserved capacity that was not used. No discounts apply: the net columns equal
/// the unblended ones, and so do the public on-demand ones but on a Fargate Spot task's lines
/// (`SpotUsage` usage types, pricing term "Spot"), which carry the on-demand price of the same
/// hours.
public struct CURExport: Sendable {
    /// The columns written, in order: names of CUR 2.0's columns (Docs/METERING.md).
    public static let columns = [
        "identity_line_item_id", "identity_time_interval",
        "bill_bill_type", "bill_billing_entity", "bill_billing_period_end_date", "bill_billing_period_start_date", "bill_payer_account_id",
        "line_item_availability_zone", "line_item_blended_cost", "line_item_blended_rate", "line_item_currency_code",
        "line_item_line_item_description", "line_item_line_item_type", "line_item_net_unblended_cost", "line_item_operation",
        "line_item_product_code", "line_item_resource_id", "line_item_unblended_cost", "line_item_unblended_rate",
        "line_item_usage_account_id", "line_item_usage_amount", "line_item_usage_end_date", "line_item_usage_start_date",
        "line_item_usage_type",
        "pricing_public_on_demand_cost", "pricing_public_on_demand_rate", "pricing_term", "pricing_unit",
        "product_region_code", "product_servicecode",
        "resource_tags",
        "split_line_item_actual_usage", "split_line_item_net_split_cost", "split_line_item_net_unused_cost",
        "split_line_item_parent_resource_id", "split_line_item_public_on_demand_split_cost",
        "split_line_item_public_on_demand_unused_cost", "split_line_item_reserved_usage", "split_line_item_split_cost",
        "split_line_item_split_usage", "split_line_item_split_usage_ratio", "split_line_item_unused_cost",
    ]

    /// AWS's usage-type prefixes of the regions (us-east-1 is USE1, eu-west-1 plain EU).
    public static let regionPrefixes: [String: String] = [
        "us-east-1": "USE1", "us-east-2": "USE2", "us-west-1": "USW1", "us-west-2": "USW2", "ca-central-1": "CAN1",
        "eu-west-1": "EU", "eu-west-2": "EUW2", "eu-west-3": "EUW3", "eu-central-1": "EUC1", "eu-central-2": "EUC2",
        "eu-north-1": "EUN1", "eu-south-1": "EUS1", "eu-south-2": "EUS2", "ap-northeast-1": "APN1", "ap-northeast-2": "APN2",
        "ap-northeast-3": "APN3", "ap-southeast-1": "APS1", "ap-southeast-2": "APS2", "ap-southeast-3": "APS4",
        "ap-south-1": "APS3", "ap-east-1": "APE1", "sa-east-1": "SAE1", "me-south-1": "MES1", "me-central-1": "MEC1",
        "af-south-1": "AFS1",
    ]

    /// The usage type of a line: `USE1-Fargate-vCPU-Hours:perCPU`, `USE1-Fargate-ARM-GB-Hours`,
    /// `USE1-SpotUsage-Fargate-vCPU-Hours:perCPU` (Fargate Spot, x86 only)...
    public static func usageType(region: String, architecture: String, resource: Resource, spot: Bool = false) -> String {
        let prefix = regionPrefixes[region] ?? region.uppercased()
        let arm = architecture == "ARM64" && !spot ? "ARM-" : ""
        let fargate = spot ? "SpotUsage-Fargate" : "Fargate"
        switch resource {
        case .vcpu: return "\(prefix)-\(fargate)-\(arm)vCPU-Hours:perCPU"
        case .memory: return "\(prefix)-\(fargate)-\(arm)GB-Hours"
        case .storage: return "\(prefix)-Fargate-EphemeralStorage-GB-Hours"
        }
    }

    public enum Resource: CaseIterable, Sendable { case vcpu, memory, storage }

    let allocation: CostAllocation
    let prices: PriceTable

    /// Over an allocation keyed by task and hour (`CURExport.query`).
    public init(allocationOf allocation: CostAllocation, prices: PriceTable) {
        self.allocation = allocation
        self.prices = prices
    }

    /// The allocation query CUR line items come from: per task, per hour.
    public static func query(since: Date?, until: Date?, family: String?) -> CostAllocation.Query {
        CostAllocation.Query(groupBy: [.task, .hour], since: since, until: until, family: family)
    }

    public func csv() -> String {
        var lines = [CURExport.columns.joined(separator: ",")]
        for row in allocation.rows {
            guard let r = row.record else { continue }
            lines += lineItems(row, r).map { $0.map(TextChart.csvField).joined(separator: ",") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func lineItems(_ row: CostAllocation.Row, _ r: BillingRecord) -> [[String]] {
        let hourStart = row.startMicros / 3_600_000_000 * 3600
        let start = Date(timeIntervalSince1970: Double(hourStart)), end = start.addingTimeInterval(3600)
        let hours = Double(row.billedMicros) / 3.6e9
        let account = r.taskArn.split(separator: ":").dropFirst(4).first.map(String.init) ?? ""
        let period = CURExport.billingPeriod(start)
        let sampled = row.sampledMicros > 0
        var tags: [String: String] = [:]
        for (k, v) in r.tags { tags["user_" + k] = v }
        let tagJSON = String(decoding: (try? JSONSerialization.data(withJSONObject: tags, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
        // A Spot line's public on-demand columns carry what the same hours cost on demand, at the
        // price file's x86 rates (Spot runs x86 only); an on-demand line's equal its cost.
        let spot = r.pricePlatform == PriceTable.spotPlatform
        let onDemand = spot ? try? prices.rates(for: "linux/x86_64") : nil
        var out: [[String]] = []
        for resource in Resource.allCases {
            let amount: Double, rate: Money, cost: Money, unused: Money, actual: Double?, unit: String, what: String
            switch resource {
            case .vcpu:
                amount = hours * Double(r.cpu) / 1024
                rate = Money(nanos: r.vcpuHourNanos)
                (cost, unused) = (row.cpuCost, row.unusedCpuCost)
                actual = sampled ? row.usedVcpuSeconds / 3600 : nil
                (unit, what) = ("vCPU-Hours", "per vCPU per hour")
            case .memory:
                amount = hours * Double(r.memory) / 1024
                rate = Money(nanos: r.gbHourNanos)
                (cost, unused) = (row.memoryCost, row.unusedMemoryCost)
                actual = sampled ? row.usedByteSeconds / 1_073_741_824 / 3600 : nil
                (unit, what) = ("GB-Hours", "per GB per hour")
            case .storage:
                let extra = r.ephemeralStorageGiB - Billing.freeEphemeralStorageGiB
                guard extra > 0 else { continue }
                amount = hours * Double(extra)
                rate = prices.ephemeralStorageGBHour
                (cost, unused) = (row.storageCost, .zero)
                actual = nil
                (unit, what) = ("GB-Hours", "per GB per hour of ephemeral storage above 20 GB")
            }
            let usageType = CURExport.usageType(region: r.region, architecture: r.architecture, resource: resource, spot: spot)
            var publicRate = rate, publicCost = cost, publicUnused = unused
            if let onDemand, resource != .storage {
                let (units, nanos) = resource == .vcpu ? (r.cpu, onDemand.vcpuHour.nanos) : (r.memory, onDemand.gbHour.nanos)
                publicRate = Money(nanos: nanos)
                publicCost = CURExport.cost(micros: row.billedMicros, units: units, rateNanos: nanos)
                publicUnused = cost.nanos > 0 ? CostSplit.scale(publicCost, by: Int128(unused.nanos), of: Int128(cost.nanos)) : .zero
            }
            let amountText = String(format: "%.10f", amount)
            out.append([
                CURExport.lineItemId(r.taskArn, hourStart, usageType), CURExport.interval(start, end),
                "Anniversary", "AWS", CURExport.iso(period.end), CURExport.iso(period.start), account,
                "\(r.region)-local", cost.decimalString, rate.decimalString, "USD",
                "USD \(rate.decimalString) \(what) for \(spot ? "Fargate Spot" : "Fargate") (\(r.architecture)) in \(r.region), fargate-run", "Usage",
                cost.decimalString, "FargateTask", "AmazonECS", r.taskArn, cost.decimalString, rate.decimalString,
                account, amountText, CURExport.iso(end), CURExport.iso(start), usageType,
                publicCost.decimalString, publicRate.decimalString, spot ? "Spot" : "OnDemand", unit,
                r.region, "AmazonECS",
                tagJSON,
                actual.map { String(format: "%.10f", $0) } ?? "", cost.decimalString, unused.decimalString,
                "", publicCost.decimalString,
                publicUnused.decimalString, amountText, cost.decimalString,
                amountText, "1", unused.decimalString,
            ])
        }
        return out
    }

    /// `micros` of `units` (cpu units or MiB; 1024 to the vCPU or GB) at `rateNanos` an hour,
    /// rounded once to the nano-dollar.
    static func cost(micros: Int64, units: Int64, rateNanos: Int64) -> Money {
        let whole = Int128(1024) * 3_600_000_000
        return Money(nanos: Int64((Int128(micros) * Int128(units) * Int128(rateNanos) * 2 + whole) / (whole * 2)))
    }

    static func iso(_ d: Date) -> String { GroupKey.iso(d) }

    /// "2026-12-06T03:00:00Z/2026-12-06T04:00:00Z"
    static func interval(_ a: Date, _ b: Date) -> String { iso(a) + "/" + iso(b) }

    /// The calendar month (UTC) holding `d`.
    static func billingPeriod(_ d: Date) -> (start: Date, end: Date) {
        var cal = Calendar(identifier: .gregorian)
        cal.timeZone = TimeZone(identifier: "UTC")!
        let start = cal.date(from: cal.dateComponents([.year, .month], from: d))!
        return (start, cal.date(byAdding: .month, value: 1, to: start)!)
    }

    /// Stable per task, hour and usage type (FNV-1a, 64 bits, hex).
    static func lineItemId(_ arn: String, _ hour: Int64, _ usageType: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in "\(arn)|\(hour)|\(usageType)".utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}
