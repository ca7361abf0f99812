#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import LinuxSupport

/// Blobs by digest under `<root>/blobs/sha256/<hex>`. A blob is written to a temporary file,
/// verified against its digest and size while it streams, and renamed into place: a blob that
/// exists is always whole and correct.
public struct ContentStore: Sendable {
    public let root: String

    public init(root: String) throws {
        self.root = root
        for d in [root + "/blobs/sha256", root + "/ingest", root + "/locks"] { try FileSystem.makeDirectories(d, mode: 0o700) }
    }

    public func path(for digest: Digest) -> String { root + "/blobs/sha256/" + digest.hex }

    public func contains(_ digest: Digest) -> Bool { FileSystem.exists(path(for: digest)) }

    /// Reads a (small) blob: manifests, configs, indexes.
    public func read(_ digest: Digest) throws(ImageError) -> [UInt8] {
        do { return Array(try FileSystem.readString(path(for: digest)).utf8) } catch { throw .io(error) }
    }

    /// Stores `bytes` under their digest (no-op when present) and returns the digest.
    @discardableResult
    public func put(_ bytes: [UInt8]) throws(ImageError) -> Digest {
        let d = Digest.of(bytes)
        if contains(d) { return d }
        let w = try BlobWriter(store: self, expected: d, expectedSize: Int64(bytes.count), what: d.description)
        try w.write(bytes[...])
        try w.commit()
        return d
    }

    /// Holds an exclusive lock named after `key` (a digest) so concurrent tasks do one fetch.
    public func lock(_ key: String) throws(ImageError) -> FileLock {
        do { return try FileLock(root + "/locks/" + key) } catch { throw .io(error) }
    }
}

/// Streams one blob into the store, hashing as it goes.
public final class BlobWriter {
    let store: ContentStore
    let expected: Digest?
    let expectedSize: Int64?
    let what: String
    let tmp: String
    private var fd: Int32
    private var hasher = SHA256()
    public private(set) var written: Int64 = 0

    /// - Parameters:
    ///   - expected: the digest the content must have; nil computes it (docker-archive members).
    ///   - what: how errors name this blob (e.g. "layer 2 of busybox:latest").
    public init(store: ContentStore, expected: Digest?, expectedSize: Int64?, what: String) throws(ImageError) {
        self.store = store
        self.expected = expected
        self.expectedSize = expectedSize
        self.what = what
        tmp = store.root + "/ingest/\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let t = tmp
        do { fd = try syscallRetrying("open", path: t) { open(t, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) } } catch { throw .io(error) }
    }

    deinit {
        if fd >= 0 { close(fd); unlink(tmp) }
    }

    public func write(_ bytes: ArraySlice<UInt8>) throws(ImageError) {
        let r = bytes.withUnsafeBytes { raw in Result { () throws(ImageError) in try write(raw) } }
        try r.get()
    }

    public func write(_ raw: UnsafeRawBufferPointer) throws(ImageError) {
        if let expectedSize, written + Int64(raw.count) > expectedSize {
            throw .sizeMismatch(what: what, expected: expectedSize, actual: written + Int64(raw.count))
        }
        hasher.update(bufferPointer: raw)
        var off = 0
        while off < raw.count {
            let n = Glibc.write(fd, raw.baseAddress! + off, raw.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(SystemError("write", path: tmp))
            }
            off += n
        }
        written += Int64(raw.count)
    }

    /// Verifies and renames into place; returns the digest.
    @discardableResult
    public func commit() throws(ImageError) -> Digest {
        let actual = Digest(hasher: hasher)
        if let expectedSize, written != expectedSize { throw .sizeMismatch(what: what, expected: expectedSize, actual: written) }
        if let expected, expected != actual { throw .digestMismatch(what: what, expected: expected.description, actual: actual.description) }
        close(fd)
        fd = -1
        let dest = store.path(for: actual)
        if rename(tmp, dest) != 0 {
            let e = SystemError("rename", path: dest)
            unlink(tmp)
            throw .io(e)
        }
        return actual
    }
}
