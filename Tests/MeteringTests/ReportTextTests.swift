import Foundation
@testable import Metering
import Testing

/// The report's own number and time formatting says, byte for byte, what printf and the
/// formatters it replaced say.
struct ReportTextTests {
    func text(_ body: (inout ReportText) -> Void) -> String {
        var t = ReportText()
        body(&t)
        return t.string
    }

    /// Values printf rounds at a tie, at powers of ten, near the switch to exponents, large
    /// and small, and many drawn at random (a fixed seed: the same values every run).
    static func doubles() -> [Double] {
        var values: [Double] = [0, -0.0, 1, 0.5, 1.5, 2.5, 0.03125, 0.00005, 0.00015, 0.99995, 0.999995, 1e-5, 9.999995e-5, 0.0001,
                                0.000123456, 123456, 999999.5, 999999.4, 1e6, 1234567, 5.36870912e8, 1e15, 1e29, 3e-29, 0.1, 0.2, 0.3,
                                1.0 / 3, 2.0 / 3, 0.25, 0.125, 100, 99.99995, 0.5 / 1024, 256.0 / 1024, 0.0009765625]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        for _ in 0..<20_000 {
            let mantissa = Double(next() >> 11) / Double(1 << 53)
            let exponent = Int(next() % 40) - 20
            values.append(mantissa * pow(10, Double(exponent)))
            // Exact ties at 4 and 6 digits: k / 10^d + half a unit, where representable.
            values.append((Double(next() % 20_000) + 0.5) / 10_000)
            values.append(Double(next() % 2_000_000) / 1_000_000 * 1000)
        }
        return values + values.map { -$0 }
    }

    @Test func fixedIsPrintfs() {
        for v in ReportTextTests.doubles() {
            for decimals in [0, 4, 6] {
                #expect(text { $0.append(fixed: v, decimals: decimals) } == String(format: "%.\(decimals)f", v), "%.\(decimals)f of \(v)")
            }
        }
    }

    @Test func integersDollarsAndTimes() {
        for v: Int64 in [0, 7, -7, 10, 99, 100, 1_234_567_890, Int64.max, Int64.min + 1] {
            #expect(text { $0.append(v) } == String(v))
        }
        for n: Int64 in [0, 1, 10, 1_000_000_000, 296_220_000, 1_000_000_001, 40_480_000, -296_220_000, 123_456_789_012] {
            #expect(text { $0.append(dollars: Money(nanos: n)) } == Money(nanos: n).decimalString)
        }
        var t = time_t(0), tm = tm()
        for secs: Int64 in [0, 59, 86_399, 86_400, 951_782_400, 951_868_800, 1_733_443_200, 1_764_979_199, 4_102_444_800, 253_402_300_799] {
            t = time_t(secs)
            gmtime_r(&t, &tm)
            let expected = String(format: "%04d-%02d-%02dT%02d:%02d:%02dZ", Int(tm.tm_year) + 1900, Int(tm.tm_mon) + 1, Int(tm.tm_mday),
                                  Int(tm.tm_hour), Int(tm.tm_min), Int(tm.tm_sec))
            #expect(text { $0.append(isoMicros: secs * 1_000_000 + 999_999) } == expected)
            #expect(GroupKey.utc(secs * 1_000_000, hour: false) == String(expected.prefix(10)))
            #expect(GroupKey.utc(secs * 1_000_000, hour: true) == String(expected.prefix(13)) + ":00Z")
        }
    }

    /// RFC 4180: a field with a comma, a quote or a line break is quoted, its quotes doubled.
    @Test func csvFieldsAreQuotedWhereTheyMustBe() {
        let cases = ["plain": "plain", "a,b": "\"a,b\"", "say \"hi\"": "\"say \"\"hi\"\"\"", "two\nlines": "\"two\nlines\"",
                     "cr\r\nlf": "\"cr\r\nlf\"", "": "", "ünïcödé,": "\"ünïcödé,\"", "ünïcödé": "ünïcödé"]
        for (field, written) in cases {
            #expect(text { $0.appendCSVField(field) } == written, "\(field.debugDescription)")
        }
    }
}

/// The allocation's own conversions between Int128 and Double agree with the standard ones.
struct ConversionTests {
    @Test func int128ToDoubleIsCorrectlyRounded() {
        var state: UInt64 = 12345
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state
        }
        var values: [Int128] = [0, 1, -1, Int128(Int64.max), Int128(Int64.max) + 1, Int128(UInt64.max), Int128(UInt64.max) + 1,
                                (Int128(1) << 100) + 1, (Int128(1) << 53) + 1, ((Int128(1) << 53) + 1) << 20, (((Int128(1) << 53) + 1) << 20) + 1,
                                Int128.max, Int128.min + 1]
        for _ in 0..<50_000 {
            let bits = Int(next() % 120)
            let v = (Int128(next()) << 64 | Int128(next())) >> (127 - bits)
            values += [v, -v]
        }
        for v in values {
            #expect(CostAllocation.double(v) == Double(v), "\(v)")
        }
        for d in [0.0, 1.5, -2.7, 8.9e18, -8.9e18, 9.1e18, 3.2e20, -4.4e25, 123_456_789.987] {
            #expect(CostAllocation.int128(d) == Int128(d), "\(d)")
        }
    }
}
