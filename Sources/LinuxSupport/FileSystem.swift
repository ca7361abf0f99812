#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Small, errno-preserving file helpers used by every module that touches the host.
public enum FileSystem {
    /// Reads a whole (small) file, such as a cgroup or /proc file.
    public static func readString(_ path: String) throws(SystemError) -> String {
        let fd = try syscallRetrying("open", path: path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { close(fd) }
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = try syscallRetrying("read", path: path) { buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            out.append(contentsOf: buf[0..<n])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Writes `value` to an existing file in one write(2), as cgroup and /proc files require.
    public static func writeString(_ path: String, _ value: String) throws(SystemError) {
        let fd = try syscallRetrying("open", path: path) { open(path, O_WRONLY | O_CLOEXEC) }
        defer { close(fd) }
        var bytes = Array(value.utf8)
        let n = try syscallRetrying("write", path: path) { bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress, $0.count) } }
        if n != bytes.count { throw SystemError("write", path: path, errno: EIO) }
    }

    /// Replaces a regular file's content keeping its inode, for a file bind-mounted elsewhere
    /// (a rename would leave the mount showing the old one) or rewritten often (no new inode
    /// each time). Not atomic: readers must not need it whole, or must be kept off by a lock
    /// or a later rename. `creating`: the mode to make the file with where it is missing;
    /// nil, and a missing file is an error.
    public static func rewrite(_ path: String, _ contents: [UInt8], creating mode: mode_t? = nil) throws(SystemError) {
        let flags = O_WRONLY | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | (mode == nil ? 0 : O_CREAT)
        let fd = try syscallRetrying("open", path: path) { open(path, flags, mode ?? 0) }
        defer { close(fd) }
        try writeAll(fd, contents, path: path)
    }

    /// Makes a new file with `contents`; fails with EEXIST if `path` exists. Not atomic: for a
    /// file in a directory nobody reads yet, where a temporary file and a rename (writeAtomically)
    /// would only cost time.
    public static func createFile(_ path: String, _ contents: [UInt8], mode: mode_t = 0o644) throws(SystemError) {
        let fd = try syscallRetrying("open", path: path) { open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode) }
        defer { close(fd) }
        try writeAll(fd, contents, path: path)
    }

    /// write(2) until all of `contents` is written; `path` names the file in errors.
    static func writeAll(_ fd: Int32, _ contents: [UInt8], path: String) throws(SystemError) {
        var off = 0
        while off < contents.count {
            let n = try syscallRetrying("write", path: path) { contents.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) } }
            if n == 0 { throw SystemError("write", path: path, errno: EIO) }
            off += n
        }
    }

    /// Creates a file with `contents` atomically: a temporary file in the same directory is
    /// written and renamed over `path`, so readers see the old or the new content, never part.
    /// `durable` also fsyncs before the rename, for data that must survive a power cut; status
    /// files that are rewritten many times a second do not need it.
    public static func writeAtomically(_ path: String, _ contents: [UInt8], mode: mode_t = 0o644, durable: Bool = true) throws(SystemError) {
        let tmp = path + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = try syscallRetrying("open", path: tmp) { open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) }
        var ok = false
        defer {
            close(fd)
            if !ok { unlink(tmp) }
        }
        try writeAll(fd, contents, path: tmp)
        if durable { try syscallRetrying("fsync", path: tmp) { fsync(fd) } }
        try syscallRetrying("rename", path: path) { rename(tmp, path) }
        ok = true
    }

    /// fsync(2) of the directory `path`: entries renamed or made in it are on disk.
    public static func syncDirectory(_ path: String) throws(SystemError) {
        let fd = try syscallRetrying("open", path: path) { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { close(fd) }
        try syscallRetrying("fsync", path: path) { fsync(fd) }
    }

    /// mkdir -p with the given mode for each created component.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws(SystemError) {
        if path.isEmpty || path == "/" { return }
        var st = stat()
        if stat(path, &st) == 0 {
            if (st.st_mode & S_IFMT) == S_IFDIR { return }
            throw SystemError("mkdir", path: path, errno: ENOTDIR)
        }
        let parent = (path as NSString).deletingLastPathComponent
        if parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
    }

    /// The directory part of a path ("/a/b" -> "/a", "/a" -> "/", "a" -> ".").
    public static func parent(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return i == path.startIndex ? "/" : String(path[..<i])
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Removes a directory tree without following symlinks and without crossing into other
    /// mounts: a mount point found inside makes it fail (EBUSY) rather than delete what is
    /// mounted there.
    public static func removeTree(_ path: String) throws(SystemError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return }
            throw SystemError("lstat", path: path)
        }
        if (st.st_mode & S_IFMT) != S_IFDIR {
            try syscallRetrying("unlink", path: path) { unlink(path) }
            return
        }
        let dfd = try syscallRetrying("open", path: path) { open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
        try removeContents(dirfd: dfd, path: path, device: st.st_dev)
        close(dfd)
        try unlessGone("rmdir", path: path) { rmdir(path) }
    }

    /// Runs a removal (retried on EINTR); another process removing the same entry meanwhile (a
    /// task's monitor its socket as it leaves) did what it was to do. Whether it was there.
    @discardableResult
    private static func unlessGone(_ operation: String, path: String, _ body: () -> Int32) throws(SystemError) -> Bool {
        while body() < 0 {
            if errno == ENOENT { return false }
            if errno != EINTR { throw SystemError(operation, path: path) }
        }
        return true
    }

    private static func removeContents(dirfd: Int32, path: String, device: dev_t) throws(SystemError) {
        guard let dir = fdopendir(dup(dirfd)) else { throw SystemError("fdopendir", path: path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        for name in names {
            var st = stat()
            if fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                if errno == ENOENT { continue }
                throw SystemError("fstatat", path: path + "/" + name)
            }
            if (st.st_mode & S_IFMT) == S_IFDIR {
                if st.st_dev != device { throw SystemError("remove", path: path + "/" + name, errno: EBUSY) }
                var child: Int32 = -1
                guard try unlessGone("openat", path: path + "/" + name, {
                    child = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                    return child
                }) else { continue }
                do { try removeContents(dirfd: child, path: path + "/" + name, device: device) } catch {
                    close(child)
                    throw error
                }
                close(child)
                try unlessGone("unlinkat", path: path + "/" + name) { unlinkat(dirfd, name, AT_REMOVEDIR) }
            } else {
                try unlessGone("unlinkat", path: path + "/" + name) { unlinkat(dirfd, name, 0) }
            }
        }
    }

    /// Makes sure fds 0, 1 and 2 are open (to /dev/null if not), so that no pipe or file we open
    /// later lands on them and is mistaken for standard I/O in a child.
    public static func ensureStandardDescriptors() {
        for fd: Int32 in 0...2 where fcntl(fd, F_GETFD) == -1 {
            let n = open("/dev/null", O_RDWR)
            if n >= 0 && n != fd { dup2(n, fd); close(n) }
        }
    }
}
