#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport
import Synchronization

/// Which cgroup hierarchy the host gives us for resource control.
public enum CgroupVersion: String, Sendable, Codable {
    case v1, v2
}

/// The host's cgroup layout as seen by this process: where each hierarchy is mounted and which
/// cgroup we run in. Everything fargate-run creates is nested beneath `parent`.
public struct CgroupHost: Sendable {
    /// One mounted hierarchy: a v1 controller set (e.g. "cpu", "cpu,cpuacct", "memory") or v2.
    public struct Hierarchy: Sendable, Equatable {
        /// Controllers of this hierarchy (v1), or those enabled for our children (v2).
        public var controllers: [String]
        /// Where it is mounted on the host, e.g. /sys/fs/cgroup/memory.
        public var mountPoint: String
        /// Our cgroup inside it, e.g. /process_api/abc (from /proc/self/cgroup), or the parent.
        public var parentPath: String
        /// Mount options a container needs to mount this hierarchy itself (v1 "cpu,cpuacct").
        public var mountData: String
        public var directory: String { mountPoint + (parentPath == "/" ? "" : parentPath) }
    }

    public let version: CgroupVersion
    /// v2: one hierarchy. v1: the hierarchies holding cpu, cpuacct, memory, pids and devices.
    public let hierarchies: [Hierarchy]

    /// The v1 controllers fargate-run manages; each must be mounted somewhere.
    public static let v1Controllers = ["cpu", "cpuacct", "memory", "pids", "devices"]
    /// The v2 controllers fargate-run enables for its cgroups.
    public static let v2Controllers = ["cpu", "memory", "pids"]

    public init(version: CgroupVersion, hierarchies: [Hierarchy]) {
        self.version = version
        self.hierarchies = hierarchies
    }

    /// Probes the host: v2 when /sys/fs/cgroup itself is cgroup2 (unified), else v1 (legacy or
    /// hybrid, where a controller-less cgroup2 may sit at /sys/fs/cgroup/unified).
    ///
    /// - Parameter parent: a cgroup path (from the hierarchy root) to nest under instead of the
    ///   cgroup this process runs in (`--cgroup-parent`).
    public static func probe(parent: String? = nil, procSelf: String = "/proc/self") throws -> CgroupHost {
        let mountinfo = try FileSystem.readString(procSelf + "/mountinfo")
        let membership = try FileSystem.readString(procSelf + "/cgroup")
        let key = ProbeInputs(mountinfo: mountinfo, membership: membership, parent: parent, isUnifiedRoot: isCgroup2("/sys/fs/cgroup"))
        // A host probes at every task's start: the same files give the same answer, and
        // parsing the mount table is most of the probe's cost.
        if let last = lastProbe.withLock({ $0 }), last.inputs == key { return last.host }
        let host = try probe(mountinfo: mountinfo, membership: membership, parent: parent, isUnifiedRoot: key.isUnifiedRoot)
        lastProbe.withLock { $0 = (key, host) }
        return host
    }

    struct ProbeInputs: Equatable, Sendable {
        var mountinfo: String
        var membership: String
        var parent: String?
        var isUnifiedRoot: Bool
    }

    private static let lastProbe = Mutex<(inputs: ProbeInputs, host: CgroupHost)?>(nil)

    /// The parsing half of `probe`, separate so the layouts of other hosts can be unit-tested.
    public static func probe(mountinfo: String, membership: String, parent: String?, isUnifiedRoot: Bool) throws -> CgroupHost {
        let mounts = MountTable.parse(mountinfo)
        var ownPath: [String: String] = [:]   // controller (or "" for v2) -> path
        for line in membership.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else { continue }
            let path = String(parts[2])
            if parts[1].isEmpty { ownPath[""] = path; continue }
            for c in parts[1].split(separator: ",") { ownPath[String(c)] = path }
        }
        func nested(_ own: String) -> String {
            guard let parent, !parent.isEmpty else { return own }
            return parent.hasPrefix("/") ? parent : (own == "/" ? "/" + parent : own + "/" + parent)
        }
        if isUnifiedRoot {
            guard let m = mounts.first(where: { $0.fstype == "cgroup2" && $0.mountPoint == "/sys/fs/cgroup" }) else {
                throw SandboxError.cgroup("cgroup2 is not mounted at /sys/fs/cgroup")
            }
            let own = ownPath[""] ?? "/"
            return CgroupHost(version: .v2, hierarchies: [
                Hierarchy(controllers: v2Controllers, mountPoint: m.mountPoint, parentPath: normalize(nested(own)), mountData: ""),
            ])
        }
        var result: [Hierarchy] = []
        for controller in v1Controllers {
            if result.contains(where: { $0.controllers.contains(controller) }) { continue }
            guard let m = mounts.first(where: { $0.fstype == "cgroup" && $0.superOptions.contains(controller) }) else {
                throw SandboxError.cgroup("cgroup v1 controller \"\(controller)\" is not mounted (looked in /proc/self/mountinfo)")
            }
            let ctrls = m.superOptions.filter { !["rw", "ro"].contains($0) && !$0.contains("=") && !$0.hasPrefix("clone_children") && !$0.hasPrefix("noprefix") && !$0.hasPrefix("xattr") }
            let own = ownPath[controller] ?? "/"
            // A mount may expose a sub-tree of the hierarchy (its root field); paths in
            // /proc/self/cgroup are from the hierarchy root.
            var path = normalize(nested(own))
            if m.root != "/" && path.hasPrefix(m.root) { path = String(path.dropFirst(m.root.count)); if path.isEmpty { path = "/" } }
            result.append(Hierarchy(controllers: ctrls, mountPoint: m.mountPoint, parentPath: path, mountData: ctrls.joined(separator: ",")))
        }
        return CgroupHost(version: .v1, hierarchies: result)
    }

    static func normalize(_ p: String) -> String {
        let parts = p.split(separator: "/").filter { !$0.isEmpty && $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    static func isCgroup2(_ path: String) -> Bool {
        fr_fs_type(path) == 0x6367_7270
    }
}
