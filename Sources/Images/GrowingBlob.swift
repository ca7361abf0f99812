#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// A blob being downloaded, read while it grows, so that a layer is unpacked as it arrives
/// instead of after. The reader takes the end of what is there for the end of the blob only
/// once the download has finished; until then it waits. The blob's digest is checked by the
/// download and the uncompressed stream's by the unpacker: the snapshot is renamed into place
/// only when both held.
///
/// The read descriptor is opened by the writer the moment the file exists, so the download
/// may rename the finished file into the content store before the reader has begun.
public final class GrowingBlob: @unchecked Sendable {
    private let condition = NSCondition()
    private var fd: Int32 = -1
    private var available: Int64 = 0
    private var finished = false
    private var failure: ImageError?
    /// The download gave up on this attempt (to retry, or for good).
    public private(set) var abandoned = false

    public init() {}

    deinit { if fd >= 0 { close(fd) } }

    // MARK: The downloader's side

    /// The download has created `path` and will write the blob into it from the start.
    public func begin(path: String) throws(ImageError) {
        let readFd = open(path, O_RDONLY | O_CLOEXEC)
        guard readFd >= 0 else { throw .io(SystemError("open", path: path)) }
        condition.withLock { fd = readFd }
        condition.broadcast()
    }

    /// `bytes` bytes from the start are in the file.
    public func advance(to bytes: Int64) {
        condition.withLock { available = bytes }
        condition.broadcast()
    }

    /// The whole blob is in the file and its digest checked.
    public func finish() {
        condition.withLock { finished = true }
        condition.broadcast()
    }

    /// The download of this file stopped short; the reader fails with `error`.
    public func fail(_ error: ImageError) {
        condition.withLock {
            if !finished && failure == nil { failure = error; abandoned = true }
        }
        condition.broadcast()
    }

    // MARK: The reader's side

    /// Waits for the file to exist; the descriptor stays owned by this object.
    public func waitForDescriptor() throws(ImageError) -> Int32 {
        condition.lock()
        defer { condition.unlock() }
        while fd < 0 && failure == nil { condition.wait() }
        if let failure { throw failure }
        return fd
    }

    /// Waits until the download has finished (its digest checked) or failed.
    public func waitUntilFinished() throws(ImageError) {
        condition.lock()
        defer { condition.unlock() }
        while !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
    }

    /// Called when a read returned the end of what is there after `consumed` bytes: true when
    /// more may come (read again), false at the end of the finished blob.
    public func waitForMore(after consumed: Int64) throws(ImageError) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while available <= consumed && !finished && failure == nil { condition.wait() }
        if let failure { throw failure }
        return available > consumed || !finished
    }
}
