#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// A named network namespace, pinned by a bind mount at `/run/netns/<name>` exactly as
/// `ip netns add` does, so `ip netns exec <name> ...` works for debugging and CNI plugins get a
/// path. Loopback is up from the start. The task's containers join it with setns().
public struct NetworkNamespace: Sendable, Equatable {
    public static let directory = "/run/netns"

    public let name: String
    public var path: String { NetworkNamespace.directory + "/" + name }

    public init(name: String) {
        self.name = name
    }

    /// Creates the namespace. Nothing is left behind when it fails. `withoutIPv6`: interfaces
    /// made in it after loopback get no IPv6, not even a link-local address. fargate-run's own
    /// network gives tasks IPv4 and its security groups filter IPv4; with the kernel's default
    /// link-local addresses, tasks on one bridge reached each other over IPv6 whatever their
    /// groups. (Docker likewise leaves IPv6 off a container's interface on a network without it.)
    public static func create(name: String, withoutIPv6: Bool = false) throws(SystemError) -> NetworkNamespace {
        try create(name: name, withoutIPv6: withoutIPv6, linkLocal: nil)
    }

    /// A task's namespace: as `create(name:withoutIPv6:)`, and with `linkLocal` the task
    /// metadata endpoint's address, 169.254.170.2 on loopback, and unless `linkLocal.allowed`
    /// the rest of 169.254.0.0/16 (and fd00:ec2::254) unreachable: both made before anything
    /// could route a packet out of it. The endpoint's listener is made apart
    /// (`TaskEndpointSockets.make`).
    public static func create(name: String, withoutIPv6: Bool, linkLocal: LinkLocalSetup?) throws(SystemError) -> NetworkNamespace {
        let ns = NetworkNamespace(name: name)
        try ensureDirectoryMount()
        let p = ns.path
        let fd = try syscallRetrying("create", path: p) { open(p, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0) }
        close(fd)
        var flags: Int32 = withoutIPv6 ? Int32(FR_NETNS_NO_IPV6) : 0
        if let linkLocal {
            flags |= Int32(FR_NETNS_ENDPOINT)
            if !linkLocal.allowed { flags |= Int32(FR_NETNS_BLOCK_LINK_LOCAL) }
        }
        var stage: Int32 = 0
        if fr_netns_create(p, flags, &stage) != 0 {
            let e = errno
            umount2(p, Int32(MNT_DETACH))
            unlink(p)
            let step = ["create network namespace", "unshare(CLONE_NEWNET)", "bind-mount network namespace", "bring up loopback in",
                        "disable IPv6 for the interfaces of", "add 169.254.170.2 and the link-local routes to"][Int(min(max(stage, 0), 5))]
            throw SystemError(step, path: p, errno: e)
        }
        return ns
    }

    /// Makes `/run/netns` a shared mount of its own before any namespace is pinned in it, as
    /// `ip netns add` does. A pin made on the plain directory is hidden for good by the first
    /// `ip netns add` that runs after it (it bind-mounts the directory over itself): the pin's
    /// path then names the new mount's empty file, which cannot be unmounted ("not mounted")
    /// nor removed (EBUSY), and the namespace leaks. A lock keeps two fargate-run processes
    /// from both mounting over the directory, which would hide the first one's pins as well.
    static func ensureDirectoryMount() throws(SystemError) {
        try FileSystem.makeDirectories(directory)
        // Already its own mount: made shared again, which is all `ip netns add` does then.
        if mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) == 0 { return }
        guard errno == EINVAL else { throw SystemError("make shared", path: directory) }
        let lockPath = "/run/fargate-run/netns.lock"
        try FileSystem.makeDirectories("/run/fargate-run")
        let lock = try syscallRetrying("open", path: lockPath) { open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        defer { close(lock) }
        _ = try syscallRetrying("flock", path: lockPath) { flock(lock, LOCK_EX) }
        if mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) == 0 { return }
        guard mount(directory, directory, "none", UInt(MS_BIND | MS_REC), nil) == 0 else { throw SystemError("bind-mount", path: directory) }
        guard mount("", directory, "none", UInt(MS_SHARED | MS_REC), nil) == 0 else { throw SystemError("make shared", path: directory) }
    }

    /// Whether the namespace file is still mounted.
    public var exists: Bool { FileSystem.exists(path) }

    /// Unmounts and removes the namespace file. The namespace itself is freed by the kernel once
    /// no process is in it. Removing one that is gone is not an error.
    public func remove() throws(SystemError) {
        let p = path
        if umount2(p, Int32(MNT_DETACH)) != 0 && errno != EINVAL && errno != ENOENT {
            throw SystemError("umount", path: p)
        }
        if unlink(p) != 0 && errno != ENOENT { throw SystemError("unlink", path: p) }
    }
}
