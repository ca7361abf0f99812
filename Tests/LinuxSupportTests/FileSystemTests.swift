#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Synchronization
import TestSupport
import Testing

struct FileSystemTests {
    @Test func systemErrorNamesOperationPathAndErrno() {
        let e = SystemError("mkdir", path: "/x/y", errno: ENOENT)
        #expect(e.description == "mkdir /x/y: No such file or directory (errno 2)")
    }

    @Test func readAndWriteRoundTrip() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = dir.path + "/f"
        try FileSystem.writeAtomically(p, Array("abc".utf8))
        #expect(try FileSystem.readString(p) == "abc")
        try FileSystem.writeString(p, "de")
        #expect(try FileSystem.readString(p) == "dec", "write(2) into an existing file does not truncate")
    }

    @Test func createFileMakesOnlyNewFilesAndFollowsNoLink() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = dir.path + "/f"
        try FileSystem.createFile(p, Array("one".utf8), mode: 0o600)
        #expect(try FileSystem.readString(p) == "one")
        var st = stat()
        #expect(stat(p, &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(throws: SystemError("open", path: p, errno: EEXIST)) { try FileSystem.createFile(p, [1]) }
        #expect(try FileSystem.readString(p) == "one", "an existing file is left as it was")
        #expect(symlink(dir.path + "/target", dir.path + "/link") == 0)
        #expect(throws: SystemError("open", path: dir.path + "/link", errno: EEXIST)) { try FileSystem.createFile(dir.path + "/link", [1]) }
        #expect(!FileSystem.exists(dir.path + "/target"), "a symlink's target is never made")
    }

    @Test func rewriteKeepsTheInodeAndCreatesOnlyWhenAsked() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let p = dir.path + "/f"
        #expect(throws: SystemError("open", path: p, errno: ENOENT)) { try FileSystem.rewrite(p, [1]) }
        try FileSystem.rewrite(p, Array("longer text".utf8), creating: 0o600)
        var first = stat(), second = stat()
        #expect(stat(p, &first) == 0 && first.st_mode & 0o777 == 0o600)
        try FileSystem.rewrite(p, Array("short".utf8), creating: 0o644)
        #expect(stat(p, &second) == 0 && second.st_ino == first.st_ino, "the same file, not a new one")
        #expect(try FileSystem.readString(p) == "short", "truncated: nothing of the longer content is left")
    }

    @Test func readingAMissingFileThrowsWithThePath() {
        #expect(throws: SystemError("open", path: "/nonexistent/file", errno: ENOENT)) {
            try FileSystem.readString("/nonexistent/file")
        }
    }

    @Test func makeDirectoriesAndRemoveTree() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try FileSystem.makeDirectories(dir.path + "/a/b/c")
        try FileSystem.writeAtomically(dir.path + "/a/b/c/file", [1, 2, 3])
        #expect(symlink("/etc", dir.path + "/a/link") == 0)
        try FileSystem.removeTree(dir.path + "/a")
        #expect(!FileSystem.exists(dir.path + "/a"))
        #expect(FileSystem.exists("/etc/passwd"), "symlinks are removed, never followed")
    }

    /// What another process removes meanwhile (a task's monitor its socket as it leaves) is
    /// not an error: two removals of one tree at once both succeed. (Each round's two threads
    /// start together; the rounds make an overlap of their walks all but certain.)
    @Test func twoRemovalsOfOneTreeAtOnceBothSucceed() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        for round in 0..<10 {
            let tree = dir.path + "/t\(round)"
            for d in 0..<8 {
                try FileSystem.makeDirectories(tree + "/d\(d)/e")
                for f in 0..<40 { try FileSystem.createFile(tree + "/d\(d)/e/f\(f)", []) }
            }
            final class Removals: Sendable {
                let failures = Mutex<[String]>([])
                let finished = Mutex(0)
                let ready = Mutex(0)
            }
            let r = Removals()
            for _ in 0..<2 {
                Thread.detachNewThread {
                    // Both ready before either starts.
                    r.ready.withLock { $0 += 1 }
                    while r.ready.withLock({ $0 }) < 2 {}
                    do { try FileSystem.removeTree(tree) } catch { r.failures.withLock { $0.append("\(error)") } }
                    r.finished.withLock { $0 += 1 }
                }
            }
            #expect(eventually(timeout: 60) { r.finished.withLock { $0 } == 2 })
            #expect(r.failures.withLock { $0 }.isEmpty, "round \(round): \(r.failures.withLock { $0 })")
            #expect(!FileSystem.exists(tree))
        }
    }

    @Test func parentOfPaths() {
        #expect(FileSystem.parent(of: "/a/b") == "/a")
        #expect(FileSystem.parent(of: "/a") == "/")
        #expect(FileSystem.parent(of: "a") == ".")
    }
}
