#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// One host per state root: `<root>/host.lock`, flock'ed by the host for as long as it runs,
/// holding its pid for the message that refuses a second one.
public final class HostLock: Sendable {
    let fd: Int32
    public let path: String

    public static func path(_ root: StateRoot) -> String { root.path + "/host.lock" }

    /// Takes the lock, or says which process holds it.
    public init(root: StateRoot) throws {
        path = HostLock.path(root)
        let p = path
        fd = try syscallRetrying("open", path: p) { open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let e = errno
            let holder = (try? FileSystem.readString(p)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            close(fd)
            if e == EWOULDBLOCK {
                throw TaskRuntimeError(.invalidState, "another fargate-run host\(holder.map { " (pid \($0))" } ?? "") already serves \(root.path); stop it first, or give this one another --root")
            }
            throw SystemError("flock", path: p, errno: e)
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    deinit { close(fd) }

    /// Whether a host serves `root` (its lock is held, or cannot be tested), and its pid when
    /// the pid file has it: a host has its lock a moment before it writes its pid, and one
    /// whose write failed has none.
    public static func state(of root: StateRoot) -> (held: Bool, pid: pid_t?) {
        let p = path(root)
        let fd = open(p, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return (false, nil) }
        defer { close(fd) }
        guard flock(fd, LOCK_SH | LOCK_NB) != 0 else {
            flock(fd, LOCK_UN)
            return (false, nil)
        }
        return (true, (try? FileSystem.readString(p)).flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) })
    }
}
