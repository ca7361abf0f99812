import Foundation

/// Charts as standalone SVG (no library: none of the Swift packages at hand draws charts;
/// Docs/DEPENDENCIES.md). Each series is one `<g class="series" data-series="NAME">`, so tools
/// and tests can find them; axes carry units, and a legend names every series.
public enum SVGChart {
    /// One named series, a value per x position.
    public struct Series: Sendable {
        public var name: String
        public var values: [Double]

        public init(name: String, values: [Double]) {
            self.name = name
            self.values = values
        }
    }

    /// One panel of a line chart: series over time, and the request they are set against.
    public struct Panel: Sendable {
        public var title: String
        public var unit: String
        /// Seconds since the first sample, one per value.
        public var x: [Double]
        public var series: [Series]
        /// A horizontal line (what was requested), with its label.
        public var limit: Double?
        public var limitLabel: String

        public init(title: String, unit: String, x: [Double], series: [Series], limit: Double?, limitLabel: String) {
            self.title = title
            self.unit = unit
            self.x = x
            self.series = series
            self.limit = limit
            self.limitLabel = limitLabel
        }
    }

    static let palette = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"]
    static let width = 960.0
    static let left = 90.0, right = 220.0

    /// Bars of values per x label, stacked by series (cost over time by group).
    public static func stackedBars(title: String, yTitle: String, xLabels: [String], series: [Series],
                                   format: (Double) -> String) -> String {
        let height = 480.0, top = 50.0, bottom = 70.0
        let plotW = width - left - right, plotH = height - top - bottom
        var totals = [Double](repeating: 0, count: xLabels.count)
        for s in series { for (i, v) in s.values.enumerated() where i < totals.count { totals[i] += v } }
        let (ticks, maxY) = niceTicks(totals.max() ?? 0)
        var svg = header(height: height, title: title)
        svg += axes(top: top, plotW: plotW, plotH: plotH, ticks: ticks, maxY: maxY, format: format, yTitle: yTitle)
        let slot = plotW / Double(max(1, xLabels.count)), barW = max(1, slot * 0.8)
        var base = [Double](repeating: 0, count: xLabels.count)
        for (k, s) in series.enumerated() {
            svg += "<g class=\"series\" data-series=\"\(escape(s.name))\" fill=\"\(palette[k % palette.count])\">\n"
            for (i, v) in s.values.enumerated() where i < xLabels.count && v > 0 {
                let h = v / maxY * plotH, y = top + plotH - (base[i] + v) / maxY * plotH
                svg += "<rect x=\"\(n(left + Double(i) * slot + (slot - barW) / 2))\" y=\"\(n(y))\" width=\"\(n(barW))\" height=\"\(n(h))\">"
                    + "<title>\(escape(s.name)) \(escape(xLabels[i])): \(escape(format(v)))</title></rect>\n"
                base[i] += v
            }
            svg += "</g>\n"
        }
        // At most ~12 x labels, evenly spaced.
        let every = max(1, Int((Double(xLabels.count) / 12).rounded(.up)))
        for (i, label) in xLabels.enumerated() where i % every == 0 {
            let x = left + (Double(i) + 0.5) * slot
            let y = top + plotH + 16
            svg += "<text x=\"\(n(x))\" y=\"\(n(y))\" font-size=\"11\" text-anchor=\"end\" transform=\"rotate(-35 \(n(x)) \(n(y)))\">\(escape(label))</text>\n"
        }
        svg += legend(series.map(\.name), top: top)
        return svg + "</svg>\n"
    }

    /// Stacked panels of lines over time (usage against the request).
    public static func lines(title: String, panels: [Panel], timeLabel: (Double) -> String) -> String {
        let panelH = 260.0, top = 50.0, gap = 70.0
        let plotW = width - left - right, plotH = panelH - 40
        let height = top + Double(panels.count) * (panelH + gap)
        var svg = header(height: height, title: title)
        var names: [String] = []
        for p in panels { for s in p.series where !names.contains(s.name) { names.append(s.name) } }
        for (k, p) in panels.enumerated() {
            let y0 = top + Double(k) * (panelH + gap) + 20
            let peak = max(p.series.flatMap(\.values).max() ?? 0, p.limit ?? 0)
            let (ticks, maxY) = niceTicks(peak)
            let maxX = max(1, p.x.last ?? 1)
            svg += "<g class=\"panel\" data-panel=\"\(escape(p.title))\">\n"
            svg += "<text x=\"\(left)\" y=\"\(y0 - 8)\" font-size=\"14\" font-weight=\"bold\">\(escape(p.title))</text>\n"
            svg += axes(top: y0, plotW: plotW, plotH: plotH, ticks: ticks, maxY: maxY, format: { formatNumber($0) + " " + p.unit },
                        yTitle: p.unit)
            for t in niceTicks(maxX).ticks {
                let x = left + t / maxX * plotW
                svg += "<text x=\"\(n(x))\" y=\"\(n(y0 + plotH + 16))\" font-size=\"11\" text-anchor=\"middle\">\(escape(timeLabel(t)))</text>\n"
            }
            if let limit = p.limit, maxY > 0 {
                let y = y0 + plotH - limit / maxY * plotH
                svg += "<line class=\"limit\" x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotW))\" y2=\"\(n(y))\" stroke=\"#333\" stroke-dasharray=\"6 4\"/>\n"
                svg += "<text x=\"\(n(left + plotW))\" y=\"\(n(y - 4))\" font-size=\"11\" text-anchor=\"end\">\(escape(p.limitLabel))</text>\n"
            }
            for s in p.series {
                let color = palette[(names.firstIndex(of: s.name) ?? 0) % palette.count]
                var d = ""
                for (i, v) in s.values.enumerated() where i < p.x.count {
                    let x = left + p.x[i] / maxX * plotW, y = y0 + plotH - (maxY > 0 ? v / maxY * plotH : 0)
                    d += (d.isEmpty ? "M" : " L") + n(x) + "," + n(y)
                }
                svg += "<g class=\"series\" data-series=\"\(escape(s.name))\"><path d=\"\(d)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"1.5\"/></g>\n"
            }
            svg += "</g>\n"
        }
        svg += legend(names, top: top)
        return svg + "</svg>\n"
    }

    static func header(height: Double, title: String) -> String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Int(width / 2))" y="26" font-size="16" font-weight="bold" text-anchor="middle">\(escape(title))</text>

        """
    }

    static func axes(top: Double, plotW: Double, plotH: Double, ticks: [Double], maxY: Double, format: (Double) -> String,
                     yTitle: String) -> String {
        var s = "<g class=\"axes\" font-size=\"11\">\n"
        for t in ticks {
            let y = top + plotH - (maxY > 0 ? t / maxY * plotH : 0)
            s += "<line x1=\"\(n(left))\" y1=\"\(n(y))\" x2=\"\(n(left + plotW))\" y2=\"\(n(y))\" stroke=\"#e0e0e0\"/>\n"
            s += "<text x=\"\(n(left - 6))\" y=\"\(n(y + 4))\" text-anchor=\"end\">\(escape(format(t)))</text>\n"
        }
        s += "<line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(top + plotH))\" stroke=\"#333\"/>\n"
        s += "<line x1=\"\(n(left))\" y1=\"\(n(top + plotH))\" x2=\"\(n(left + plotW))\" y2=\"\(n(top + plotH))\" stroke=\"#333\"/>\n"
        let mid = n(top + plotH / 2)
        s += "<text x=\"14\" y=\"\(mid)\" transform=\"rotate(-90 14 \(mid))\" text-anchor=\"middle\">\(escape(yTitle))</text>\n"
        return s + "</g>\n"
    }

    static func legend(_ names: [String], top: Double) -> String {
        var s = "<g class=\"legend\" font-size=\"12\">\n"
        for (i, name) in names.enumerated() {
            let y = top + Double(i) * 18
            s += "<rect x=\"\(n(width - right + 20))\" y=\"\(n(y))\" width=\"12\" height=\"12\" fill=\"\(palette[i % palette.count])\"/>"
            s += "<text x=\"\(n(width - right + 38))\" y=\"\(n(y + 10))\">\(escape(String(name.prefix(26))))</text>\n"
        }
        return s + "</g>\n"
    }

    /// Round ticks from 0 to at least `max` (1, 2 or 5 × 10ⁿ apart).
    static func niceTicks(_ max: Double) -> (ticks: [Double], top: Double) {
        guard max > 0, max.isFinite else { return ([0, 1], 1) }
        let raw = max / 5
        let mag = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * mag }.first { $0 >= raw } ?? 10 * mag
        let top = (max / step).rounded(.up) * step
        return (stride(from: 0, through: top + step / 2, by: step).map { $0 }, top)
    }

    /// A coordinate with one decimal.
    static func n(_ v: Double) -> String { String(format: "%.1f", v) }

    static func formatNumber(_ v: Double) -> String {
        if v == 0 { return "0" }
        if abs(v) >= 100 { return String(format: "%.0f", v) }
        if abs(v) >= 1 { return String(format: "%.3g", v) }
        return String(format: "%.2g", v)
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}
