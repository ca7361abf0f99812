#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// A read-only layer holding what a container's default mounts go on, /proc, /dev and /sys,
/// and where it fits the image, /etc with empty hosts, resolv.conf and hostname: laid over
/// the image as its top lower layer, as Docker's init layer is. Without it every container
/// made them in its own writable layer as it started (seven new files and a copy-up of /etc,
/// on the start's path) and they were deleted with it; on a journal-less ext4 each new inode
/// costs a scan of every recently freed one (Docs/PERFORMANCE.md). Made once per state root
/// (in its cache directory), shared by every container, never written to: a container's
/// writes go to its own upper layer.
public enum MountPointLayer {
    public static let directories = ["proc", "dev", "sys"]
    /// The name files; they are always bind-mounted over (TaskRunner), so their content here
    /// is never seen.
    public static let etcFiles = ["hosts", "resolv.conf", "hostname"]

    /// The layer's directory in `root`, made now (whole, renamed into place) unless it is there.
    /// - Parameter withEtc: add /etc and the name files (only where `etcFits`).
    public static func ensure(in root: String, withEtc: Bool) throws(SystemError) -> String {
        let dest = root + "/" + (withEtc ? "mountpoints-etc" : "mountpoints")
        if FileSystem.isDirectory(dest) { return dest }
        let tmp = dest + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileSystem.makeDirectories(root, mode: 0o700)
        do {
            try make(tmp, mode: 0o755)
            for d in directories { try make(tmp + "/" + d, mode: 0o755) }
            if withEtc {
                try make(tmp + "/etc", mode: 0o755)
                for f in etcFiles {
                    let path = tmp + "/etc/" + f
                    try FileSystem.createFile(path, [], mode: 0o644)
                    try syscallRetrying("chmod", path: path) { chmod(path, 0o644) }
                }
            }
            try syscallRetrying("rename", path: dest) { rename(tmp, dest) }
        } catch {
            try? FileSystem.removeTree(tmp)
            // Another start made it first (ENOTEMPTY, EEXIST): theirs is the same.
            if FileSystem.isDirectory(dest) { return dest }
            throw error
        }
        return dest
    }

    /// Whether the layer's /etc may go over an image with these layers (bottom first): the
    /// topmost /etc in them is a directory of root's with mode 0755, as the layer's, or there
    /// is none. A link, a whiteout or another owner or mode would be hidden or changed by it.
    public static func etcFits(layers: [String]) -> Bool {
        for layer in layers.reversed() {
            var st = stat()
            guard lstat(layer + "/etc", &st) == 0 else {
                if errno == ENOENT { continue }
                return false
            }
            return st.st_mode & S_IFMT == S_IFDIR && st.st_mode & 0o7777 == 0o755 && st.st_uid == 0 && st.st_gid == 0
        }
        return true
    }

    /// mkdir with exactly `mode`, whatever the umask.
    static func make(_ path: String, mode: mode_t) throws(SystemError) {
        try syscallRetrying("mkdir", path: path) { mkdir(path, mode) }
        try syscallRetrying("chmod", path: path) { chmod(path, mode) }
    }
}
