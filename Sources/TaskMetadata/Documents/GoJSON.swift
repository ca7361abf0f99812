import Foundation
import LinuxSupport

/// A JSON value written the way Go's `encoding/json` writes it, which is what the ECS agent
/// sends: struct fields in declaration order (an ordered object), map keys sorted by bytes,
/// compact, `<`, `>` and `&` escaped, floats in Go's shortest form, 64-bit integers exact.
/// What a Go struct leaves out with `omitempty` is left out where the value is built.
public indirect enum GoJSON: Sendable, Equatable {
    case string(String)
    case int(Int64)
    case uint(UInt64)
    case double(Double)
    case bool(Bool)
    case null
    case array([GoJSON])
    /// A struct: members in the order given.
    case object([(String, GoJSON)])

    /// A Go map: members sorted by key, as Go writes them.
    public static func map(_ members: [String: GoJSON]) -> GoJSON {
        .object(members.sorted { Array($0.key.utf8).lexicographicallyPrecedes(Array($1.key.utf8)) })
    }

    public static func map(_ members: [String: String]) -> GoJSON { map(members.mapValues { .string($0) }) }

    public static func == (a: GoJSON, b: GoJSON) -> Bool { a.text == b.text }

    /// The encoded bytes, without a trailing newline (`json.Marshal`).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(into: &out)
        return out
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }

    func write(into out: inout [UInt8]) {
        switch self {
        case .string(let s): GoJSON.writeString(s, into: &out)
        case .int(let v): out += Array(String(v).utf8)
        case .uint(let v): out += Array(String(v).utf8)
        case .double(let v): out += Array(GoJSON.format(v).utf8)
        case .bool(let v): out += Array((v ? "true" : "false").utf8)
        case .null: out += Array("null".utf8)
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                item.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, (key, value)) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                GoJSON.writeString(key, into: &out)
                out.append(UInt8(ascii: ":"))
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Go's string escaping with HTML escaping on (its default): `<`, `>`, `&`, U+2028 and
    /// U+2029 as \u escapes, control characters as \n, \r, \t or \u00XX.
    static func writeString(_ s: String, into out: inout [UInt8]) {
        let hex = Array("0123456789abcdef".utf8)
        out.append(UInt8(ascii: "\""))
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x0a: out += [0x5c, UInt8(ascii: "n")]
            case 0x0d: out += [0x5c, UInt8(ascii: "r")]
            case 0x09: out += [0x5c, UInt8(ascii: "t")]
            case 0..<0x20, 0x3c, 0x3e, 0x26:
                out += Array("\\u00".utf8) + [hex[Int(scalar.value >> 4)], hex[Int(scalar.value & 0xf)]]
            case 0x2028, 0x2029:
                out += Array("\\u202".utf8) + [hex[Int(scalar.value & 0xf)]]
            default:
                out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    /// A float64 as Go's encoder writes it: the shortest digits that read back the same, in
    /// plain decimal notation unless it is below 1e-6 or at least 1e21 ("1e-7", "1e+21");
    /// whole values without a fraction ("1", not "1.0").
    static func format(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        if value == 0 { return "0" }
        let negative = value < 0
        let magnitude = Swift.abs(value)
        // Swift's description has the same shortest round-trip digits; only the layout differs.
        let described = "\(magnitude)"
        let parts = described.split(separator: "e")
        let mantissa = parts[0]
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let point = mantissa.firstIndex(of: ".").map { mantissa.distance(from: mantissa.startIndex, to: $0) } ?? mantissa.count
        var digits = String(mantissa.filter { $0 != "." })
        // Position of the decimal point relative to the digits' start.
        var decimalAt = point + exponent
        while digits.count > 1, digits.first == "0" {
            digits.removeFirst()
            decimalAt -= 1
        }
        while digits.count > 1, digits.last == "0" { digits.removeLast() }
        var out: String
        if magnitude < 1e-6 || magnitude >= 1e21 {
            let e = decimalAt - 1
            out = String(digits.first!) + (digits.count > 1 ? "." + digits.dropFirst() : "")
            out += "e" + (e < 0 ? "-" : "+") + (Swift.abs(e) < 10 && e >= 0 ? "0" : "") + String(Swift.abs(e))
        } else if decimalAt <= 0 {
            out = "0." + String(repeating: "0", count: -decimalAt) + digits
        } else if decimalAt >= digits.count {
            out = digits + String(repeating: "0", count: decimalAt - digits.count)
        } else {
            let i = digits.index(digits.startIndex, offsetBy: decimalAt)
            out = String(digits[..<i]) + "." + String(digits[i...])
        }
        return (negative ? "-" : "") + out
    }
}

/// Building a Go struct's members: `omitempty` fields are added only when not empty.
struct GoObject {
    private(set) var members: [(String, GoJSON)] = []

    mutating func add(_ key: String, _ value: GoJSON) { members.append((key, value)) }
    mutating func add(_ key: String, _ value: String) { members.append((key, .string(value))) }

    /// `omitempty`: "" is left out.
    mutating func omitEmpty(_ key: String, _ value: String?) {
        if let value, !value.isEmpty { members.append((key, .string(value))) }
    }

    /// `omitempty` on a pointer: nil is left out, anything else written (0 included).
    mutating func omitNil(_ key: String, _ value: GoJSON?) {
        if let value { members.append((key, value)) }
    }

    /// `omitempty` on a number: 0 is left out.
    mutating func omitZero(_ key: String, _ value: UInt64?) {
        if let value, value != 0 { members.append((key, .uint(value))) }
    }

    /// `omitempty` on a slice or map: empty is left out.
    mutating func omitEmpty(_ key: String, _ values: [GoJSON]) {
        if !values.isEmpty { members.append((key, .array(values))) }
    }

    mutating func omitEmpty(_ key: String, map: [String: String]) {
        if !map.isEmpty { members.append((key, .map(map))) }
    }

    var json: GoJSON { .object(members) }
}

/// Times as Go's `time.Time` marshals them (RFC 3339 with nanoseconds, trailing zeros of the
/// fraction dropped, "Z" for UTC).
public struct GoTime: Sendable, Equatable, Comparable {
    public var seconds: Int64
    public var nanoseconds: Int32

    public init(seconds: Int64, nanoseconds: Int32) {
        self.seconds = seconds
        self.nanoseconds = nanoseconds
    }

    /// From a Date, to the microsecond (a Date's double carries no more, and nanoseconds
    /// made from it would show rounding noise).
    public init(_ date: Date) {
        let micros = (date.timeIntervalSince1970 * 1e6).rounded()
        var s = Int64((micros / 1e6).rounded(.down))
        var us = Int64(micros) - s * 1_000_000
        if us < 0 { s -= 1; us += 1_000_000 }
        self.init(seconds: s, nanoseconds: Int32(us * 1000))
    }

    /// The wall clock now, to the nanosecond.
    public static func now() -> GoTime {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return GoTime(seconds: Int64(ts.tv_sec), nanoseconds: Int32(ts.tv_nsec))
    }

    /// Go's zero time, which it writes as "0001-01-01T00:00:00Z".
    public static let zero = GoTime(seconds: -62_135_596_800, nanoseconds: 0)

    public var nanosecondsSinceEpoch: Int64 { seconds * 1_000_000_000 + Int64(nanoseconds) }

    public static func < (a: GoTime, b: GoTime) -> Bool { a.nanosecondsSinceEpoch < b.nanosecondsSinceEpoch }

    /// RFC 3339 with the fraction Go's RFC3339Nano gives (none for a whole second).
    public var rfc3339Nano: String { text(fraction: true) }

    /// RFC 3339 to the second.
    public var rfc3339: String { text(fraction: false) }

    func text(fraction: Bool) -> String {
        let days = CivilDate.day(ofSeconds: seconds)
        let secondOfDay = seconds - days * 86400
        let (year, month, day) = CivilDate.from(days: days)
        func pad(_ v: Int64, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        var out = "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2))"
        if fraction, nanoseconds != 0 {
            var f = pad(Int64(nanoseconds), 9)
            while f.last == "0" { f.removeLast() }
            out += "." + f
        }
        return out + "Z"
    }
}
