#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport

/// Fills a new task volume with what the image has at the mount path, as Fargate does when the
/// image declares that path with VOLUME: the merged view of the layers (bottom first, overlay
/// whiteouts and opaque directories honoured), with owners and modes, so a volume at
/// /var/lib/postgresql/data belongs to postgres as in the image.
///
/// It runs before any container of the task starts, so nothing else writes the destination;
/// still, nothing is ever followed: entries are lstat'ed and every directory descended into is
/// one this code made or checked to be a real directory. Device nodes, sockets and fifos are
/// not copied.
public enum VolumeSeeder {
    /// - Parameters:
    ///   - layers: snapshot directories, bottom first.
    ///   - path: absolute path in the image.
    ///   - destination: the (empty) volume directory.
    public static func seed(from layers: [String], path: String, into destination: String) throws(SystemError) {
        let components = path.split(separator: "/").map(String.init)
        for layer in layers {
            var hidden = false
            var prefix = layer
            var reached = false
            for (i, c) in components.enumerated() {
                prefix += "/" + c
                var st = stat()
                if lstat(prefix, &st) != 0 { break }
                // A whiteout, a file or a symlink here hides what lower layers had at `path`.
                if isWhiteout(st) || (st.st_mode & S_IFMT) != S_IFDIR {
                    hidden = true
                    break
                }
                if isOpaque(prefix) { hidden = true }
                if i == components.count - 1 { reached = true }
            }
            if hidden { try clear(destination) }
            if reached { try merge(from: prefix, into: destination) }
        }
    }

    static func isWhiteout(_ st: stat) -> Bool {
        (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0
    }

    static func isOpaque(_ path: String) -> Bool {
        var v: [UInt8] = [0, 0]
        return lgetxattr(path, "trusted.overlay.opaque", &v, 2) == 1 && v[0] == UInt8(ascii: "y")
    }

    /// Empties a directory (keeps the directory itself).
    static func clear(_ dir: String) throws(SystemError) {
        for name in try names(dir) { try FileSystem.removeTree(dir + "/" + name) }
    }

    static func names(_ dir: String) throws(SystemError) -> [String] {
        guard let d = opendir(dir) else { throw SystemError("opendir", path: dir) }
        defer { closedir(d) }
        var out: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Copies the layer directory `src` over `dst` (a real directory), entry by entry.
    static func merge(from src: String, into dst: String) throws(SystemError) {
        var sst = stat()
        guard lstat(src, &sst) == 0 else { throw SystemError("lstat", path: src) }
        try syscallRetrying("lchown", path: dst) { lchown(dst, sst.st_uid, sst.st_gid) }
        try syscallRetrying("chmod", path: dst) { chmod(dst, sst.st_mode & 0o7777) }
        for name in try names(src) {
            let s = src + "/" + name, d = dst + "/" + name
            var st = stat()
            guard lstat(s, &st) == 0 else { throw SystemError("lstat", path: s) }
            if isWhiteout(st) {
                try FileSystem.removeTree(d)
                continue
            }
            var dt = stat()
            let exists = lstat(d, &dt) == 0
            switch st.st_mode & S_IFMT {
            case S_IFDIR:
                if exists && (dt.st_mode & S_IFMT) != S_IFDIR { try FileSystem.removeTree(d) }
                if !exists || (dt.st_mode & S_IFMT) != S_IFDIR {
                    try syscallRetrying("mkdir", path: d) { mkdir(d, 0o700) }
                } else if isOpaque(s) {
                    try clear(d)
                }
                try merge(from: s, into: d)
            case S_IFREG:
                if exists { try FileSystem.removeTree(d) }
                try copyFile(s, d, st)
            case S_IFLNK:
                if exists { try FileSystem.removeTree(d) }
                var buf = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(s, &buf, buf.count - 1)
                guard n >= 0 else { throw SystemError("readlink", path: s) }
                let target = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                try syscallRetrying("symlink", path: d) { symlink(target, d) }
                try syscallRetrying("lchown", path: d) { lchown(d, st.st_uid, st.st_gid) }
            default:
                // Devices, sockets and fifos: nothing a volume needs, and devices are not ours to make.
                if exists { try FileSystem.removeTree(d) }
            }
        }
    }

    static func copyFile(_ src: String, _ dst: String, _ st: stat) throws(SystemError) {
        let from = try syscallRetrying("open", path: src) { open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        defer { close(from) }
        let to = try syscallRetrying("open", path: dst) { open(dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600) }
        defer { close(to) }
        var buf = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = try syscallRetrying("read", path: src) { buf.withUnsafeMutableBytes { read(from, $0.baseAddress, $0.count) } }
            if n == 0 { break }
            var off = 0
            while off < n {
                let w = try syscallRetrying("write", path: dst) { buf.withUnsafeBytes { write(to, $0.baseAddress! + off, n - off) } }
                off += w
            }
        }
        // Owner before mode: chown clears the setuid and setgid bits.
        try syscallRetrying("fchown", path: dst) { fchown(to, st.st_uid, st.st_gid) }
        try syscallRetrying("fchmod", path: dst) { fchmod(to, st.st_mode & 0o7777) }
    }
}
