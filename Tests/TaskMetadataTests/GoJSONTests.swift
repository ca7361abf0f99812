import Foundation
@testable import TaskMetadata
import Testing

/// The agent's bodies are Go's encoding/json output; these hold our writer to it.
struct GoJSONTests {
    @Test(arguments: [
        (0.25, "0.25"), (1.0, "1"), (16.0, "16"), (0.14120749999999999, "0.14120749999999999"), (0.1 + 0.2, "0.30000000000000004"),
        (123.456, "123.456"), (100.0, "100"), (1e20, "100000000000000000000"), (1e21, "1e+21"), (1.5e21, "1.5e+21"),
        (1e-7, "1e-7"), (1.25e-7, "1.25e-7"), (0.000001, "0.000001"), (-2.5, "-2.5"), (0.0, "0"), (16000.0, "16000"),
    ])
    func floatsAreWrittenAsGoWritesThem(value: Double, expected: String) {
        #expect(GoJSON.double(value).text == expected)
    }

    @Test func stringsEscapeAsGoWithHTMLEscaping() {
        #expect(GoJSON.string("a<b>&\"c\\\n\t\r\u{1}\u{2028}é").text == #""a\u003cb\u003e\u0026\"c\\\n\t\r\u0001\u2028é""#)
    }

    @Test func structsKeepTheirOrderMapsAreSortedIntegersAreExact() {
        let v = GoJSON.object([("b", .uint(UInt64.max)), ("a", .map(["z": "1", "B": "2", "a": "3"])), ("n", .null), ("l", .array([.bool(true), .int(-1)]))])
        #expect(v.text == #"{"b":18446744073709551615,"a":{"B":"2","a":"3","z":"1"},"n":null,"l":[true,-1]}"#)
    }

    @Test func timesAreRFC3339NanoTrimmedInUTC() {
        #expect(GoTime(seconds: 1_782_897_302, nanoseconds: 418_730_120).rfc3339Nano == "2026-07-01T09:15:02.41873012Z")
        #expect(GoTime(seconds: 1_782_897_302, nanoseconds: 0).rfc3339Nano == "2026-07-01T09:15:02Z")
        #expect(GoTime(seconds: 1_782_897_302, nanoseconds: 5).rfc3339Nano == "2026-07-01T09:15:02.000000005Z")
        #expect(GoTime.zero.rfc3339Nano == "0001-01-01T00:00:00Z", "Go's zero time, preread before a second reading")
        #expect(GoTime(seconds: 951_782_400, nanoseconds: 0).rfc3339 == "2000-02-29T00:00:00Z")
        // From a Date: to the microsecond, without the double's noise.
        let d = Date(timeIntervalSince1970: 1_782_897_302.4187301)
        #expect(GoTime(d).rfc3339Nano == "2026-07-01T09:15:02.41873Z")
    }
}
