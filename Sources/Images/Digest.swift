import Crypto

/// A content digest, `sha256:<64 lowercase hex>`. Only sha256 is accepted: it is what every
/// registry and image tool produces, and a second algorithm would only widen the attack surface.
public struct Digest: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    public let hex: String

    public init(parsing s: String) throws(ImageError) {
        guard s.hasPrefix("sha256:") else { throw .invalidReference(s, "a digest must start with sha256:") }
        let hex = String(s.dropFirst(7))
        guard hex.utf8.count == 64, hex.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else {
            throw .invalidReference(s, "a sha256 digest is 64 lowercase hex characters")
        }
        self.hex = hex
    }

    init(hex: String) { self.hex = hex }

    public init(from decoder: any Decoder) throws {
        let s = try decoder.singleValueContainer().decode(String.self)
        do { self = try Digest(parsing: s) } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    public var description: String { "sha256:" + hex }
    /// The first 12 hex digits, as `docker images` shows ids.
    public var short: String { String(hex.prefix(12)) }

    public static func < (a: Digest, b: Digest) -> Bool { a.hex < b.hex }

    public static func of(_ bytes: some Sequence<UInt8>) -> Digest {
        Digest(hasher: { var h = SHA256(); h.update(data: Array(bytes)); return h }())
    }

    public init(hasher: SHA256) {
        hex = hasher.finalize().map { b in
            let s = String(b, radix: 16)
            return b < 16 ? "0" + s : s
        }.joined()
    }
}
