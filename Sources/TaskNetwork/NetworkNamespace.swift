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
        try FileSystem.makeDirectories(directory)
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
