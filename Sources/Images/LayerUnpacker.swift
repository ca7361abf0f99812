#if canImport(Glibc)
import Glibc
#endif
import CArchive
import CShim
import Crypto
import LinuxSupport

/// What unpacking one layer did.
public struct UnpackStats: Sendable, Equatable {
    public var entries: Int
    public var bytes: Int64
    public var diffID: Digest
}

/// Unpacks a layer (tar, optionally gzip or zstd compressed) into a directory for use as an
/// overlayfs lower layer.
///
/// libarchive does the reading (decompression, tar formats); writing is ours, because no path,
/// symlink or hardlink in a layer may reach outside the destination: every entry is created
/// relative to a directory fd that was resolved with openat2(RESOLVE_IN_ROOT), and the final
/// component is created with O_NOFOLLOW/AT_SYMLINK_NOFOLLOW, so symlinks in the layer are
/// contained in the snapshot exactly as the kernel contains a chroot. OCI whiteouts become
/// overlayfs whiteouts (a 0/0 character device, or trusted.overlay.opaque=y on a directory).
///
/// The uncompressed stream is hashed while it is read and must equal the layer's diffID: a
/// manifest cannot make us store foreign content under a well-known diffID.
public enum LayerUnpacker {
    /// - Parameters:
    ///   - source: the layer blob (any of tar, tar+gzip, tar+zstd).
    ///   - diffID: the expected digest of the uncompressed tar.
    ///   - destination: an existing, empty directory.
    ///   - name: how errors name the layer.
    ///   - progress: called with the compressed bytes read so far.
    public static func unpack(source: String, diffID: Digest?, into destination: String, name: String,
                              progress: ((Int64) -> Void)? = nil) throws(ImageError) -> UnpackStats {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(SystemError("open", path: source)) }
        defer { close(fd) }
        return try unpack(fd: fd, diffID: diffID, into: destination, name: name, progress: progress)
    }

    /// The same, reading the blob from `fd`.
    /// - Parameter waitForMore: for a blob still being written (see `GrowingBlob`): called with
    ///   the bytes read so far when a read finds no more; true to read again, false at the end.
    public static func unpack(fd: Int32, diffID: Digest?, into destination: String, name: String,
                              waitForMore: ((Int64) throws(ImageError) -> Bool)? = nil,
                              progress: ((Int64) -> Void)? = nil) throws(ImageError) -> UnpackStats {
        let ctx = StreamContext(fd: fd, progress: progress)
        ctx.waitForMore = waitForMore
        // Before anything is written: a missing libarchive leaves nothing behind.
        var loadError = [CChar](repeating: 0, count: 512)
        guard fr_archive_open_library(&loadError, loadError.count) == 0 else {
            throw .unsupported(what: "layer \(name)", detail: String(decoding: loadError.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let writer: SnapshotWriter
        do { writer = try SnapshotWriter(root: destination, layer: name) } catch { throw error }

        // Reader A only decompresses ("raw" format: the whole stream is one entry).
        guard let a = fr_archive_read_new() else { throw .malformed(what: name, detail: "libarchive: out of memory") }
        defer { fr_archive_read_free(a) }
        fr_archive_read_support_filter_all(a)
        fr_archive_read_support_format_raw(a)
        let unmanaged = Unmanaged.passUnretained(ctx).toOpaque()
        guard fr_archive_read_open(a, unmanaged, nil, { _, client, buf in
            let ctx = Unmanaged<StreamContext>.fromOpaque(client!).takeUnretainedValue()
            return ctx.readCompressed(buf!)
        }, nil) == ARCHIVE_OK else { throw archiveError(a, name) }
        var header: OpaquePointer?
        let h = fr_archive_read_next_header(a, &header)
        guard h == ARCHIVE_OK else {
            if h == ARCHIVE_EOF { throw .malformed(what: name, detail: "empty layer stream") }
            throw archiveError(a, name)
        }
        ctx.decompressor = a

        // Reader B parses tar from A's output, hashing it for the diffID.
        guard let b = fr_archive_read_new() else { throw .malformed(what: name, detail: "libarchive: out of memory") }
        defer { fr_archive_read_free(b) }
        fr_archive_read_support_format_tar(b)
        fr_archive_read_support_format_gnutar(b)
        guard fr_archive_read_open(b, unmanaged, nil, { _, client, buf in
            let ctx = Unmanaged<StreamContext>.fromOpaque(client!).takeUnretainedValue()
            return ctx.readTar(buf!)
        }, nil) == ARCHIVE_OK else { throw archiveError(b, name) }

        var entries = 0
        while true {
            var entry: OpaquePointer?
            let r = fr_archive_read_next_header(b, &entry)
            if r == ARCHIVE_EOF { break }
            // ARCHIVE_WARN: libarchive warns, e.g., about unknown pax keys; the entry is usable.
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN, let entry else {
                if let e = ctx.error { throw e }
                throw archiveError(b, name)
            }
            do throws(ImageError) {
                try writer.write(entry: entry, archive: b)
            } catch {
                // A read error inside an entry's data has its cause in the stream (a broken
                // download, a corrupt gzip member): report that.
                throw ctx.error ?? error
            }
            entries += 1
        }
        try writer.finish()
        // The diffID covers the whole uncompressed stream, including padding after the tar's
        // end marker.
        ctx.drain()
        if let e = ctx.error { throw e }
        let actual = Digest(hasher: ctx.tarHasher)
        if let diffID, actual != diffID {
            throw .digestMismatch(what: "layer \(name) (uncompressed)", expected: diffID.description, actual: actual.description)
        }
        return UnpackStats(entries: entries, bytes: ctx.tarBytes, diffID: actual)
    }

    static func archiveError(_ a: OpaquePointer, _ name: String) -> ImageError {
        let msg = fr_archive_error_string(a).map { String(cString: $0) } ?? "unknown libarchive error"
        return .malformed(what: "layer \(name)", detail: msg)
    }
}

/// Feeds reader A from the fd and reader B from reader A, hashing B's input.
final class StreamContext {
    let fd: Int32
    let progress: ((Int64) -> Void)?
    var waitForMore: ((Int64) throws(ImageError) -> Bool)?
    var decompressor: OpaquePointer?
    var compressedBuffer = [UInt8](repeating: 0, count: 256 * 1024)
    var tarBuffer = [UInt8](repeating: 0, count: 256 * 1024)
    var tarHasher = SHA256()
    var tarBytes: Int64 = 0
    var compressedBytes: Int64 = 0
    var error: ImageError?

    init(fd: Int32, progress: ((Int64) -> Void)?) {
        self.fd = fd
        self.progress = progress
    }

    func readCompressed(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        compressedBuffer.withUnsafeMutableBytes { raw in
            out.pointee = UnsafeRawPointer(raw.baseAddress!)
            while true {
                let n = read(fd, raw.baseAddress!, raw.count)
                if n < 0 && errno == EINTR { continue }
                if n == 0, let waitForMore {
                    do throws(ImageError) {
                        if try waitForMore(compressedBytes) { continue }
                    } catch {
                        self.error = error
                        return -1
                    }
                }
                if n > 0 {
                    compressedBytes += Int64(n)
                    progress?(compressedBytes)
                }
                return n
            }
        }
    }

    func readTar(_ out: UnsafeMutablePointer<UnsafeRawPointer?>) -> Int {
        guard let a = decompressor else { return 0 }
        return tarBuffer.withUnsafeMutableBytes { raw in
            out.pointee = UnsafeRawPointer(raw.baseAddress!)
            let n = fr_archive_read_data(a, raw.baseAddress!, raw.count)
            if n < 0 {
                let msg = fr_archive_error_string(a).map { String(cString: $0) } ?? "decompression failed"
                // The first error is the cause (a failed download, say); keep it.
                if error == nil { error = .malformed(what: "layer stream", detail: msg) }
                return -1
            }
            if n > 0 {
                tarHasher.update(bufferPointer: UnsafeRawBufferPointer(start: raw.baseAddress!, count: n))
                tarBytes += Int64(n)
            }
            return n
        }
    }

    func drain() {
        var dummy: UnsafeRawPointer?
        while readTar(&dummy) > 0 {}
    }
}

/// Creates layer entries under one root directory without ever leaving it.
final class SnapshotWriter {
    let rootPath: String
    let layer: String
    let rootfd: Int32
    /// Directory mtimes are set last, after their contents stopped changing them.
    private var directoryTimes: [([UInt8], timespec, timespec)] = []
    private var cachedParent: (path: [UInt8], fd: Int32)?
    private var buffer = [UInt8](repeating: 0, count: 0)

    static let resolve = UInt64(FR_RESOLVE_IN_ROOT | FR_RESOLVE_NO_MAGICLINKS)

    init(root: String, layer: String) throws(ImageError) {
        rootPath = root
        self.layer = layer
        rootfd = open(root, Int32(FR_O_PATH) | O_DIRECTORY | O_CLOEXEC)
        if rootfd < 0 { throw .io(SystemError("open", path: root)) }
    }

    deinit {
        if let c = cachedParent { close(c.fd) }
        close(rootfd)
    }

    func refuse(_ entry: [UInt8], _ reason: String) -> ImageError {
        .unsafeLayerEntry(layer: layer, entry: String(decoding: entry, as: UTF8.self), reason: reason)
    }

    func ioError(_ op: String, _ path: [UInt8]) -> ImageError {
        .io(SystemError(op, path: rootPath + "/" + String(decoding: path, as: UTF8.self)))
    }

    /// Splits an entry name into clean components. "." and empty components vanish; ".." is
    /// refused outright rather than clamped, because a layer that uses it is broken or hostile.
    func components(_ raw: [UInt8]) throws(ImageError) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for c in raw.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            if c.count == 1 && c[c.startIndex] == UInt8(ascii: ".") { continue }
            if c.count == 2 && c.allSatisfy({ $0 == UInt8(ascii: ".") }) { throw refuse(raw, "\"..\" components are not allowed") }
            out.append(Array(c))
        }
        return out
    }

    /// An Int32(FR_O_PATH) fd for directory `comps` inside the root, creating missing directories (0755,
    /// root-owned; the layer's own entry for them, if any, comes later and fixes that).
    func directory(_ comps: ArraySlice<[UInt8]>) throws(ImageError) -> Int32 {
        let path = Array(comps.joined(separator: [UInt8(ascii: "/")]))
        if let c = cachedParent, c.path == path { return c.fd }
        let fd = try openDirectory(path, comps: comps)
        if let c = cachedParent { close(c.fd) }
        cachedParent = (path, fd)
        return fd
    }

    private func openDirectory(_ path: [UInt8], comps: ArraySlice<[UInt8]>) throws(ImageError) -> Int32 {
        if comps.isEmpty { return dup(rootfd) }
        let fd = openat2(path, Int32(FR_O_PATH) | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { return fd }
        let e = errno
        if e == ENOTDIR || e == ELOOP { throw refuse(path, "a parent is not a directory inside the layer") }
        if e == EXDEV { throw refuse(path, "resolves outside the layer") }
        guard e == ENOENT else { throw ioError("openat2", path) }
        // Create the missing parent chain one component at a time.
        let parent = try openDirectory(Array(comps.dropLast().joined(separator: [UInt8(ascii: "/")])), comps: comps.dropLast())
        defer { close(parent) }
        let r = comps.last!.withCString { mkdirat(parent, $0, 0o755) }
        if r != 0 && errno != EEXIST { throw ioError("mkdirat", path) }
        let again = openat2(path, Int32(FR_O_PATH) | O_DIRECTORY | O_CLOEXEC)
        if again < 0 {
            switch errno {
            case ENOTDIR, ELOOP: throw refuse(path, "a parent is not a directory inside the layer")
            case ENOENT: throw refuse(path, "a parent is a symlink whose target is not a directory inside the layer")
            default: throw ioError("openat2", path)
            }
        }
        return again
    }

    func openat2(_ path: [UInt8], _ flags: Int32) -> Int32 {
        path.withCString { fr_openat2(rootfd, $0, flags, 0, SnapshotWriter.resolve) }
    }

    /// Removes whatever is at parent/name (a previous entry of the same name in this layer).
    func removeExisting(_ parent: Int32, _ name: [UInt8], keepDirectory: Bool) throws(ImageError) -> Bool {
        var st = stat()
        let r = name.withCString { fstatat(parent, $0, &st, AT_SYMLINK_NOFOLLOW) }
        if r != 0 { return false }
        let isDir = (st.st_mode & S_IFMT) == S_IFDIR
        if isDir && keepDirectory { return true }
        if isDir {
            // Replacing a directory by a non-directory: remove the subtree (inside the root).
            let sub = name.withCString { openat(parent, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            if sub < 0 { throw ioError("openat", name) }
            close(sub)
            let full = "/proc/self/fd/\(parent)/" + String(decoding: name, as: UTF8.self)
            do { try FileSystem.removeTree(full) } catch { throw .io(error) }
            return false
        }
        if name.withCString({ unlinkat(parent, $0, 0) }) != 0 && errno != ENOENT { throw ioError("unlinkat", name) }
        return false
    }

    func write(entry: OpaquePointer, archive: OpaquePointer) throws(ImageError) {
        guard let cpath = fr_archive_entry_pathname(entry) else { throw .malformed(what: "layer \(layer)", detail: "entry without a name") }
        let raw = Array(UnsafeBufferPointer(start: UnsafeRawPointer(cpath).assumingMemoryBound(to: UInt8.self), count: strlen(cpath)))
        let comps = try components(raw)
        let type = fr_archive_entry_filetype(entry)
        if comps.isEmpty {
            // The layer's root ("./"): take its metadata for the snapshot root.
            if type == AE_IFDIR_VALUE { try applyMetadata(entry, parent: rootfd, name: [], fd: nil, isDir: true, path: []) }
            return
        }
        var name = comps.last!
        let parent = try directory(comps.dropLast())

        // OCI whiteouts.
        let wh = Array(".wh.".utf8)
        if name.starts(with: wh) {
            if name == Array(".wh..wh..opq".utf8) {
                let dirPath = Array(comps.dropLast().joined(separator: [UInt8(ascii: "/")]))
                let dfd = comps.count == 1 ? dup(rootfd) : openat2(dirPath, Int32(FR_O_PATH) | O_DIRECTORY | O_CLOEXEC)
                if dfd < 0 { throw ioError("openat2", dirPath) }
                defer { close(dfd) }
                let r = "/proc/self/fd/\(dfd)".withCString { p in
                    setxattr(p, "trusted.overlay.opaque", "y", 1, 0)
                }
                if r != 0 { throw ioError("setxattr trusted.overlay.opaque", dirPath) }
                return
            }
            name.removeFirst(wh.count)
            if name.isEmpty || name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] {
                throw refuse(raw, "whiteout names nothing")
            }
            _ = try removeExisting(parent, name, keepDirectory: false)
            if name.withCString({ mknodat(parent, $0, S_IFCHR | 0, 0) }) != 0 { throw ioError("mknodat (whiteout)", raw) }
            return
        }

        if let hardlink = fr_archive_entry_hardlink(entry) {
            let traw = Array(UnsafeBufferPointer(start: UnsafeRawPointer(hardlink).assumingMemoryBound(to: UInt8.self), count: strlen(hardlink)))
            let tcomps = try components(traw)
            guard !tcomps.isEmpty else { throw refuse(raw, "hardlink to the layer root") }
            let tpath = Array(tcomps.joined(separator: [UInt8(ascii: "/")]))
            let src = openat2(tpath, Int32(FR_O_PATH) | O_NOFOLLOW | O_CLOEXEC)
            if src < 0 {
                if errno == EXDEV { throw refuse(raw, "hardlink target resolves outside the layer") }
                throw refuse(raw, "hardlink target \"\(String(decoding: traw, as: UTF8.self))\" is not in this layer")
            }
            defer { close(src) }
            var st = stat()
            if fstat(src, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR { throw refuse(raw, "hardlink to a directory") }
            _ = try removeExisting(parent, name, keepDirectory: false)
            let r = name.withCString { linkat(AT_FDCWD, "/proc/self/fd/\(src)", parent, $0, AT_SYMLINK_FOLLOW) }
            if r != 0 { throw ioError("linkat", raw) }
            return
        }

        switch type {
        case AE_IFDIR_VALUE:
            let exists = try removeExisting(parent, name, keepDirectory: true)
            if !exists, name.withCString({ mkdirat(parent, $0, 0o700) }) != 0 { throw ioError("mkdirat", raw) }
            try applyMetadata(entry, parent: parent, name: name, fd: nil, isDir: true, path: Array(comps.joined(separator: [UInt8(ascii: "/")])))
        case AE_IFREG_VALUE:
            _ = try removeExisting(parent, name, keepDirectory: false)
            let fd = name.withCString { openat(parent, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
            if fd < 0 { throw ioError("openat", raw) }
            defer { close(fd) }
            try copyData(archive: archive, to: fd, size: fr_archive_entry_size(entry), name: raw)
            try applyMetadata(entry, parent: parent, name: name, fd: fd, isDir: false, path: raw)
        case AE_IFLNK_VALUE:
            guard let target = fr_archive_entry_symlink(entry) else { throw refuse(raw, "symlink without a target") }
            _ = try removeExisting(parent, name, keepDirectory: false)
            // The target is stored verbatim; it is only ever followed inside the container's
            // root (or by our own lookups, which are confined to this layer).
            if name.withCString({ symlinkat(target, parent, $0) }) != 0 { throw ioError("symlinkat", raw) }
            try applyMetadata(entry, parent: parent, name: name, fd: nil, isDir: false, path: raw, isSymlink: true)
        case AE_IFCHR_VALUE, AE_IFBLK_VALUE, AE_IFIFO_VALUE:
            _ = try removeExisting(parent, name, keepDirectory: false)
            let kind: mode_t = type == AE_IFCHR_VALUE ? S_IFCHR : (type == AE_IFBLK_VALUE ? S_IFBLK : S_IFIFO)
            let dev = dev_t(fr_makedev(UInt32(fr_archive_entry_rdevmajor(entry)), UInt32(fr_archive_entry_rdevminor(entry))))
            if name.withCString({ mknodat(parent, $0, kind | 0o600, dev) }) != 0 { throw ioError("mknodat", raw) }
            try applyMetadata(entry, parent: parent, name: name, fd: nil, isDir: false, path: raw)
        case AE_IFSOCK_VALUE:
            return  // sockets are never meaningful in an image; tar tools skip them too
        default:
            throw refuse(raw, "unknown entry type \(type)")
        }
    }

    private func copyData(archive: OpaquePointer, to fd: Int32, size: Int64, name: [UInt8]) throws(ImageError) {
        var block: UnsafeRawPointer?
        var len = 0
        var offset: Int64 = 0
        var end: Int64 = 0
        while true {
            let r = fr_archive_read_data_block(archive, &block, &len, &offset)
            if r == ARCHIVE_EOF { break }
            guard r == ARCHIVE_OK || r == ARCHIVE_WARN else {
                let msg = fr_archive_error_string(archive).map { String(cString: $0) } ?? "read error"
                throw .malformed(what: "layer \(layer)", detail: "\(String(decoding: name, as: UTF8.self)): \(msg)")
            }
            var done = 0
            while done < len {
                let n = pwrite(fd, block! + done, len - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ioError("write", name)
                }
                done += n
            }
            end = max(end, offset + Int64(len))
        }
        // Sparse files end in a hole that no block covers.
        if end < size && ftruncate(fd, off_t(size)) != 0 { throw ioError("ftruncate", name) }
    }

    private func applyMetadata(_ entry: OpaquePointer, parent: Int32, name: [UInt8], fd: Int32?, isDir: Bool,
                               path: [UInt8], isSymlink: Bool = false) throws(ImageError) {
        let uid = uid_t(truncatingIfNeeded: fr_archive_entry_uid(entry))
        let gid = gid_t(truncatingIfNeeded: fr_archive_entry_gid(entry))
        let mode = mode_t(fr_archive_entry_perm(entry)) & 0o7777
        let target: (Int32, [UInt8]) = name.isEmpty ? (rootfd, []) : (parent, name)
        func at(_ body: (UnsafePointer<CChar>, Int32) -> Int32) -> Int32 {
            if name.isEmpty { return body("", Int32(FR_AT_EMPTY_PATH)) }
            return name.withCString { body($0, 0) }
        }
        // Ownership first: chown clears setuid/setgid bits, so the mode follows it.
        if let fd {
            if fchown(fd, uid, gid) != 0 { throw ioError("fchown", path) }
        } else if at({ fchownat(target.0, $0, uid, gid, AT_SYMLINK_NOFOLLOW | $1) }) != 0 {
            throw ioError("fchownat", path)
        }
        if !isSymlink {
            if let fd {
                if fchmod(fd, mode) != 0 { throw ioError("fchmod", path) }
            } else if name.isEmpty {
                if chmod("/proc/self/fd/\(rootfd)", mode) != 0 { throw ioError("chmod", path) }
            } else if name.withCString({ fchmodat(parent, $0, mode, 0) }) != 0 {
                throw ioError("fchmodat", path)
            }
        }
        try applyXattrs(entry, fd: fd, parent: parent, name: name, path: path)
        var times = [timespec(tv_sec: fr_archive_entry_atime(entry), tv_nsec: fr_archive_entry_atime_nsec(entry)),
                     timespec(tv_sec: fr_archive_entry_mtime(entry), tv_nsec: fr_archive_entry_mtime_nsec(entry))]
        if fr_archive_entry_atime_is_set(entry) == 0 { times[0] = times[1] }
        if isDir {
            directoryTimes.append((path, times[0], times[1]))
            return
        }
        if let fd {
            if futimens(fd, times) != 0 { throw ioError("futimens", path) }
        } else if name.withCString({ utimensat(parent, $0, times, AT_SYMLINK_NOFOLLOW) }) != 0 {
            throw ioError("utimensat", path)
        }
    }

    private func applyXattrs(_ entry: OpaquePointer, fd: Int32?, parent: Int32, name: [UInt8], path: [UInt8]) throws(ImageError) {
        guard fr_archive_entry_xattr_reset(entry) > 0 else { return }
        var xname: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while fr_archive_entry_xattr_next(entry, &xname, &value, &size) == ARCHIVE_OK {
            guard let xname else { continue }
            let key = String(cString: xname)
            // Overlay's own attributes would let a layer forge whiteouts or redirects.
            if key.hasPrefix("trusted.overlay.") || key.hasPrefix("user.overlay.") { continue }
            let r: Int32
            if let fd {
                r = fsetxattr(fd, xname, value, size, 0)
            } else {
                let p = name.isEmpty ? "/proc/self/fd/\(rootfd)" : "/proc/self/fd/\(parent)/" + String(decoding: name, as: UTF8.self)
                r = lsetxattr(p, xname, value, size, 0)
            }
            // Filesystems without a namespace (security.* on some) say so; the file is still right.
            if r != 0 && errno != ENOTSUP && errno != EOPNOTSUPP { throw ioError("setxattr \(key)", path) }
        }
    }

    /// Sets directory times, deepest first so setting a parent's is the last change to it.
    func finish() throws(ImageError) {
        for (path, atime, mtime) in directoryTimes.reversed() {
            let times = [atime, mtime]
            let r: Int32
            if path.isEmpty {
                r = utimensat(rootfd, "", times, Int32(FR_AT_EMPTY_PATH))
            } else {
                let fd = openat2(path, Int32(FR_O_PATH) | O_NOFOLLOW | O_CLOEXEC)
                if fd < 0 { continue }
                r = utimensat(fd, "", times, Int32(FR_AT_EMPTY_PATH))
                close(fd)
            }
            if r != 0 { throw ioError("utimensat", path) }
        }
    }
}

extension Array where Element == UInt8 {
    func withCString<R>(_ body: (UnsafePointer<CChar>) -> R) -> R {
        var copy = self
        copy.append(0)
        return copy.withUnsafeBufferPointer { body(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self)) }
    }
}

// libarchive's AE_IF* are cast macros Swift does not import.
let AE_IFREG_VALUE: UInt32 = 0o100000
let AE_IFLNK_VALUE: UInt32 = 0o120000
let AE_IFSOCK_VALUE: UInt32 = 0o140000
let AE_IFCHR_VALUE: UInt32 = 0o020000
let AE_IFBLK_VALUE: UInt32 = 0o060000
let AE_IFDIR_VALUE: UInt32 = 0o040000
let AE_IFIFO_VALUE: UInt32 = 0o010000
