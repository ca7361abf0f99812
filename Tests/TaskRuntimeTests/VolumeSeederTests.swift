#if canImport(Glibc)
import Glibc
#endif
import CShim
import ECSModel
import Foundation
import LinuxSupport
import TaskRuntime
import TestSupport
import Testing


/// Seeding a volume from layers, on real files: whiteouts and opaque directories need root
/// (character devices, trusted.* xattrs).
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct VolumeSeederTests {
    @Test func mergedViewOfTheLayers() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let l0 = dir.path + "/l0", l1 = dir.path + "/l1", l2 = dir.path + "/l2", dst = dir.path + "/volume"
        try put(l0 + "/data/keep.txt", Array("keep".utf8))
        try put(l0 + "/data/gone.txt", Array("gone".utf8))
        try put(l0 + "/data/old/inner.txt", Array("hidden by opaque".utf8))
        try put(l0 + "/data/was-file", Array("replaced by a dir".utf8))
        try put(l1 + "/data/new.txt", Array("new".utf8))
        try FileSystem.makeDirectories(l1 + "/data/old")
        #expect(setxattr(l1 + "/data/old", "trusted.overlay.opaque", "y", 1, 0) == 0)
        try put(l1 + "/data/old/fresh.txt", Array("fresh".utf8))
        #expect(mknod(l1 + "/data/gone.txt", S_IFCHR, 0) == 0)
        try put(l1 + "/data/was-file/now-dir.txt", Array("x".utf8))
        #expect(symlink("/etc/shadow", l1 + "/data/escape") == 0)
        #expect(mkfifo(l1 + "/data/fifo", 0o644) == 0)
        try put(l2 + "/other/unrelated", Array("y".utf8))
        #expect(chmod(l1 + "/data", 0o750) == 0)
        #expect(chown(l1 + "/data/new.txt", 33, 33) == 0)
        #expect(chmod(l1 + "/data/new.txt", 0o4755) == 0)
        try FileSystem.makeDirectories(dst)

        try VolumeSeeder.seed(from: [l0, l1, l2], path: "/data", into: dst)

        func read(_ p: String) -> String? { FileManager.default.contents(atPath: dst + p).map { String(decoding: $0, as: UTF8.self) } }
        #expect(read("/keep.txt") == "keep")
        #expect(read("/new.txt") == "new")
        #expect(!FileSystem.exists(dst + "/gone.txt"), "whiteout removes")
        #expect(read("/old/fresh.txt") == "fresh")
        #expect(!FileSystem.exists(dst + "/old/inner.txt"), "opaque directory hides the lower layer")
        #expect(read("/was-file/now-dir.txt") == "x")
        #expect(!FileSystem.exists(dst + "/fifo"), "no special files")
        var st = stat()
        #expect(lstat(dst + "/escape", &st) == 0 && (st.st_mode & S_IFMT) == S_IFLNK, "symlinks are copied, never followed")
        #expect(stat(dst, &st) == 0 && st.st_mode & 0o7777 == 0o750, "the top layer's mode")
        #expect(stat(dst + "/new.txt", &st) == 0 && st.st_uid == 33 && st.st_mode & 0o7777 == 0o4755, "owner and mode, setuid kept")
    }

    @Test func aWhiteoutOfTheMountPathEmptiesIt() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let l0 = dir.path + "/l0", l1 = dir.path + "/l1", dst = dir.path + "/volume"
        try put(l0 + "/var/lib/db/file", Array("old".utf8))
        try FileSystem.makeDirectories(l1 + "/var")
        #expect(mknod(l1 + "/var/lib", S_IFCHR, 0) == 0)
        try FileSystem.makeDirectories(dst)
        try VolumeSeeder.seed(from: [l0, l1], path: "/var/lib/db", into: dst)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dst).isEmpty)
    }
}

/// Writes a file, making its parent directories.
func put(_ path: String, _ bytes: [UInt8]) throws {
    try FileSystem.makeDirectories(FileSystem.parent(of: path))
    try writeFile(path, bytes)
}
