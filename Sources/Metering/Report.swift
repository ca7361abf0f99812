import Foundation

/// Cost reports over ledger records: a table for people, CSV and JSON for tools, CUR 2.0 line
/// items for the queries people run on their Cost and Usage Report. One row per task, or per
/// group (`--group-by`), with efficiency, unused cost and what-if prices.
public struct CostReport: Sendable {
    public var allocation: CostAllocation
    public var prices: PriceTable

    public init(allocation: CostAllocation, prices: PriceTable) {
        self.allocation = allocation
        self.prices = prices
    }

    /// One row per task, without usage: the report of records alone.
    public init(records: [BillingRecord]) {
        allocation = try! CostAllocation(records: records, usage: [:], query: .init(), prices: .usEast1)
        prices = .usEast1
    }

    /// `records` allocated by `query`, with their usage read from `ledger` for the same time
    /// buckets and window.
    public static func allocate(_ records: [BillingRecord], ledger: Ledger, query: CostAllocation.Query,
                                prices: PriceTable) throws -> CostAllocation {
        let usage = try ledger.usageTotals(bucket: query.bucket ?? (1 << 40), since: query.since.map { Int64($0.timeIntervalSince1970) },
                                           until: query.until.map { Int64($0.timeIntervalSince1970) }, family: query.family,
                                           records: records)
        return try CostAllocation(records: records, usageByRecord: usage, query: query, prices: prices)
    }

    public var records: [BillingRecord] { allocation.rows.compactMap(\.record) }
    public var totalCost: Money { allocation.total.cost }
    public var totalSeconds: Int64 { allocation.total.billedMicros / 1_000_000 }

    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json, cur
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .table: return table()
        case .csv: return csv()
        case .json: return json()
        case .cur: return CURExport(allocationOf: allocation, prices: prices).csv()
        }
    }

    var perTask: Bool { allocation.query.groupBy.isEmpty }

    static func shortTaskId(_ arn: String) -> String {
        String((arn.split(separator: "/").last ?? Substring(arn)).prefix(12))
    }

    static func vcpu(_ units: Int64) -> String {
        let whole = units / 1024, rem = units % 1024
        if rem == 0 { return "\(whole)" }
        var frac = String(format: "%.4f", Double(rem) / 1024).dropFirst(2)
        while frac.hasSuffix("0") { frac.removeLast() }
        return "\(whole).\(frac)"
    }

    static func gb(_ mib: Int64) -> String { vcpu(mib) }

    static func iso(_ d: Date) -> String { GroupKey.iso(d) }

    /// Seconds as "59 s", "3.2 h".
    static func duration(_ s: Double) -> String {
        if s < 3600 { return "\(Int(s.rounded())) s" }
        if s < 86_400 * 3 { return String(format: "%.1f h", s / 3600) }
        return String(format: "%.1f d", s / 86_400)
    }

    func table() -> String {
        let a = allocation
        let whatIfTitles = a.query.priceAs.map(\.title)
        let maxCost = Double(a.rows.map(\.cost.nanos).max() ?? 0)
        var rows: [[String]]
        let numeric: Set<Int>
        if perTask {
            rows = [["TASK", "FAMILY", "VCPU", "MEMORY GB", "START", "BILLED S", "COST", "CPU", "MEM", "UNUSED"] + whatIfTitles + [""]]
            for row in a.rows {
                guard let r = row.record else { continue }
                rows.append([CostReport.shortTaskId(r.taskArn), "\(r.family):\(r.revision)", CostReport.vcpu(r.cpu), CostReport.gb(r.memory),
                             CostReport.iso(r.billingStart), "\(Int(row.billedSeconds.rounded()))", row.cost.description,
                             TextChart.percent(row.cpuEfficiency), TextChart.percent(row.memoryEfficiency),
                             row.cpuEfficiency == nil ? "-" : row.unusedCost.description] + row.whatIf.map(\.description)
                            + [TextChart.bar(Double(row.cost.nanos), of: maxCost)])
            }
            let t = a.total
            rows.append(["TOTAL", "\(t.taskCount) task\(t.taskCount == 1 ? "" : "s")", "", "", "", "\(Int(t.billedSeconds.rounded()))",
                         t.cost.description, TextChart.percent(t.cpuEfficiency), TextChart.percent(t.memoryEfficiency),
                         t.unusedCost.description] + t.whatIf.map(\.description) + [""])
            numeric = Set([2, 3, 5, 6, 7, 8, 9] + whatIfTitles.indices.map { 10 + $0 })
        } else {
            let keys = a.query.groupBy.map { $0.description.uppercased() }
            rows = [keys + ["TASKS", "BILLED", "COST", "CPU", "MEM", "EFF", "UNUSED"] + whatIfTitles + [""]]
            for row in a.rows + [a.total] {
                let isTotal = row.key == ["TOTAL"]
                let key = isTotal ? ["TOTAL"] + Array(repeating: "", count: keys.count - 1) : row.key
                rows.append(key + ["\(row.taskCount)", CostReport.duration(row.billedSeconds), row.cost.description,
                                   TextChart.percent(row.cpuEfficiency), TextChart.percent(row.memoryEfficiency),
                                   TextChart.percent(row.totalEfficiency), row.unusedCost.description]
                            + row.whatIf.map(\.description) + [isTotal ? "" : TextChart.bar(Double(row.cost.nanos), of: maxCost)])
            }
            numeric = Set((keys.count..<(keys.count + 7 + whatIfTitles.count)).map { $0 })
        }
        var out = TextChart.table(rows, numeric: numeric)
        if a.total.cpuEfficiency != nil {
            out += "CPU, MEM: used ÷ requested, cost-weighted (EFF: both); UNUSED: paid for and not used (sampled tasks only).\n"
        }
        return out
    }

    func csv() -> String {
        let a = allocation
        let whatIfKeys = a.query.priceAs.map { $0.key.snakeCased + "_usd" }
        let usageColumns = ["cpu_cost_usd", "memory_cost_usd", "storage_cost_usd", "cpu_efficiency", "memory_efficiency", "total_efficiency",
                            "unused_cost_usd", "cpu_core_usage_average", "cpu_core_request_average", "ram_bytes_usage_average",
                            "ram_bytes_request_average"]
        // Written as bytes (`ReportText`): 100,000 lines of Strings took seconds.
        var out = ReportText(capacity: perTask ? a.rows.count * 320 : 4096)
        func comma() { out.append(byte: 0x2C) }
        func eff(_ v: Double?) { comma(); if let v { out.append(fixed: v, decimals: 4) } }
        // OpenCost's averages: cores to a millionth, bytes whole.
        func cores(_ v: Double?) { comma(); if let v { out.append(fixed: v, decimals: 6) } }
        func bytes(_ v: Double?) { comma(); if let v { out.append(fixed: v, decimals: 0) } }
        func dollars(_ m: Money) { comma(); out.append(dollars: m) }
        func usageFields(_ row: CostAllocation.Row) {
            dollars(row.cpuCost)
            dollars(row.memoryCost)
            dollars(row.storageCost)
            eff(row.cpuEfficiency)
            eff(row.memoryEfficiency)
            eff(row.totalEfficiency)
            dollars(row.unusedCost)
            cores(row.cpuCoreUsageAverage)
            cores(row.cpuCoreRequestAverage)
            bytes(row.ramBytesUsageAverage)
            bytes(row.ramBytesRequestAverage)
        }
        if perTask {
            out.append((["task_arn", "family", "revision", "cpu", "memory_mib", "architecture", "region", "billing_start", "billing_end",
                         "billed_seconds", "cost_usd"] + usageColumns + ["cluster", "started_by", "group"] + whatIfKeys).joined(separator: ","))
            for row in a.rows {
                guard let r = row.record else { continue }
                out.append(byte: 0x0A)
                out.appendCSVField(r.taskArn)
                comma(); out.appendCSVField(r.family)
                comma(); out.append(r.revision)
                comma(); out.append(r.cpu)
                comma(); out.append(r.memory)
                comma(); out.appendCSVField(r.architecture)
                comma(); out.appendCSVField(r.region)
                comma(); out.append(isoMicros: r.billingStartMicros)
                comma(); out.append(isoMicros: r.billingEndMicros)
                comma(); out.append(Int64(row.billedSeconds.rounded()))
                dollars(row.cost)
                usageFields(row)
                comma(); out.appendCSVField(r.cluster ?? "")
                comma(); out.appendCSVField(r.startedBy ?? "")
                comma(); out.appendCSVField(r.group ?? "")
                for w in row.whatIf { dollars(w) }
            }
        } else {
            let keys = a.query.groupBy.map { $0.description.replacingOccurrences(of: "-", with: "_") }
            out.append((keys + ["tasks", "billed_seconds", "cost_usd"] + usageColumns + whatIfKeys).joined(separator: ","))
            for row in a.rows {
                out.append(byte: 0x0A)
                for (i, k) in row.key.enumerated() {
                    if i > 0 { comma() }
                    out.appendCSVField(k)
                }
                comma(); out.append(row.taskCount)
                comma(); out.append(String(format: "%.0f", row.billedSeconds))
                dollars(row.cost)
                usageFields(row)
                for w in row.whatIf { dollars(w) }
            }
        }
        out.append(byte: 0x0A)
        return out.string
    }

    func json() -> String {
        let a = allocation
        func rowObject(_ row: CostAllocation.Row) -> [String: Any] {
            var o: [String: Any] = [
                "billedSeconds": Int(row.billedSeconds.rounded()), "cost": row.cost.decimalString, "cpuCost": row.cpuCost.decimalString,
                "memoryCost": row.memoryCost.decimalString, "storageCost": row.storageCost.decimalString,
                "unusedCost": row.unusedCost.decimalString, "unusedCpuCost": row.unusedCpuCost.decimalString,
                "unusedMemoryCost": row.unusedMemoryCost.decimalString, "tasks": row.taskCount,
            ]
            if let v = row.cpuEfficiency { o["cpuEfficiency"] = v }
            if let v = row.memoryEfficiency { o["memoryEfficiency"] = v }
            if let v = row.totalEfficiency { o["totalEfficiency"] = v }
            if let v = row.cpuCoreUsageAverage { o["cpuCoreUsageAverage"] = v }
            if let v = row.cpuCoreRequestAverage { o["cpuCoreRequestAverage"] = v }
            if let v = row.ramBytesUsageAverage { o["ramBytesUsageAverage"] = v }
            if let v = row.ramBytesRequestAverage { o["ramBytesRequestAverage"] = v }
            for (i, w) in a.query.priceAs.enumerated() { o[w.key] = row.whatIf[i].decimalString }
            if let r = row.record {
                o["taskArn"] = r.taskArn
                o["family"] = r.family
                o["revision"] = r.revision
                o["cpu"] = r.cpu
                o["memory"] = r.memory
                o["architecture"] = r.architecture
                o["region"] = r.region
                o["billingStart"] = CostReport.iso(r.billingStart)
                o["billingEnd"] = CostReport.iso(r.billingEnd)
                if let v = r.cpuUsageNanos { o["cpuUsageSeconds"] = Double(v) / 1e9 }
                if let v = r.memoryPeakBytes { o["memoryPeakBytes"] = v }
                if let v = r.cluster { o["cluster"] = v }
                if let v = r.startedBy { o["startedBy"] = v }
                if let v = r.group { o["group"] = v }
                if !r.tags.isEmpty { o["tags"] = r.tags }
            } else if row.key != ["TOTAL"] {
                var key: [String: String] = [:]
                for (k, v) in zip(a.query.groupBy, row.key) { key[k.description] = v }
                o["key"] = key
            }
            return o
        }
        var out: [String: Any] = [
            "currency": "USD", "totalCost": a.total.cost.decimalString, "totalBilledSeconds": Int(a.total.billedSeconds.rounded()),
            "total": rowObject(a.total),
        ]
        if perTask {
            out["tasks"] = a.rows.map(rowObject)
        } else {
            out["groupBy"] = a.query.groupBy.map(\.description)
            out["rows"] = a.rows.map(rowObject)
        }
        if let s = a.query.since { out["since"] = CostReport.iso(s) }
        if let u = a.query.until { out["until"] = CostReport.iso(u) }
        if !a.query.priceAs.isEmpty { out["priceAs"] = a.query.priceAs.map(\.description) }
        let data = (try? JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

extension String {
    /// costAsArm64 → cost_as_arm64.
    var snakeCased: String {
        var out = ""
        for c in self {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
