#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Images
import LinuxSupport
import TestSupport
import Testing

/// Prepares the busybox image from real files; unpacking sets ownership and device nodes, so
/// it needs root.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct ImageStoreTests {
    @Test func ociLayoutAndDockerArchiveShareOneSnapshot() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let images = try TestImages.busybox()
        let store = try ImageStore(root: dir.path)
        let a = try await store.prepare("oci:\(images)/oci:latest")
        let b = try await store.prepare("docker-archive:\(images)/busybox.tar")
        #expect(a.layers == b.layers, "the same diffID is unpacked once and shared")
        #expect(a.config.config?.Cmd == ["sh"])
        #expect(a.config.config?.Env?.first?.hasPrefix("PATH=") == true)
        let digests = try String(contentsOfFile: images + "/digests", encoding: .utf8)
        #expect(digests.contains("manifest \(a.manifestDigest)"))
        // The unpacked rootfs is the busybox tree, owned by root, with the applet links.
        var st = stat()
        #expect(lstat(a.layers[0] + "/bin/busybox", &st) == 0)
        #expect(st.st_uid == 0 && st.st_mode & 0o777 == 0o755)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: a.layers[0] + "/bin/sh") == "../bin/busybox")
        #expect(st.st_mtim.tv_sec == 0, "mtimes come from the layer")
        #expect(store.records().map(\.reference).sorted() == ["docker-archive:\(images)/busybox.tar", "oci:\(images)/oci:latest"])
        // No scratch directory of the docker archive is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/images/ingest").isEmpty)
    }

    /// A use that changes nothing but the time touches the record; a change writes a new one.
    @Test func aRecordIsTouchedByAUseAndRewrittenByAChange() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let images = try TestImages.busybox()
        let store = try ImageStore(root: dir.path)
        let ref = "oci:\(images)/oci:latest"
        _ = try await store.prepare(ref)
        let path = try #require(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/images/records").first
            .map { dir.path + "/images/records/" + $0 })
        var before = stat()
        #expect(stat(path, &before) == 0)
        // An hour ago, as if it were: the next use must bring it to now.
        var old = [timespec(tv_sec: before.st_mtim.tv_sec - 3600, tv_nsec: 0), timespec(tv_sec: before.st_mtim.tv_sec - 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &old, 0) == 0)
        let stale = try #require(store.records().first).lastUsed
        _ = try await store.prepare(ref)
        var after = stat()
        #expect(stat(path, &after) == 0)
        #expect(after.st_ino == before.st_ino, "same content: the file is touched, not replaced")
        let used = try #require(store.records().first)
        #expect(used.lastUsed.timeIntervalSince(stale) > 3000, "lastUsed is the use, not the first write")
        #expect(used.reference == ref && used.platform == Platform.host.description)
        // What the file says changed (an older record format with lastUsed in it, say): a new file.
        try FileSystem.rewrite(path, Array("{\"reference\": \"old\"}".utf8))
        _ = try await store.prepare(ref)
        var rewritten = stat()
        #expect(stat(path, &rewritten) == 0)
        #expect(rewritten.st_ino != before.st_ino)
        #expect(store.records().map(\.reference) == [ref])
    }

    @Test func whatNeedsARegistry() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let images = try TestImages.busybox()
        let store = try ImageStore(root: dir.path)
        #expect(!store.needsRegistry("oci:\(images)/oci:latest"), "a local layout never does")
        #expect(!store.needsRegistry("docker-archive:\(images)/busybox.tar"))
        #expect(store.needsRegistry("127.0.0.1:5000/app:1", pull: .always), "Fargate's policy asks every time")
        #expect(!store.needsRegistry("127.0.0.1:5000/app:1", pull: .never))
        #expect(store.needsRegistry("127.0.0.1:5000/app:1", pull: .missing), "nothing here yet")
        #expect(!store.needsRegistry("::not a reference::"), "left to prepare to report")
    }

    @Test func unknownTagListsTheTags() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ImageStore(root: dir.path)
        await #expect {
            try await store.prepare("oci:\(try TestImages.busybox())/oci:nope")
        } throws: { e in
            "\(e)".contains("no tag \"nope\"") && "\(e)".contains("tags: latest")
        }
        await #expect(throws: ImageError.self) { try await store.prepare("oci:/nonexistent/dir:latest") }
        await #expect(throws: ImageError.self) { try await store.prepare("docker-archive:/nonexistent.tar") }
    }

    @Test func aCorruptedLayerIsRefusedAndLeavesNoSnapshot() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let copy = dir.path + "/oci"
        #expect(try run("/bin/cp", ["-a", try TestImages.busybox() + "/oci", copy]).status == 0)
        let digests = try String(contentsOfFile: try TestImages.busybox() + "/digests", encoding: .utf8)
        let layerHex = digests.split(separator: "\n").first { $0.hasPrefix("layer ") }!.split(separator: ":").last!
        let blob = copy + "/blobs/sha256/" + layerHex
        // Flip one byte in the middle of the gzip stream.
        var data = try Data(contentsOf: URL(fileURLWithPath: blob))
        data[data.count / 2] ^= 0xff
        try writeFile(blob, data)
        let store = try ImageStore(root: dir.path + "/root")
        await #expect(throws: ImageError.self) { try await store.prepare("oci:\(copy):latest") }
        let left = try FileManager.default.contentsOfDirectory(atPath: store.snapshotRoot)
        #expect(left.isEmpty, "neither a snapshot nor a temporary directory remains: \(left)")
    }

    @Test func wrongPlatformIsNamed() async throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let store = try ImageStore(root: dir.path)
        await #expect {
            try await store.prepare("oci:\(try TestImages.busybox())/oci:latest", platform: Platform(architecture: "riscv64"))
        } throws: { e in
            "\(e)".contains("linux/riscv64") && "\(e)".contains("linux/amd64")
        }
    }
}
