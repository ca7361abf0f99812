import Foundation

/// The Amazon ECS API's shapes (generated from the API model into `Generated/Shapes+Generated.swift`),
/// under one namespace so that `ECS.Task` never collides with Swift's `Task`.
public enum ECS {}

extension ECS {
    /// An API timestamp. The API sends epoch seconds; the AWS CLI prints ISO-8601. Both decode;
    /// it encodes as ISO-8601 with fractional seconds, as `aws ecs describe-tasks` prints, unless
    /// the encoder asks for the wire's epoch seconds (`epochSeconds`).
    public struct Timestamp: Codable, Hashable, Sendable, Comparable, CustomStringConvertible {
        public var date: Date

        public init(_ date: Date) { self.date = date }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let seconds = try? c.decode(Double.self) {
                date = Date(timeIntervalSince1970: seconds)
                return
            }
            let text = try c.decode(String.self)
            guard let d = Timestamp.parse(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an ISO-8601 timestamp: \(text)")
            }
            date = d
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            // The API's wire form (JSON 1.1) is epoch seconds: the Go SDK (Terraform) accepts
            // nothing else. Files and the CLI keep ISO-8601, as `aws ecs` prints.
            if encoder.userInfo[Timestamp.epochSeconds] as? Bool == true {
                try c.encode((date.timeIntervalSince1970 * 1000).rounded() / 1000)
            } else {
                try c.encode(description)
            }
        }

        /// Set to true in an encoder's userInfo to write timestamps as epoch seconds.
        public static let epochSeconds = CodingUserInfoKey(rawValue: "ecs.epochSeconds")!

        /// ISO-8601 in UTC with microseconds, e.g. `2026-11-23T04:42:00.123456+00:00`.
        public var description: String { Timestamp.format(date) }

        public static func < (a: Timestamp, b: Timestamp) -> Bool { a.date < b.date }

        /// Written digit by digit: a state file holds a dozen timestamps and is written several
        /// times a task, and `String(format:)` (Foundation's formatting) cost several µs each.
        public static func format(_ date: Date) -> String {
            let t = date.timeIntervalSince1970
            var seconds = time_t(floor(t))
            var micros = Int(((t - floor(t)) * 1_000_000).rounded())
            if micros == 1_000_000 { seconds += 1; micros = 0 }
            var tmv = tm()
            gmtime_r(&seconds, &tmv)
            let year = Int(tmv.tm_year) + 1900
            guard (0...9999).contains(year) else {
                return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", year, Int(tmv.tm_mon) + 1,
                              Int(tmv.tm_mday), Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), micros)
            }
            return String(unsafeUninitializedCapacity: 32) { out in
                var i = 0
                func put(_ value: Int, _ width: Int, then separator: UInt8?) {
                    var v = value
                    for k in stride(from: width - 1, through: 0, by: -1) {
                        out[i + k] = UInt8(truncatingIfNeeded: 48 + v % 10)
                        v /= 10
                    }
                    i += width
                    if let separator { out[i] = separator; i += 1 }
                }
                put(year, 4, then: UInt8(ascii: "-"))
                put(Int(tmv.tm_mon) + 1, 2, then: UInt8(ascii: "-"))
                put(Int(tmv.tm_mday), 2, then: UInt8(ascii: "T"))
                put(Int(tmv.tm_hour), 2, then: UInt8(ascii: ":"))
                put(Int(tmv.tm_min), 2, then: UInt8(ascii: ":"))
                put(Int(tmv.tm_sec), 2, then: UInt8(ascii: "."))
                put(micros, 6, then: nil)
                for c in "+00:00".utf8 { out[i] = c; i += 1 }
                return i
            }
        }

        // FormatStyle values, not ISO8601DateFormatter: creating a formatter costs ~140 µs, which
        // was most of the validation time of a describe-task-definition output.
        private static let withFraction = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        private static let withoutFraction = Date.ISO8601FormatStyle()

        public static func parse(_ s: String) -> Date? {
            (try? withFraction.parse(s)) ?? (try? withoutFraction.parse(s))
        }
    }
}

extension ECS.PortMapping {
    /// `containerPortRange`'s ports: "FIRST-LAST" with 1 <= FIRST < LAST <= 65535, else nil.
    public static func portRange(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { Int($0) }
        guard parts.count == 2, let first = parts[0], let last = parts[1], first >= 1, last <= 65535, first < last else { return nil }
        return first...last
    }

    /// The container ports this mapping publishes: `containerPort`, or its range's.
    public var containerPorts: ClosedRange<Int>? {
        if let p = containerPort { return p...p }
        return containerPortRange.flatMap(ECS.PortMapping.portRange)
    }
}
