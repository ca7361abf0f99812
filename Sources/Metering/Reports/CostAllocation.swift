import Foundation

/// Costs of billed tasks grouped by any keys, with how much of what was paid for was used.
///
/// Each task's cost is taken apart exactly (`CostSplit`): into CPU, memory and storage, and
/// over the days or hours its billed time spans (a day or hour key, or a chart), clipped to
/// the report's window. Usage comes from the task's samples in the same stretch of time.
/// Efficiency is OpenCost's: used ÷ requested for CPU and for memory, and a total weighted by
/// their costs; the unused cost is what was paid for CPU and memory that sat idle.
public struct CostAllocation: Sendable {
    public struct Query: Sendable {
        public var groupBy: [GroupKey]
        public var since: Date?
        public var until: Date?
        public var family: String?
        public var priceAs: [WhatIfPrice]
        /// Split costs over time buckets of this many seconds (a chart's); day and hour keys
        /// set it themselves.
        public var timeBucket: Int64?

        public init(groupBy: [GroupKey] = [], since: Date? = nil, until: Date? = nil, family: String? = nil,
                    priceAs: [WhatIfPrice] = [], timeBucket: Int64? = nil) {
            self.groupBy = groupBy
            self.since = since
            self.until = until
            self.family = family
            self.priceAs = priceAs
            self.timeBucket = timeBucket
        }

        /// The bucket costs are split over: the finest of the time keys and the chart's.
        var bucket: Int64? {
            var b = timeBucket
            if groupBy.contains(.day) { b = min(b ?? 86_400, 86_400) }
            if groupBy.contains(.hour) { b = min(b ?? 3600, 3600) }
            return b
        }

        /// Refuses a window that ends before it starts, and a key given twice.
        public func validate() throws {
            if let since, let until, since >= until {
                throw ReportError.badInput("--since \(GroupKey.iso(since)) is not before --until \(GroupKey.iso(until))")
            }
            for (i, key) in groupBy.enumerated() where groupBy[..<i].contains(key) {
                throw ReportError.badInput("--group-by names \(key) twice")
            }
        }
    }

    /// One row: a group's cost, its parts, and what of it was used.
    public struct Row: Sendable {
        public var key: [String]
        /// Tasks with billed time in the row.
        public internal(set) var taskCount = 0
        /// The last record counted (records come one after another, their stretches together).
        var lastRecord = -1
        /// Billed time in the row, microseconds (task-microseconds: two tasks an hour each is two hours).
        public var billedMicros: Int64 = 0
        public var cost = Money.zero
        public var cpuCost = Money.zero
        public var memoryCost = Money.zero
        public var storageCost = Money.zero
        /// CPU and memory paid for and not used (sampled tasks only).
        public var unusedCpuCost = Money.zero
        public var unusedMemoryCost = Money.zero
        /// The same usage at the query's `priceAs` prices, in its order.
        public var whatIf: [Money] = []
        /// Cost of the parts with samples, and their cost-weighted efficiencies' sums.
        var sampledCpuCost: Int64 = 0
        var sampledMemoryCost: Int64 = 0
        var cpuEfficiencyWeighted = 0.0
        var memoryEfficiencyWeighted = 0.0
        /// vCPU-seconds and byte-seconds requested and used (sampled parts), for the averages.
        public var requestedVcpuSeconds = 0.0
        public var usedVcpuSeconds = 0.0
        public var requestedByteSeconds = 0.0
        public var usedByteSeconds = 0.0
        var sampledMicros: Int64 = 0
        /// The task's record, when `task` is among the keys.
        public var record: BillingRecord?
        /// Where the row's earliest stretch of billed time starts (an hour's line item).
        public var startMicros = Int64.max

        init(key: [String], whatIfs: Int) {
            self.key = key
            whatIf = Array(repeating: .zero, count: whatIfs)
        }

        public var unusedCost: Money { unusedCpuCost + unusedMemoryCost }
        public var billedSeconds: Double { Double(billedMicros) / 1e6 }

        /// Used ÷ requested CPU, cost-weighted over the row's sampled tasks; nil without samples.
        public var cpuEfficiency: Double? { sampledCpuCost > 0 ? cpuEfficiencyWeighted / Double(sampledCpuCost) : nil }
        public var memoryEfficiency: Double? { sampledMemoryCost > 0 ? memoryEfficiencyWeighted / Double(sampledMemoryCost) : nil }
        /// OpenCost's total efficiency: CPU's and memory's, weighted by their costs.
        public var totalEfficiency: Double? {
            let c = sampledCpuCost + sampledMemoryCost
            return c > 0 ? (cpuEfficiencyWeighted + memoryEfficiencyWeighted) / Double(c) : nil
        }

        /// OpenCost's averages over the row's sampled time (cores, bytes).
        public var cpuCoreUsageAverage: Double? { sampledMicros > 0 ? usedVcpuSeconds / (Double(sampledMicros) / 1e6) : nil }
        public var cpuCoreRequestAverage: Double? { sampledMicros > 0 ? requestedVcpuSeconds / (Double(sampledMicros) / 1e6) : nil }
        public var ramBytesUsageAverage: Double? { sampledMicros > 0 ? usedByteSeconds / (Double(sampledMicros) / 1e6) : nil }
        public var ramBytesRequestAverage: Double? { sampledMicros > 0 ? requestedByteSeconds / (Double(sampledMicros) / 1e6) : nil }

        /// Adds another stretch of time to the row (the TOTAL counts its tasks itself).
        mutating func add(_ o: Row) {
            if o.lastRecord != lastRecord {
                taskCount += o.taskCount
                lastRecord = o.lastRecord
            }
            billedMicros += o.billedMicros
            cost = cost + o.cost
            cpuCost = cpuCost + o.cpuCost
            memoryCost = memoryCost + o.memoryCost
            storageCost = storageCost + o.storageCost
            unusedCpuCost = unusedCpuCost + o.unusedCpuCost
            unusedMemoryCost = unusedMemoryCost + o.unusedMemoryCost
            for i in whatIf.indices { whatIf[i] = whatIf[i] + o.whatIf[i] }
            sampledCpuCost += o.sampledCpuCost
            sampledMemoryCost += o.sampledMemoryCost
            cpuEfficiencyWeighted += o.cpuEfficiencyWeighted
            memoryEfficiencyWeighted += o.memoryEfficiencyWeighted
            requestedVcpuSeconds += o.requestedVcpuSeconds
            usedVcpuSeconds += o.usedVcpuSeconds
            requestedByteSeconds += o.requestedByteSeconds
            usedByteSeconds += o.usedByteSeconds
            sampledMicros += o.sampledMicros
            startMicros = min(startMicros, o.startMicros)
        }
    }

    public var query: Query
    public var rows: [Row]
    /// The sum of the rows, column by column.
    public var total: Row
    /// Tasks whose billing started and never closed, for a note.
    public var openTasks: [String] = []

    /// Allocates `records` (already filtered to the window's tasks) with `usage` per time
    /// bucket (the query's, or one bucket when it has none), keyed by task ARN.
    public init(records: [BillingRecord], usage: [String: [Int64: UsageTotals]], query: Query, prices: PriceTable) throws {
        try self.init(records: records, usageByRecord: records.map { usage[$0.taskArn] }, query: query, prices: prices)
    }

    /// The same with each record's usage in the records' order.
    init(records: [BillingRecord], usageByRecord: [[Int64: UsageTotals]?], query: Query, prices: PriceTable) throws {
        try query.validate()
        self.query = query
        let keys = query.groupBy.isEmpty ? [GroupKey.task] : query.groupBy
        let bucketMicros = query.bucket.map { $0 * 1_000_000 }
        let windowStart = query.since.map(Billing.micros), windowEnd = query.until.map(Billing.micros)
        // Rows in order of first appearance, found by key. A record's stretches share their
        // key but for a time key's part, so the key is made once per record and only its time
        // parts per stretch (their text once per bucket).
        var rows: [Row] = []
        var rowOf: [[String]: Int] = [:]
        let timeParts = keys.indices.filter { keys[$0].isTime }
        var timeLabels: [Int64: [String]] = [:]
        // A bucket's labels are its own where it lies within one day (hour) of a day (hour) key.
        let labelsPerBucket = query.bucket.map { b in keys.allSatisfy { !$0.isTime || ($0 == .day ? 86_400 : 3600) % b == 0 } } ?? false
        var billedTasks = 0
        // One row per task: found by the position of the first record of its ARN (ARNs are
        // unique in a ledger), not by a key of 80-byte Strings.
        let perTask = keys == [.task]
        let arnIndex = perTask ? TaskArnIndex(records.map(\.taskArn)) : nil
        var rowOfRecord = [Int](repeating: -1, count: perTask ? records.count : 0)
        for (index, r) in records.enumerated() {
            let whole = Int64(r.billedSeconds) * 1_000_000
            let start = r.billingStartMicros, end = start + whole
            let a0 = max(start, windowStart ?? start), b0 = min(end, windowEnd ?? end)
            guard a0 < b0 || (whole == 0 && a0 == b0) else { continue }
            let parts = CostSplit.parts(of: r)
            let whatIfTotals = try query.priceAs.map { try $0.cost(of: r, prices: prices) }
            let taskUsage = usageByRecord[index]
            billedTasks += 1
            var key = keys.map { $0.isTime ? "" : $0.value(r, at: a0) }
            var lastRow = -1
            // The stretches of the task's billed time: one per bucket it spans, within the window.
            var a = a0
            while a < b0 {
                var b = b0
                var bucketIndex: Int64 = 0
                if let bm = bucketMicros {
                    bucketIndex = a >= 0 ? a / bm : (a - bm + 1) / bm
                    b = min(b0, (bucketIndex + 1) * bm)
                }
                if !timeParts.isEmpty {
                    let labels = (labelsPerBucket ? timeLabels[bucketIndex] : nil) ?? {
                        let l = timeParts.map { keys[$0].value(r, at: a) }
                        if labelsPerBucket { timeLabels[bucketIndex] = l }
                        return l
                    }()
                    for (i, p) in timeParts.enumerated() { key[p] = labels[i] }
                }
                let from = a - start, to = b - start
                var row = Row(key: key, whatIfs: query.priceAs.count)
                row.taskCount = 1
                row.lastRecord = index
                row.billedMicros = b - a
                row.cpuCost = CostSplit.share(parts.cpu, from: from, to: to, of: whole)
                row.memoryCost = CostSplit.share(parts.memory, from: from, to: to, of: whole)
                row.storageCost = CostSplit.share(parts.storage, from: from, to: to, of: whole)
                row.cost = row.cpuCost + row.memoryCost + row.storageCost
                for (i, t) in whatIfTotals.enumerated() { row.whatIf[i] = CostSplit.share(t, from: from, to: to, of: whole) }
                if let taskUsage {
                    let used = taskUsage[bucketMicros == nil ? 0 : bucketIndex] ?? UsageTotals()
                    CostAllocation.addEfficiency(&row, record: r, used: used)
                }
                row.record = keys.contains(.task) ? r : nil
                row.startMicros = a
                // Without a time key every stretch of the record goes to the row of its first.
                if lastRow >= 0 && timeParts.isEmpty {
                    rows[lastRow].add(row)
                } else if let arnIndex {
                    var arn = r.taskArn
                    let first = arn.withUTF8 { arnIndex.position(of: $0) } ?? index
                    if rowOfRecord[first] >= 0 {
                        lastRow = rowOfRecord[first]
                        rows[lastRow].add(row)
                    } else {
                        lastRow = rows.count
                        rowOfRecord[first] = rows.count
                        rows.append(row)
                    }
                } else if let i = rowOf[key] {
                    lastRow = i
                    rows[i].add(row)
                } else {
                    lastRow = rows.count
                    rowOf[key] = rows.count
                    rows.append(row)
                }
                a = b
            }
        }
        if keys != [.task] {
            let timeFirst = keys.first?.isTime == true
            rows.sort { x, y in
                if timeFirst { return x.key.lexicographicallyPrecedes(y.key) }
                return x.cost != y.cost ? x.cost > y.cost : x.key.lexicographicallyPrecedes(y.key)
            }
        }
        self.rows = rows
        var total = Row(key: ["TOTAL"], whatIfs: query.priceAs.count)
        for row in rows { total.add(row) }
        total.taskCount = billedTasks
        self.total = total
    }

    /// Used ÷ requested in one stretch of a task, and the cost of what was not used.
    static func addEfficiency(_ row: inout Row, record r: BillingRecord, used: UsageTotals) {
        let seconds = Double(row.billedMicros) / 1e6
        let requestedCpuNanos = Int128(row.billedMicros) * 1000 * Int128(r.cpu) / 1024
        let requestedByteMicros = Int128(row.billedMicros) * Int128(r.memory) * 1_048_576
        let usedByteMicros = CostAllocation.int128(used.memoryByteSeconds * 1e6)
        let cpuEff = requestedCpuNanos > 0 ? min(1, Double(used.cpuNanos) / CostAllocation.double(requestedCpuNanos)) : 0
        let memEff = requestedByteMicros > 0 ? min(1, CostAllocation.double(usedByteMicros) / CostAllocation.double(requestedByteMicros)) : 0
        row.unusedCpuCost = row.cpuCost - CostSplit.scale(row.cpuCost, by: Int128(used.cpuNanos), of: requestedCpuNanos)
        row.unusedMemoryCost = row.memoryCost - CostSplit.scale(row.memoryCost, by: usedByteMicros, of: requestedByteMicros)
        row.sampledCpuCost = row.cpuCost.nanos
        row.sampledMemoryCost = row.memoryCost.nanos
        row.cpuEfficiencyWeighted = cpuEff * Double(row.cpuCost.nanos)
        row.memoryEfficiencyWeighted = memEff * Double(row.memoryCost.nanos)
        row.requestedVcpuSeconds = seconds * Double(r.cpu) / 1024
        row.usedVcpuSeconds = Double(used.cpuNanos) / 1e9
        row.requestedByteSeconds = seconds * Double(r.memory) * 1_048_576
        row.usedByteSeconds = used.memoryByteSeconds
        row.sampledMicros = row.billedMicros
    }

    /// `Double(v)`, correctly rounded as that is, without its generic path (a tenth of a
    /// report's time): 64 bits at most go to the conversion, the rest as a sticky bit.
    @inline(__always)
    static func double(_ v: Int128) -> Double {
        if let small = Int64(exactly: v) { return Double(small) }
        let m = v.magnitude
        let shift = max(0, 64 - m.leadingZeroBitCount)
        let sticky: UInt64 = m & ((UInt128(1) << shift) - 1) != 0 ? 1 : 0
        let d = Double(UInt64(truncatingIfNeeded: m >> shift) | sticky) * Double(sign: .plus, exponent: shift, significand: 1)
        return v < 0 ? -d : d
    }

    /// `Int128(d)` (truncating) for a finite double, without its generic path where it fits 64 bits.
    @inline(__always)
    static func int128(_ d: Double) -> Int128 {
        if d > -9.0e18 && d < 9.0e18 { return Int128(Int64(d)) }
        return Int128(d)
    }
}
