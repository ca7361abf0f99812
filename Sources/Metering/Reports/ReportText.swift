import Foundation
import LinuxSupport

/// Report text built as bytes: numbers, dollar amounts and times written straight into one
/// buffer, the whole report turned into a String once. A per-task CSV of 100,000 lines spent
/// most of its time in `String(format:)` and in String concatenation (Docs/PERFORMANCE.md).
///
/// Doubles are formatted as C's printf formats them (`%.4f`, `%.6g`: the exact binary value
/// rounded half to even) by integer arithmetic on the value's significand, with `String(format:)`
/// left for values out of that range.
struct ReportText {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func append(_ s: String) {
        var s = s
        s.withUTF8 { bytes.append(contentsOf: $0) }
    }

    mutating func append(byte: UInt8) { bytes.append(byte) }

    /// A CSV field, quoted when it must be (`TextChart.csvField`, which hands a plain field
    /// back as it is).
    mutating func appendCSVField(_ s: String) { append(TextChart.csvField(s)) }

    /// Decimal digits of `v`.
    mutating func append(_ v: Int64) {
        if v < 0 { bytes.append(0x2D) }
        append(unsigned: v.magnitude, minDigits: 1)
    }

    mutating func append(_ v: Int) { append(Int64(v)) }

    /// At least `minDigits` digits, zeros in front.
    mutating func append(unsigned v: UInt64, minDigits: Int) {
        var tmp: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        withUnsafeMutableBytes(of: &tmp) { buf in
            var i = buf.count, x = v
            repeat {
                i -= 1
                buf[i] = UInt8(truncatingIfNeeded: x % 10) + 0x30
                x /= 10
            } while x > 0 || buf.count - i < minDigits
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: buf[i...]))
        }
    }

    /// "0.29622": dollars, trailing zeros past the cents dropped (`Money.decimalString`).
    mutating func append(dollars m: Money) {
        if m.nanos < 0 { bytes.append(0x2D) }
        let a = m.nanos.magnitude
        append(unsigned: a / 1_000_000_000, minDigits: 1)
        bytes.append(0x2E)
        var frac = a % 1_000_000_000, digits = 9
        while digits > 2 && frac % 10 == 0 {
            frac /= 10
            digits -= 1
        }
        append(unsigned: frac, minDigits: digits)
    }

    /// "2026-12-06T03:04:05Z" for a time in microseconds since the epoch (whole seconds, rounded
    /// down, as `GroupKey.iso`).
    mutating func append(isoMicros micros: Int64) {
        let secs = micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000
        let days = CivilDate.day(ofSeconds: secs)
        let (y, m, d) = CivilDate.from(days: days)
        let s = secs - days * 86_400
        append(unsigned: UInt64(max(0, y)), minDigits: 4)
        bytes.append(0x2D)
        append(unsigned: UInt64(m), minDigits: 2)
        bytes.append(0x2D)
        append(unsigned: UInt64(d), minDigits: 2)
        bytes.append(0x54)
        append(unsigned: UInt64(s / 3600), minDigits: 2)
        bytes.append(0x3A)
        append(unsigned: UInt64(s / 60 % 60), minDigits: 2)
        bytes.append(0x3A)
        append(unsigned: UInt64(s % 60), minDigits: 2)
        bytes.append(0x5A)
    }

    /// `String(format: "%.Nf", v)` for N = `decimals` (0 to 18): plain decimals, never an
    /// exponent, for tools that read the CSV as numbers.
    mutating func append(fixed v: Double, decimals: Int) {
        precondition((0...18).contains(decimals), "0 to 18 decimals")
        let scale = (0..<decimals).reduce(UInt128(1)) { p, _ in p * 10 }
        guard v.isFinite, let q = ReportText.scaledRound(v.magnitude, pow10: decimals), q / scale < UInt128(UInt64.max) else {
            append(String(format: "%.\(decimals)f", v))
            return
        }
        if v.sign == .minus { bytes.append(0x2D) }
        append(unsigned: UInt64(q / scale), minDigits: 1)
        guard decimals > 0 else { return }
        bytes.append(0x2E)
        append(unsigned: UInt64(q % scale), minDigits: decimals)
    }

    /// round(a × 10^k), half to even, exactly, for a finite non-negative double; nil when the
    /// arithmetic would not fit 128 bits (the caller falls back to printf).
    static func scaledRound(_ a: Double, pow10 k: Int) -> UInt128? {
        guard a.isFinite, a >= 0, k >= -30, k <= 30 else { return nil }
        if a == 0 { return 0 }
        guard a.isNormal else { return nil }
        let m = UInt128(a.significandBitPattern | (1 << 52))
        let e = Int(a.exponent) - 52
        var num = m, den: UInt128 = 1
        func times(_ x: inout UInt128, _ f: UInt128) -> Bool {
            let (r, o) = x.multipliedReportingOverflow(by: f)
            x = r
            return !o
        }
        for _ in 0..<abs(k) {
            let fits = k >= 0 ? times(&num, 10) : times(&den, 10)
            guard fits else { return nil }
        }
        if e >= 0 {
            guard e < 127, times(&num, UInt128(1) << e) else { return nil }
        } else {
            guard -e < 127, times(&den, UInt128(1) << -e) else { return nil }
        }
        guard den < (UInt128(1) << 126) else { return nil }
        let (q, r) = num.quotientAndRemainder(dividingBy: den)
        if 2 * r > den || (2 * r == den && q & 1 == 1) { return q + 1 }
        return q
    }
}
