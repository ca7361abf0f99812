#if canImport(Glibc)
import Glibc
#endif

/// An exclusive advisory lock on a file (flock), held until `unlock()` or deinit.
/// Used so that two tasks pulling or unpacking the same content do the work once.
public final class FileLock {
    private var fd: Int32

    /// Blocks until the lock on `path` (created if missing) is held.
    public init(_ path: String) throws(SystemError) {
        fd = try syscallRetrying("open", path: path) { open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600) }
        let f = fd
        do {
            try syscallRetrying("flock", path: path) { flock(f, LOCK_EX) }
        } catch {
            close(f)
            throw error
        }
    }

    public func unlock() {
        if fd >= 0 { close(fd); fd = -1 }
    }

    deinit { unlock() }
}
