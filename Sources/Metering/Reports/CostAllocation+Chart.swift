import Foundation

extension CostAllocation {
    /// The query a cost chart needs: the same groups (less any time key) over hours, or days
    /// when the records span more than three days.
    public static func chartQuery(_ q: Query, spanning seconds: Int64) -> Query {
        var c = q
        let time: GroupKey = seconds > 3 * 86_400 ? .day : .hour
        c.groupBy = q.groupBy.filter { !$0.isTime && $0 != .task } + [time]
        c.timeBucket = nil
        return c
    }

    /// Cost over time, stacked by group: one series per group (all tasks in one when the
    /// report has no group key), a bar per hour or day from the first to the last.
    public func costChart() -> String {
        guard let timeKey = query.groupBy.last, timeKey.isTime else { return "" }
        let bucket: Int64 = timeKey == .day ? 86_400 : 3600
        let groupCount = query.groupBy.count - 1
        let indexes = rows.map { $0.startMicros / 1_000_000 / bucket }
        let lo = indexes.min() ?? 0, hi = indexes.max() ?? 0
        let labels = (lo...hi).map { GroupKey.utc($0 * bucket * 1_000_000, hour: timeKey == .hour) }
        var order: [String] = []
        var values: [String: [Double]] = [:]
        for (row, index) in zip(rows, indexes) {
            let name = groupCount == 0 ? "all tasks" : row.key.prefix(groupCount).joined(separator: " / ")
            if values[name] == nil {
                order.append(name)
                values[name] = Array(repeating: 0, count: labels.count)
            }
            values[name]![Int(index - lo)] += Double(row.cost.nanos) / 1e9
        }
        // Largest groups first, at the bottom of the stack and the top of the legend.
        order.sort { (values[$0]!.reduce(0, +), $1) > (values[$1]!.reduce(0, +), $0) }
        let groups = query.groupBy.prefix(groupCount).map(\.description).joined(separator: ", ")
        let title = "Cost per \(timeKey == .day ? "day" : "hour")" + (groups.isEmpty ? "" : " by \(groups)")
            + " (total \(total.cost))"
        return SVGChart.stackedBars(title: title, yTitle: "USD per \(timeKey == .day ? "day" : "hour")", xLabels: labels,
                                    series: order.map { SVGChart.Series(name: $0, values: values[$0]!) },
                                    format: { v in v == 0 ? "$0" : v >= 1 ? String(format: "$%.2f", v) : String(format: "$%.4g", v) })
    }
}
