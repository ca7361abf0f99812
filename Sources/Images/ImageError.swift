import LinuxSupport

/// Why an image could not be found, read, verified or unpacked. Each case names the reference,
/// blob or path involved.
public enum ImageError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidReference(String, String)
    case notFound(reference: String, detail: String)
    case noMatchingPlatform(reference: String, wanted: String, available: [String])
    case digestMismatch(what: String, expected: String, actual: String)
    case sizeMismatch(what: String, expected: Int64, actual: Int64)
    case malformed(what: String, detail: String)
    case unsupported(what: String, detail: String)
    case unsafeLayerEntry(layer: String, entry: String, reason: String)
    case authentication(registry: String, detail: String)
    case io(SystemError)

    public var description: String {
        switch self {
        case .invalidReference(let r, let why): return "invalid image reference \"\(r)\": \(why)"
        case .notFound(let r, let d): return "image \(r) not found: \(d)"
        case .noMatchingPlatform(let r, let wanted, let available):
            return "image \(r) has no \(wanted) variant; it offers: \(available.isEmpty ? "none" : available.joined(separator: ", "))"
        case .digestMismatch(let w, let e, let a): return "\(w): digest mismatch: expected \(e), got \(a)"
        case .sizeMismatch(let w, let e, let a): return "\(w): size mismatch: expected \(e) bytes, got \(a)"
        case .malformed(let w, let d): return "\(w): \(d)"
        case .unsupported(let w, let d): return "\(w): \(d)"
        case .unsafeLayerEntry(let l, let e, let r): return "layer \(l): entry \"\(e)\" refused: \(r)"
        case .authentication(let r, let d): return "authentication with registry \(r) failed: \(d)"
        case .io(let e): return e.description
        }
    }
}
