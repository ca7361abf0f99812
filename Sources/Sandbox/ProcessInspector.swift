#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// What isolates one process, read from /proc of the real process (never from our own
/// bookkeeping): the point is to check what the kernel enforces.
public struct ProcessIsolation: Codable, Sendable, Equatable {
    /// Namespace kind ("pid", "net", ...) to inode, from /proc/PID/ns/*.
    public var namespaces: [String: UInt64]
    /// /proc/PID/cgroup lines: hierarchy controllers ("" on v2) to path.
    public var cgroups: [String: String]
    public var capabilities: [String: [String]]
    /// "disabled", "strict" or "filter".
    public var seccomp: String
    public var noNewPrivileges: Bool
    public var uid: UInt32
    public var gid: UInt32
    public var groups: [UInt32]
    /// Whether the process's root ("/") is mounted read-only.
    public var readonlyRoot: Bool
}

public enum ProcessInspector {
    public static let namespaceKinds = ["cgroup", "ipc", "mnt", "net", "pid", "user", "uts"]

    /// Inode of each namespace of `pid` (use "self" for this process).
    public static func namespaces(_ pid: String) -> [String: UInt64] {
        var out: [String: UInt64] = [:]
        for k in namespaceKinds {
            var st = stat()
            if stat("/proc/\(pid)/ns/\(k)", &st) == 0 { out[k] = UInt64(st.st_ino) }
        }
        return out
    }

    public static func inspect(pid: pid_t) throws -> ProcessIsolation {
        let status = try FileSystem.readString("/proc/\(pid)/status")
        var fields: [String: String] = [:]
        for line in status.split(separator: "\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        func caps(_ key: String) -> [String] {
            guard let hex = fields[key], let mask = UInt64(hex, radix: 16) else { return [] }
            return Capability.allCases.filter { mask & (1 << UInt64($0.rawValue)) != 0 }.map(\.name)
        }
        var cgroups: [String: String] = [:]
        for line in (try? FileSystem.readString("/proc/\(pid)/cgroup"))?.split(separator: "\n") ?? [] {
            let p = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            if p.count == 3 { cgroups[String(p[1])] = String(p[2]) }
        }
        let ids = { (k: String) in (fields[k] ?? "").split(whereSeparator: { $0 == "\t" || $0 == " " }).compactMap { UInt32($0) } }
        var readonly = false
        for line in (try? FileSystem.readString("/proc/\(pid)/mountinfo"))?.split(separator: "\n") ?? [] {
            let f = line.split(separator: " ")
            if f.count > 5, f[4] == "/" { readonly = f[5].split(separator: ",").contains("ro") }
        }
        let seccompModes = ["0": "disabled", "1": "strict", "2": "filter"]
        return ProcessIsolation(
            namespaces: namespaces("\(pid)"), cgroups: cgroups,
            capabilities: ["effective": caps("CapEff"), "permitted": caps("CapPrm"), "bounding": caps("CapBnd"),
                           "inheritable": caps("CapInh"), "ambient": caps("CapAmb")],
            seccomp: seccompModes[fields["Seccomp"] ?? ""] ?? "unknown",
            noNewPrivileges: fields["NoNewPrivs"] == "1",
            uid: ids("Uid").dropFirst().first ?? ids("Uid").first ?? 0,
            gid: ids("Gid").dropFirst().first ?? ids("Gid").first ?? 0,
            groups: ids("Groups"), readonlyRoot: readonly)
    }
}
