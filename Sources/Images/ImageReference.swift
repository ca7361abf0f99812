import Foundation

/// An image reference as users write it in a task definition's `image` or on the command line.
///
/// Plain names go to registries, normalised the way Docker does (`busybox` is
/// `docker.io/library/busybox:latest`). Local sources use the containers/image transport syntax
/// users know from skopeo and podman: `oci:DIR[:TAG]`, `oci-archive:FILE[:TAG]`,
/// `docker-archive:FILE[:REF]`. Relative paths are relative to the current directory.
public enum ImageReference: Hashable, Sendable, CustomStringConvertible {
    case registry(RegistryReference)
    case oci(directory: String, tag: String?)
    case ociArchive(file: String, tag: String?)
    case dockerArchive(file: String, reference: String?)

    public init(parsing raw: String, relativeTo cwd: String = FileManager.default.currentDirectoryPath) throws(ImageError) {
        func absolute(_ p: String) -> String {
            p.hasPrefix("/") ? p : (cwd.hasSuffix("/") ? cwd + p : cwd + "/" + p)
        }
        /// Splits "PATH[:SUFFIX]" at the last colon after the last slash (paths may contain colons
        /// only before their final component).
        func pathAndSuffix(_ s: Substring) -> (String, String?) {
            let lastSlash = s.lastIndex(of: "/") ?? s.startIndex
            if let colon = s[lastSlash...].lastIndex(of: ":") {
                let suffix = String(s[s.index(after: colon)...])
                return (String(s[..<colon]), suffix.isEmpty ? nil : suffix)
            }
            return (String(s), nil)
        }
        if raw.hasPrefix("oci:") {
            let (p, tag) = pathAndSuffix(raw.dropFirst(4))
            guard !p.isEmpty else { throw .invalidReference(raw, "oci: needs a directory, as in oci:DIR[:TAG]") }
            self = .oci(directory: absolute(p), tag: tag)
        } else if raw.hasPrefix("oci-archive:") {
            let (p, tag) = pathAndSuffix(raw.dropFirst(12))
            guard !p.isEmpty else { throw .invalidReference(raw, "oci-archive: needs a file, as in oci-archive:FILE[:TAG]") }
            self = .ociArchive(file: absolute(p), tag: tag)
        } else if raw.hasPrefix("docker-archive:") {
            let rest = raw.dropFirst(15)
            // docker-archive:FILE[:REF] where REF itself may hold a colon (name:tag).
            var file = String(rest), ref: String? = nil
            if !FileManager.default.fileExists(atPath: absolute(file)), let colon = rest.firstIndex(of: ":") {
                file = String(rest[..<colon])
                ref = String(rest[rest.index(after: colon)...])
            }
            guard !file.isEmpty else { throw .invalidReference(raw, "docker-archive: needs a file, as in docker-archive:FILE[:REF]") }
            self = .dockerArchive(file: absolute(file), reference: ref)
        } else if raw.hasPrefix("docker://") {
            self = .registry(try RegistryReference(parsing: String(raw.dropFirst(9))))
        } else if let colon = raw.firstIndex(of: ":"), raw[..<colon].allSatisfy({ $0.isLetter || $0 == "-" }),
                  ["dir", "containers-storage", "docker-daemon", "ostree", "sif"].contains(String(raw[..<colon])) {
            throw .invalidReference(raw, "the \(raw[..<colon]): transport is not supported; use oci:, oci-archive:, docker-archive: or a registry name")
        } else {
            self = .registry(try RegistryReference(parsing: raw))
        }
    }

    public var description: String {
        switch self {
        case .registry(let r): return r.description
        case .oci(let d, let t): return "oci:" + d + (t.map { ":" + $0 } ?? "")
        case .ociArchive(let f, let t): return "oci-archive:" + f + (t.map { ":" + $0 } ?? "")
        case .dockerArchive(let f, let r): return "docker-archive:" + f + (r.map { ":" + $0 } ?? "")
        }
    }
}

/// `[registry[:port]/]repository[:tag][@digest]`, normalised as Docker does.
public struct RegistryReference: Hashable, Sendable, CustomStringConvertible {
    public var registry: String
    public var repository: String
    public var tag: String?
    public var digest: Digest?

    public static let dockerHub = "docker.io"

    public init(registry: String, repository: String, tag: String?, digest: Digest?) {
        self.registry = registry
        self.repository = repository
        self.tag = tag
        self.digest = digest
    }

    public init(parsing raw: String) throws(ImageError) {
        var rest = Substring(raw)
        guard !rest.isEmpty else { throw .invalidReference(raw, "empty image name") }
        var digest: Digest?
        if let at = rest.firstIndex(of: "@") {
            digest = try Digest(parsing: String(rest[rest.index(after: at)...]))
            rest = rest[..<at]
        }
        var tag: String?
        let lastSlash = rest.lastIndex(of: "/") ?? rest.startIndex
        if let colon = rest[lastSlash...].lastIndex(of: ":") {
            tag = String(rest[rest.index(after: colon)...])
            rest = rest[..<colon]
        }
        var registry = RegistryReference.dockerHub
        var repo = String(rest)
        if let slash = rest.firstIndex(of: "/") {
            let first = rest[..<slash]
            // The first component is a registry when it looks like a host: a dot, a port or localhost.
            if first.contains(".") || first.contains(":") || first == "localhost" {
                registry = String(first)
                repo = String(rest[rest.index(after: slash)...])
            }
        }
        if registry == RegistryReference.dockerHub && !repo.contains("/") { repo = "library/" + repo }
        if let t = tag {
            let ok = !t.isEmpty && t.utf8.count <= 128 && t.utf8.allSatisfy { c in
                (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 46 || c == 45
            } && t.first != "." && t.first != "-"
            guard ok else { throw .invalidReference(raw, "tag \"\(t)\" must be 1-128 of [A-Za-z0-9_.-], not starting with . or -") }
        }
        let repoOK = !repo.isEmpty && repo.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { comp in
            !comp.isEmpty && comp.utf8.allSatisfy { c in (c >= 48 && c <= 57) || (c >= 97 && c <= 122) || c == 95 || c == 46 || c == 45 }
        }
        guard repoOK else { throw .invalidReference(raw, "repository \"\(repo)\" must be lowercase [a-z0-9._-] components separated by /") }
        if tag == nil && digest == nil { tag = "latest" }
        self.init(registry: registry, repository: repo, tag: tag, digest: digest)
    }

    public var description: String {
        var s = registry + "/" + repository
        if let tag { s += ":" + tag }
        if let digest { s += "@" + digest.description }
        return s
    }
}
