/// Small charts for terminal tables: a bar per row, a sparkline per series.
public enum TextChart {
    static let eighths: [Character] = ["▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"]
    static let levels: [Character] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]

    /// A horizontal bar of `value / max` of `width` cells, in eighths of a cell.
    public static func bar(_ value: Double, of max: Double, width: Int = 12) -> String {
        guard max > 0, value > 0 else { return "" }
        let eighthsTotal = Int((min(value, max) / max * Double(width * 8)).rounded())
        let full = eighthsTotal / 8, rest = eighthsTotal % 8
        return String(repeating: "█", count: full) + (rest > 0 ? String(eighths[rest - 1]) : (full == 0 ? "▏" : ""))
    }

    /// A sparkline of `values` scaled to `ceiling` (values above it show full), resampled to
    /// at most `width` cells by taking each cell's largest value, so a spike stays visible.
    public static func sparkline(_ values: [Double], ceiling: Double, width: Int = 24) -> String {
        guard !values.isEmpty, ceiling > 0 else { return "" }
        let cells = min(width, values.count)
        var out = ""
        for c in 0..<cells {
            let lo = c * values.count / cells, hi = max(lo + 1, (c + 1) * values.count / cells)
            let v = values[lo..<hi].max() ?? 0
            let level = Int((min(v, ceiling) / ceiling * 7).rounded())
            out.append(levels[max(0, min(7, level))])
        }
        return out
    }

    /// Rows aligned in columns; `numeric` columns right-aligned. Trailing blanks trimmed.
    public static func table(_ rows: [[String]], numeric: Set<Int>) -> String {
        var widths = [Int](repeating: 0, count: rows.map(\.count).max() ?? 0)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { row in
            var line = row.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return numeric.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n") + "\n"
    }

    /// A CSV field, quoted when it must be (a comma, a quote, a line break: "\r\n" too).
    public static func csvField(_ s: String) -> String {
        s.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D })
            ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    /// "12.3%" or "-" for unknown.
    public static func percent(_ v: Double?) -> String {
        guard let v else { return "-" }
        return v >= 0.995 || v == 0 ? "\(Int((v * 100).rounded()))%" : String(format: "%.1f%%", v * 100)
    }
}

import Foundation
