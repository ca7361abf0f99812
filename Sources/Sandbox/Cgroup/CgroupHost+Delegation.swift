#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

extension CgroupHost {
    /// The leaf a long-running host moves itself into on cgroup v2.
    public static let hostLeaf = "fargate-run-host"

    /// On cgroup v2, where this process's cgroup is not the root: moves the process into a
    /// leaf beneath it (`<own>/fargate-run-host`) and returns `<own>`, the cgroup its tasks'
    /// cgroups must be made in. v2 enables controllers for a cgroup's children only while the
    /// cgroup itself holds no process, so a host started in a cgroup of its own (a systemd
    /// service with Delegate=yes) could give its tasks no cpu, memory or pids controller
    /// otherwise; systemd 254's DelegateSubgroup= does the same move. nil where nothing moves
    /// (v1, the root cgroup): tasks go beneath the process's cgroup as always.
    public static func moveIntoLeaf(procSelf: String = "/proc/self") throws -> String? {
        guard isCgroup2("/sys/fs/cgroup") else { return nil }
        let membership = try FileSystem.readString(procSelf + "/cgroup")
        guard let line = membership.split(separator: "\n").first(where: { $0.hasPrefix("0::") }) else { return nil }
        let own = normalize(String(line.dropFirst(3)))
        // Already moved (a host restarted in its leaf), or in the root, which may hold both.
        if own == "/" { return nil }
        if own.hasSuffix("/" + hostLeaf) { return String(own.dropLast(hostLeaf.count + 1)) }
        let leaf = "/sys/fs/cgroup" + own + "/" + hostLeaf
        if mkdir(leaf, 0o755) != 0 && errno != EEXIST { throw SandboxError.system(SystemError("mkdir", path: leaf)) }
        // The whole process, every thread, moves: v2's cgroup.procs takes a thread group.
        try FileSystem.writeString(leaf + "/cgroup.procs", "\(getpid())")
        return own
    }
}
