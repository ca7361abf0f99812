#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// Service discovery names (Cloud Map's A records, Service Connect's aliases) as lines of the
/// tasks' /etc/hosts: `198.19.0.5<TAB>web.local`, one line per address. getaddrinfo in glibc
/// and musl reads /etc/hosts again on every lookup and returns every matching line, so a task
/// sees a change at its next lookup, with no resolver to run (Docs/SERVICES.md, "Load
/// balancing and discovery").
///
/// The records of a cluster are kept in one file (`recordsFile`), and every unfinished task of
/// the state root that follows that file (its name files were written with it: TaskNameFiles)
/// gets them in a marked block of its hosts file, rewritten in place (the file is bind-mounted
/// read-only into the containers: a rename would leave them the old inode). The task's own
/// lines (localhost, its hostname) are left as they are.
///
/// One lock per cluster orders `publish` against a task writing its name files, so a task
/// starting while the records change ends up with the new ones either way: either it wrote
/// before (and `publish` finds it and rewrites it) or after (and it read the new file).
public struct ServiceNameRecords: Sendable, Equatable {
    /// Cloud Map answers with at most 8 healthy records per name.
    public static let maximumAddresses = 8

    static let begin = "# fargate-run service discovery: the cluster's service names, rewritten as its tasks come and go"
    static let end = "# end of fargate-run service discovery"

    /// Each name with its addresses (at most `maximumAddresses`, no duplicates, in the order
    /// given).
    public let names: [String: [String]]

    /// Checks every name (a DNS name: letters, digits, `-`, `_`, `.`, at most 253 characters)
    /// and address (dotted-quad IPv4). Names are lowercased (lookups in hosts files ignore
    /// case); a name with no address is left out; past 8 addresses the rest are left out, as
    /// Cloud Map does.
    public init(_ names: [String: [String]]) throws {
        var out: [String: [String]] = [:]
        for (name, addresses) in names {
            let key = name.lowercased()
            guard ServiceNameRecords.isName(key) else {
                throw TaskRuntimeError(.unsupported, "service discovery name \"\(name)\" is not a DNS name (letters, digits, - _ . ; labels of 1-63, at most 253 in all)")
            }
            var kept: [String] = out[key] ?? []
            for a in addresses {
                guard ServiceNameRecords.isIPv4(a) else { throw TaskRuntimeError(.unsupported, "service discovery name \(name): \"\(a)\" is not an IPv4 address") }
                if !kept.contains(a) && kept.count < ServiceNameRecords.maximumAddresses { kept.append(a) }
            }
            if !kept.isEmpty { out[key] = kept }
        }
        self.names = out
    }

    /// The block as it stands in a hosts file, markers included; empty without names.
    public var block: String {
        guard !names.isEmpty else { return "" }
        var s = ServiceNameRecords.begin + "\n"
        for name in names.keys.sorted() {
            for a in names[name]! { s += "\(a)\t\(name)\n" }
        }
        return s + ServiceNameRecords.end + "\n"
    }

    // MARK: A cluster's records

    /// Where a cluster's records are kept: `<root>/service-discovery/<cluster>.hosts`, the block
    /// itself, read by each of the cluster's tasks when it writes its name files.
    public static func recordsFile(root: StateRoot, cluster: String) -> String {
        root.path + "/service-discovery/" + StateRoot.component(cluster) + ".hosts"
    }

    /// Makes these the records of `cluster`: writes its records file (no names: removes it), then
    /// rewrites the hosts file of every unfinished task of `root` that follows it, in place,
    /// leaving alone those already right. Returns the hosts files it rewrote. A task that ended
    /// meanwhile is passed over; a file that cannot be written does not stop the others, and
    /// the first such failure is thrown once all were tried.
    @discardableResult
    public func publish(root: StateRoot, cluster: String) throws -> [String] {
        let file = ServiceNameRecords.recordsFile(root: root, cluster: cluster)
        let lock = try ServiceNameRecords.lock(file)
        defer { lock.unlock() }
        let text = block
        if text.isEmpty {
            if unlink(file) != 0 && errno != ENOENT { throw SystemError("unlink", path: file) }
        } else {
            try FileSystem.writeAtomically(file, Array(text.utf8), mode: 0o644, durable: false)
        }
        var rewritten: [String] = [], failure: (any Error)?
        for id in TaskStore(root: root).activeIds() {
            let etc = root.taskDirectory(id) + "/etc"
            // Tasks of other clusters, tasks with no name files yet (they read the new file
            // when they write them: the lock orders the two) and tasks gone meanwhile.
            guard (try? FileSystem.readString(etc + "/" + ServiceNameRecords.followsFile)) == file else { continue }
            do {
                if try ServiceNameRecords.rewriteBlock(text, hostsFile: etc + "/hosts") { rewritten.append(etc + "/hosts") }
            } catch let e as SystemError where e.errno == ENOENT {
                continue
            } catch {
                if failure == nil { failure = error }
            }
        }
        if let failure { throw failure }
        return rewritten
    }

    /// Beside a task's name files: the records file its hosts follow (TaskNameFiles writes it).
    static let followsFile = "service-discovery"

    /// The cluster's lock, held while its records file or a follower's hosts file is written.
    static func lock(_ recordsFile: String) throws -> FileLock {
        try FileSystem.makeDirectories(FileSystem.parent(of: recordsFile), mode: 0o755)
        return try FileLock(recordsFile + ".lock")
    }

    /// The block a records file holds now ("" when it does not exist).
    static func currentBlock(_ recordsFile: String) throws -> String {
        do {
            return try FileSystem.readString(recordsFile)
        } catch where error.errno == ENOENT {
            return ""
        }
    }

    // MARK: One hosts file

    /// Replaces the block of the hosts file at `path` with `block`, in place (same inode:
    /// containers have it bind-mounted); false when it already had it. The new text is written
    /// over the old and the file then cut to length, so a lookup in between sees the new lines
    /// first (a truncate first would let it see an empty file).
    static func rewriteBlock(_ block: String, hostsFile path: String) throws -> Bool {
        let old = try FileSystem.readString(path)
        let new = merged(old, block: block)
        guard new != old else { return false }
        let bytes = Array(new.utf8)
        let fd = try syscallRetrying("open", path: path) { open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(fd) }
        var off = 0
        while off < bytes.count {
            let n = try syscallRetrying("pwrite", path: path) { bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + off, $0.count - off, off_t(off)) } }
            off += n
        }
        try syscallRetrying("ftruncate", path: path) { ftruncate(fd, off_t(bytes.count)) }
        return true
    }

    /// `hosts` with its block (between the markers) replaced by `block`: appended when it had
    /// none, removed when `block` is empty. Every other line is kept as it was.
    static func merged(_ hosts: String, block: String) -> String {
        var lines = hosts.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        if let start = lines.firstIndex(of: begin) {
            // A block with no end marker (cut short) runs to the end of the file.
            let stop = lines[start...].firstIndex(of: end) ?? lines.count - 1
            lines.removeSubrange(start...stop)
        }
        let rest = lines.isEmpty ? "" : lines.joined(separator: "\n") + "\n"
        return rest + block
    }

    static func isName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253, !s.hasPrefix("-") else { return false }
        let labels = s.split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63
                && label.unicodeScalars.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-" || $0 == "_") }
        }
    }

    static func isIPv4(_ s: String) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            !p.isEmpty && p.count <= 3 && p.allSatisfy { $0.isASCII && $0.isNumber } && (p == "0" || !p.hasPrefix("0")) && UInt8(p) != nil
        }
    }
}
