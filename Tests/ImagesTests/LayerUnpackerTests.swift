#if canImport(Glibc)
import Glibc
#endif
import Foundation
import CShim
import Images
import LinuxSupport
import TestSupport
import Testing

/// Hostile and tricky layers, after containerd's archive breakout tests and umoci's unpack
/// tests: each must fail with a clear error or stay inside the snapshot; the canary directory
/// beside the snapshot is never touched.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct LayerUnpackerTests {
    struct Sandbox {
        let dir: TemporaryDirectory
        var snapshot: String { dir.path + "/snap" }
        var canary: String { dir.path + "/canary" }

        init() throws {
            dir = try TemporaryDirectory()
            try FileSystem.makeDirectories(dir.path + "/snap")
            try FileSystem.makeDirectories(dir.path + "/canary")
            try FileSystem.writeAtomically(dir.path + "/canary/secret", Array("keep".utf8))
        }

        func unpack(_ tar: TarWriter) throws -> UnpackStats {
            let path = dir.path + "/layer.tar"
            try writeFile(path, Data(tar.finished()))
            return try LayerUnpacker.unpack(source: path, diffID: nil, into: snapshot, name: "test")
        }

        /// The canary is exactly as created: nothing written, linked, removed or added.
        func canaryIntact() throws -> Bool {
            let names = try FileManager.default.contentsOfDirectory(atPath: canary)
            var st = stat()
            guard lstat(canary + "/secret", &st) == 0 else { return false }
            let content = try String(contentsOfFile: canary + "/secret", encoding: .utf8)
            return names == ["secret"] && st.st_nlink == 1 && content == "keep"
        }
    }

    @Test func regularTreeWithOwnersModesTimesAndDevices() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("./", kind: .directory, mode: 0o755)
        t.add("etc/", kind: .directory, mode: 0o750, uid: 0, gid: 50, mtime: 1000)
        t.add("etc/conf", content: Array("x=1\n".utf8), mode: 0o4755, uid: 1000, gid: 1000, mtime: 2000)
        t.add("etc/link", kind: .symlink, link: "conf")
        t.add("etc/hard", kind: .hardlink, link: "etc/conf")
        t.add("dev/null", kind: .char, mode: 0o666, devMajor: 1, devMinor: 3)
        t.add("fifo", kind: .fifo, mode: 0o600)
        let stats = try s.unpack(t)
        #expect(stats.entries == 7)
        var st = stat()
        #expect(stat(s.snapshot + "/etc/conf", &st) == 0)
        #expect(st.st_uid == 1000 && st.st_gid == 1000)
        #expect(st.st_mode & 0o7777 == 0o4755, "setuid survives because the mode is set after chown")
        #expect(st.st_mtim.tv_sec == 2000)
        #expect(st.st_nlink == 2)
        #expect(stat(s.snapshot + "/etc", &st) == 0 && st.st_mtim.tv_sec == 1000 && st.st_gid == 50 && st.st_mode & 0o777 == 0o750)
        #expect(lstat(s.snapshot + "/dev/null", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == makedevForTest(1, 3))
        #expect(lstat(s.snapshot + "/fifo", &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: s.snapshot + "/etc/link") == "conf")
    }

    @Test func whiteoutsBecomeOverlayWhiteouts() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("app/.wh.old", content: [])
        t.add("data/.wh..wh..opq", content: [])
        _ = try s.unpack(t)
        var st = stat()
        #expect(lstat(s.snapshot + "/app/old", &st) == 0 && (st.st_mode & S_IFMT) == S_IFCHR && st.st_rdev == 0)
        #expect(!FileSystem.exists(s.snapshot + "/app/.wh.old"))
        var v = [UInt8](repeating: 0, count: 4)
        #expect(getxattr(s.snapshot + "/data", "trusted.overlay.opaque", &v, 4) == 1 && v[0] == UInt8(ascii: "y"))
    }

    @Test func dotDotIsRefused() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("../canary/secret", content: Array("pwned".utf8))
        #expect { try s.unpack(t) } throws: { "\($0)".contains("\"..\" components are not allowed") }
        #expect(try s.canaryIntact())
    }

    @Test func absolutePathsStayInside() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add(s.canary + "/secret", content: Array("pwned".utf8))
        _ = try s.unpack(t)
        #expect(try s.canaryIntact())
        #expect(FileSystem.exists(s.snapshot + s.canary + "/secret"), "the absolute name is taken relative to the layer root")
    }

    @Test(arguments: ["absolute", "relative", "chain"])
    func writeThroughASymlinkStaysInside(_ style: String) throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        switch style {
        case "absolute": t.add("evil", kind: .symlink, link: s.canary)
        case "relative": t.add("evil", kind: .symlink, link: "../canary")
        default:
            t.add("a", kind: .symlink, link: "b")
            t.add("b", kind: .symlink, link: "../../../../.." + s.canary)
            t.add("evil", kind: .symlink, link: "a")
        }
        t.add("evil/secret", content: Array("pwned".utf8))
        t.add("evil/new", content: Array("pwned".utf8))
        do { _ = try s.unpack(t) } catch {
            #expect("\(error)".contains("refused"), "\(error)")
        }
        #expect(try s.canaryIntact())
    }

    @Test func hardlinkToOutsideIsRefused() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        for target in [s.canary + "/secret", "../canary/secret"] {
            var t = TarWriter()
            t.add("stolen", kind: .hardlink, link: target)
            #expect(throws: ImageError.self) { try s.unpack(t) }
            #expect(try s.canaryIntact())
        }
    }

    @Test func hardlinkThroughASymlinkIsRefused() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("out", kind: .symlink, link: s.canary)
        t.add("stolen", kind: .hardlink, link: "out/secret")
        #expect(throws: ImageError.self) { try s.unpack(t) }
        #expect(try s.canaryIntact())
    }

    @Test func whiteoutThroughASymlinkStaysInside() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("out", kind: .symlink, link: s.canary)
        t.add("out/.wh.secret", content: [])
        t.add("out/.wh..wh..opq", content: [])
        _ = try? s.unpack(t)
        #expect(try s.canaryIntact())
        var v = [UInt8](repeating: 0, count: 4)
        #expect(getxattr(s.canary, "trusted.overlay.opaque", &v, 4) < 0, "no opaque marker set outside")
    }

    @Test func duplicateEntriesLastOneWins() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("f", content: Array("one".utf8))
        t.add("f", content: Array("two".utf8))
        t.add("d", content: Array("file first".utf8))
        t.add("d/", kind: .directory)
        t.add("d/x", content: Array("x".utf8))
        _ = try s.unpack(t)
        #expect(try String(contentsOfFile: s.snapshot + "/f", encoding: .utf8) == "two")
        #expect(FileSystem.isDirectory(s.snapshot + "/d"))
    }

    @Test func symlinkReplacedByFileIsNotFollowed() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("f", kind: .symlink, link: s.canary + "/secret")
        t.add("f", content: Array("pwned".utf8))
        _ = try s.unpack(t)
        #expect(try s.canaryIntact())
        #expect(try String(contentsOfFile: s.snapshot + "/f", encoding: .utf8) == "pwned")
    }

    @Test func truncatedArchiveFails() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("big", content: [UInt8](repeating: 7, count: 5000))
        let path = s.dir.path + "/layer.tar"
        try writeFile(path, Data(t.finished().prefix(2048)))
        #expect(throws: ImageError.self) { try LayerUnpacker.unpack(source: path, diffID: nil, into: s.snapshot, name: "t") }
    }

    @Test func wrongDiffIDIsRefused() throws {
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add("f", content: Array("x".utf8))
        let path = s.dir.path + "/layer.tar"
        try writeFile(path, Data(t.finished()))
        let wrong = try Digest(parsing: "sha256:" + String(repeating: "0", count: 64))
        #expect { try LayerUnpacker.unpack(source: path, diffID: wrong, into: s.snapshot, name: "t") } throws: {
            "\($0)".contains("digest mismatch")
        }
        let right = Digest.of(t.finished())
        let s2 = try Sandbox()
        defer { s2.dir.remove() }
        #expect(try LayerUnpacker.unpack(source: path, diffID: right, into: s2.snapshot, name: "t").diffID == right)
    }

    @Test func overlayAttributesInALayerAreDropped() throws {
        // A layer cannot forge opaque directories or redirects through xattrs; tested through
        // the public path: a directory named like a whiteout marker is a whiteout, nothing more.
        let s = try Sandbox()
        defer { s.dir.remove() }
        var t = TarWriter()
        t.add(".wh.", content: [])
        #expect(throws: ImageError.self) { try s.unpack(t) }
    }
}

func makedevForTest(_ major: UInt32, _ minor: UInt32) -> UInt {
    UInt((UInt64(major & 0xfffff000) << 32) | (UInt64(major & 0xfff) << 8) | (UInt64(minor & 0xffffff00) << 12) | UInt64(minor & 0xff))
}
