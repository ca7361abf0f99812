/// An amount of US dollars in integer nano-dollars (1e-9 USD). Money is never a floating-point
/// number here: sums are exact and a report total equals the sum of its rows.
public struct Money: Hashable, Sendable, Comparable, Codable, CustomStringConvertible, AdditiveArithmetic {
    public var nanos: Int64

    public init(nanos: Int64) { self.nanos = nanos }

    public static let zero = Money(nanos: 0)
    public static func + (a: Money, b: Money) -> Money { Money(nanos: a.nanos + b.nanos) }
    public static func - (a: Money, b: Money) -> Money { Money(nanos: a.nanos - b.nanos) }
    public static func < (a: Money, b: Money) -> Bool { a.nanos < b.nanos }

    /// Parses a decimal dollar amount such as "0.04048" exactly (at most 9 decimals).
    public init?(dollars text: String) {
        let t = text.hasPrefix("$") ? String(text.dropFirst()) : text
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int64(parts[0].isEmpty ? "0" : String(parts[0])), whole >= 0 else { return nil }
        var frac: Int64 = 0
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 9, f.allSatisfy(\.isASCII), let v = Int64(f) else { return nil }
            frac = v
            for _ in 0..<(9 - f.count) { frac *= 10 }
        }
        nanos = whole * 1_000_000_000 + frac
    }

    /// "$0.29622": dollars, with trailing zeros past the cents dropped.
    public var description: String { nanos < 0 ? "-$" + Money(nanos: -nanos).decimalString : "$" + decimalString }

    /// "0.29622", as CSV and JSON carry it (a string, so no reader turns it into a float).
    public var decimalString: String {
        let sign = nanos < 0 ? "-" : ""
        let a = nanos.magnitude
        var frac = String(a % 1_000_000_000)
        frac = String(repeating: "0", count: 9 - frac.count) + frac
        while frac.count > 2 && frac.hasSuffix("0") { frac.removeLast() }
        return "\(sign)\(a / 1_000_000_000).\(frac)"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int64.self) { nanos = n; return }
        let s = try c.decode(String.self)
        guard let m = Money(dollars: s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a dollar amount: \(s)")
        }
        self = m
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(decimalString)
    }
}
