#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// A foreground run's hold on its task's active marker while the task has a directory but no
/// state yet. The marker comes first, so that `gc` finds whatever a run killed after it left;
/// but a marker with a directory and no state is also what a live run looks like for those
/// few syscalls, and only the kernel can tell the two apart: the claim is a shared `flock` on
/// the marker, gone with its process. `gc` removes such a task only once it can lock the marker
/// itself (`TaskStore.discardUnstartedForegroundTask`).
public final class ActiveClaim: @unchecked Sendable {
    private var fd: Int32
    /// Whether the claim made the marker (a hosted task's was made by its host).
    public private(set) var created = false

    /// Makes the marker (or opens the host's) and locks it. A `gc` that removed the marker
    /// between its creation and the lock held it exclusively while it did, so the lock, taken
    /// after it, finds the file unlinked: it is made again.
    init(marker: String) throws {
        while true {
            var f = open(marker, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            created = f >= 0
            if f < 0 {
                guard errno == EEXIST || errno == EINTR else { throw SystemError("create", path: marker) }
                f = open(marker, O_RDONLY | O_CLOEXEC)
                // Gone meanwhile (a gc): made again.
                if f < 0 && (errno == ENOENT || errno == EINTR) { continue }
                guard f >= 0 else { throw SystemError("open", path: marker) }
            }
            var st = stat()
            do {
                _ = try syscallRetrying("flock", path: marker) { flock(f, LOCK_SH) }
                _ = try syscallRetrying("fstat", path: marker) { fstat(f, &st) }
            } catch {
                close(f)
                throw error
            }
            if st.st_nlink > 0 {
                fd = f
                return
            }
            close(f)
        }
    }

    /// Lets `gc` have the marker: the task's first state is on disk.
    public func release() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
    }

    deinit { release() }

    /// Runs `body` holding the marker exclusively, if no claim holds it (nil if one does, or the
    /// marker is gone): no run can claim it meanwhile. The file locked must still be the one
    /// at the path: another gc may have unlinked it after this one opened it, and a run made
    /// and claimed a new one there, which `body`'s unlink by path would otherwise remove.
    static func unclaimed<T>(marker: String, _ body: () -> T) -> T? {
        let f = open(marker, O_RDONLY | O_CLOEXEC)
        guard f >= 0 else { return nil }
        defer { close(f) }
        return unclaimed(opened: f, marker: marker, body)
    }

    /// The same, with the marker opened already (`f`, which stays open).
    static func unclaimed<T>(opened f: Int32, marker: String, _ body: () -> T) -> T? {
        guard flock(f, LOCK_EX | LOCK_NB) == 0 else { return nil }
        var held = stat(), there = stat()
        guard fstat(f, &held) == 0, held.st_nlink > 0, stat(marker, &there) == 0, held.st_dev == there.st_dev, held.st_ino == there.st_ino else {
            return nil
        }
        return body()
    }
}
