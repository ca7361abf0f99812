import Foundation

/// Cost reports over ledger records: a table for people, CSV and JSON for tools.
public struct CostReport: Sendable {
    public var records: [BillingRecord]

    public init(records: [BillingRecord]) { self.records = records }

    public var totalCost: Money { records.reduce(.zero) { $0 + $1.cost } }
    public var totalSeconds: Int64 { records.reduce(0) { $0 + $1.billedSeconds } }

    public enum Format: String, CaseIterable, Sendable {
        case table, csv, json
    }

    public func render(_ format: Format) -> String {
        switch format {
        case .table: return table()
        case .csv: return csv()
        case .json: return json()
        }
    }

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

    static func iso(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }

    func table() -> String {
        var rows: [[String]] = [["TASK", "FAMILY", "VCPU", "MEMORY GB", "START", "BILLED S", "COST"]]
        for r in records {
            rows.append([CostReport.shortTaskId(r.taskArn), "\(r.family):\(r.revision)", CostReport.vcpu(r.cpu),
                         CostReport.gb(r.memory), CostReport.iso(r.billingStart), "\(r.billedSeconds)", r.cost.description])
        }
        rows.append(["TOTAL", "\(records.count) task\(records.count == 1 ? "" : "s")", "", "", "", "\(totalSeconds)", totalCost.description])
        var widths = [Int](repeating: 0, count: rows[0].count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        let numeric: Set<Int> = [2, 3, 5, 6]
        return rows.map { row in
            row.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return numeric.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ").replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression)
        }.joined(separator: "\n") + "\n"
    }

    func csv() -> String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var lines = ["task_arn,family,revision,cpu,memory_mib,architecture,region,billing_start,billing_end,billed_seconds,cost_usd"]
        for r in records {
            lines.append([r.taskArn, r.family, "\(r.revision)", "\(r.cpu)", "\(r.memory)", r.architecture, r.region,
                          CostReport.iso(r.billingStart), CostReport.iso(r.billingEnd), "\(r.billedSeconds)", r.cost.decimalString]
                .map(field).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    func json() -> String {
        struct Row: Encodable {
            var taskArn, family: String
            var revision: Int
            var cpu, memory: Int64
            var architecture, region, billingStart, billingEnd: String
            var billedSeconds: Int64
            var cost: String
            var cpuUsageSeconds: Double?
            var memoryPeakBytes: Int64?
        }
        struct Out: Encodable {
            var tasks: [Row]
            var totalBilledSeconds: Int64
            var totalCost: String
            var currency = "USD"
        }
        let out = Out(tasks: records.map {
            Row(taskArn: $0.taskArn, family: $0.family, revision: $0.revision, cpu: $0.cpu, memory: $0.memory,
                architecture: $0.architecture, region: $0.region, billingStart: CostReport.iso($0.billingStart),
                billingEnd: CostReport.iso($0.billingEnd), billedSeconds: $0.billedSeconds, cost: $0.cost.decimalString,
                cpuUsageSeconds: $0.cpuUsageNanos.map { Double($0) / 1e9 }, memoryPeakBytes: $0.memoryPeakBytes)
        }, totalBilledSeconds: totalSeconds, totalCost: totalCost.decimalString)
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? enc.encode(out)) ?? Data(), as: UTF8.self) + "\n"
    }
}
