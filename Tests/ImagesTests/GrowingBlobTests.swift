#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Images
import LinuxSupport
import Synchronization
import TestSupport
import Testing

/// A layer unpacked while its blob is still being written, as a download feeds it.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct GrowingBlobTests {
    final class Progress: Sendable {
        let writerDone = Atomic(false)
        let readBeforeDone = Atomic<Int64>(0)
    }

    /// A gzip layer with one 3 MiB file of incompressible bytes, and its diffID.
    static func layer(in dir: String) throws -> (gz: [UInt8], diffID: Digest, content: [UInt8]) {
        var content = [UInt8](repeating: 0, count: 3 << 20)
        var x: UInt64 = 0x9E37_79B9_7F4A_7C15
        for i in content.indices {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17
            content[i] = UInt8(truncatingIfNeeded: x)
        }
        var t = TarWriter()
        t.add("data/", kind: .directory, mode: 0o755)
        t.add("data/blob", content: content, mode: 0o644)
        let tar = t.finished()
        try writeFile(dir + "/layer.tar", Data(tar))
        let r = try run("/bin/gzip", ["-k", "-1", dir + "/layer.tar"])
        #expect(r.status == 0, "\(r.stderr)")
        return (Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/layer.tar.gz"))), Digest.of(tar), content)
    }

    /// Writes `bytes` into `path` in 64 KiB steps, telling `blob` after each, then finishes or
    /// fails after `failAfter` bytes.
    static func feed(_ blob: GrowingBlob, path: String, _ bytes: [UInt8], failAfter: Int? = nil, done: Progress) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        precondition(fd >= 0)
        defer { close(fd) }
        try! blob.begin(path: path)
        var off = 0
        while off < bytes.count {
            if let failAfter, off >= failAfter {
                blob.fail(.unsupported(what: "layer test", detail: "download broken: connection reset by peer"))
                done.writerDone.store(true, ordering: .sequentiallyConsistent)
                return
            }
            let n = min(64 << 10, bytes.count - off)
            _ = bytes[off..<(off + n)].withUnsafeBytes { write(fd, $0.baseAddress!, n) }
            off += n
            blob.advance(to: Int64(off))
            usleep(3_000)
        }
        done.writerDone.store(true, ordering: .sequentiallyConsistent)
        blob.finish()
    }

    @Test func aLayerIsUnpackedWhileItArrivesAndVerified() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (gz, diffID, content) = try Self.layer(in: dir.path)
        try FileSystem.makeDirectories(dir.path + "/snap")
        let blob = GrowingBlob()
        let done = Progress()
        let path = dir.path + "/incoming"
        let writer = Thread { Self.feed(blob, path: path, gz, done: done) }
        writer.start()
        let stats = try LayerUnpacker.unpack(fd: try blob.waitForDescriptor(), diffID: diffID, into: dir.path + "/snap", name: "test",
                                             waitForMore: blob.waitForMore) { read in
            if !done.writerDone.load(ordering: .sequentiallyConsistent) { done.readBeforeDone.store(read, ordering: .sequentiallyConsistent) }
        }
        #expect(stats.diffID == diffID)
        #expect(stats.entries == 2)
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/snap/data/blob"))) == content)
        #expect(done.readBeforeDone.load(ordering: .sequentiallyConsistent) > 0, "the unpacker read before the blob was complete")
    }

    @Test func aBrokenDownloadFailsTheUnpackWithItsCause() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let (gz, diffID, _) = try Self.layer(in: dir.path)
        try FileSystem.makeDirectories(dir.path + "/snap")
        let blob = GrowingBlob()
        let done = Progress()
        let path = dir.path + "/incoming"
        let writer = Thread { Self.feed(blob, path: path, gz, failAfter: gz.count / 2, done: done) }
        writer.start()
        #expect { _ = try LayerUnpacker.unpack(fd: try blob.waitForDescriptor(), diffID: diffID, into: dir.path + "/snap", name: "test",
                                               waitForMore: blob.waitForMore) } throws: { "\($0)".contains("connection reset by peer") }
        #expect(blob.abandoned)
    }

    @Test func aDownloadFailingBeforeItsFileExistsFailsTheReader() {
        let blob = GrowingBlob()
        blob.fail(.unsupported(what: "layer test", detail: "cannot reach registry"))
        #expect { _ = try blob.waitForDescriptor() } throws: { "\($0)".contains("cannot reach registry") }
        #expect { try blob.waitUntilFinished() } throws: { "\($0)".contains("cannot reach registry") }
    }
}
