#if canImport(Glibc)
import Glibc
#endif

/// The filesystem a container sees by default, matching runc's and Docker's defaults
/// (moby/oci/defaults.go, runc libcontainer/specconv): /proc, a small tmpfs /dev holding only
/// the standard devices, /sys read-only, a read-only /sys/fs/cgroup showing only the
/// container's own cgroup, and the masked and read-only /proc paths.
public enum DefaultProfile {
    static let nosuid = UInt(MS_NOSUID), nodev = UInt(MS_NODEV), noexec = UInt(MS_NOEXEC)
    static let rdonly = UInt(MS_RDONLY), strictatime = UInt(MS_STRICTATIME), bind = UInt(MS_BIND), rec = UInt(MS_REC)

    /// Mounts made inside the new root, in order.
    public static func mounts(cgroups: CgroupHost?) -> [ContainerSpec.Mount] {
        typealias M = ContainerSpec.Mount
        var m: [M] = [
            M(source: "proc", target: "/proc", fstype: "proc", flags: nosuid | noexec | nodev),
            M(source: "tmpfs", target: "/dev", fstype: "tmpfs", flags: nosuid | strictatime, data: "mode=755,size=65536k"),
            M(source: "devpts", target: "/dev/pts", fstype: "devpts", flags: nosuid | noexec,
              data: "newinstance,ptmxmode=0666,mode=0620,gid=5"),
            M(source: "shm", target: "/dev/shm", fstype: "tmpfs", flags: nosuid | noexec | nodev, data: "mode=1777,size=65536k"),
            M(source: "mqueue", target: "/dev/mqueue", fstype: "mqueue", flags: nosuid | noexec | nodev),
            M(source: "sysfs", target: "/sys", fstype: "sysfs", flags: nosuid | noexec | nodev | rdonly),
        ]
        guard let cgroups else { return m }
        switch cgroups.version {
        case .v2:
            m.append(M(source: "cgroup", target: "/sys/fs/cgroup", fstype: "cgroup2", flags: nosuid | noexec | nodev | rdonly))
        case .v1:
            // A tmpfs holding one read-only mount per hierarchy; the tmpfs is made read-only
            // afterwards through readonlyPaths. Inside the cgroup namespace each shows only the
            // container's own cgroup.
            m.append(M(source: "tmpfs", target: "/sys/fs/cgroup", fstype: "tmpfs", flags: nosuid | noexec | nodev, data: "mode=755"))
            for h in cgroups.hierarchies {
                let name = h.controllers.joined(separator: ",")
                m.append(M(source: "cgroup", target: "/sys/fs/cgroup/" + name, fstype: "cgroup",
                           flags: nosuid | noexec | nodev | rdonly, data: h.mountData))
            }
        }
        return m
    }

    /// The only device nodes a container gets (mode 0666, owned by root).
    public static let devices: [ContainerSpec.Device] = [
        .init(path: "/dev/null", mode: 0o666, major: 1, minor: 3),
        .init(path: "/dev/zero", mode: 0o666, major: 1, minor: 5),
        .init(path: "/dev/full", mode: 0o666, major: 1, minor: 7),
        .init(path: "/dev/random", mode: 0o666, major: 1, minor: 8),
        .init(path: "/dev/urandom", mode: 0o666, major: 1, minor: 9),
        .init(path: "/dev/tty", mode: 0o666, major: 5, minor: 0),
    ]

    public static let symlinks: [ContainerSpec.Symlink] = [
        .init(target: "/proc/self/fd", path: "/dev/fd"),
        .init(target: "/proc/self/fd/0", path: "/dev/stdin"),
        .init(target: "/proc/self/fd/1", path: "/dev/stdout"),
        .init(target: "/proc/self/fd/2", path: "/dev/stderr"),
        .init(target: "pts/ptmx", path: "/dev/ptmx"),
    ]

    public static let maskedPaths = [
        "/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/sched_debug", "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/devices/virtual/powercap",
        "/sys/firmware",
    ]

    public static func readonlyPaths(cgroups: CgroupHost?) -> [String] {
        var p = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
        if cgroups?.version == .v1 { p.append("/sys/fs/cgroup") }
        return p
    }

    /// RLIMIT_NOFILE as Fargate sets it.
    public static let rlimits: [ContainerSpec.Rlimit] = [
        .init(resource: Int32(RLIMIT_NOFILE.rawValue), soft: 65535, hard: 65535),
    ]
}
