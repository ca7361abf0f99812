#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Synchronization

/// Where container output goes besides the per-container log files.
public protocol LogSink: Sendable {
    /// One complete line (without its newline) from `container`'s stdout or stderr.
    func line(container: String, stream: LogStream, text: String)
}

public enum LogStream: String, Sendable { case stdout, stderr }

/// Reads every container's stdout and stderr pipes on one thread (poll), splits them into
/// lines, writes each line to the container's log file and hands it to the sink.
public final class LogPump: Sendable {
    struct Source {
        var fd: Int32
        var container: String
        var stream: LogStream
        var file: Int32
        /// A CloudWatch-like stream file (awslogs), each line with its time; -1 if none.
        var events: Int32
        var pending: [UInt8]
    }

    private let state = Mutex<(sources: [Source], wake: [Int32], done: Bool, finished: [String: Int])>(([], [-1, -1], false, [:]))
    private let sink: any LogSink
    private let drained = Mutex<[CheckedContinuation<Void, Never>]>([])
    /// A line longer than this is cut into pieces, so a container printing without newlines
    /// cannot make us buffer without bound.
    static let maxLine = 16 * 1024

    public init(sink: any LogSink) throws {
        self.sink = sink
        var p: [Int32] = [-1, -1]
        guard pipe(&p) == 0 else { throw SystemError("pipe") }
        _ = fcntl(p[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(p[0], F_SETFL, O_NONBLOCK)
        state.withLock { $0.wake = p }
        Thread.detachNewThread { [self] in self.loop() }
    }

    /// Starts reading `fd` (a pipe's read end, now owned by the pump) for `container`.
    /// Lines are appended to `logFile`, and to `eventsFile` prefixed with their time.
    public func add(fd: Int32, container: String, stream: LogStream, logFile: String, eventsFile: String? = nil) throws {
        let file = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard file >= 0 else { throw SystemError("open", path: logFile) }
        var events: Int32 = -1
        if let eventsFile {
            events = open(eventsFile, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o640)
            guard events >= 0 else {
                let e = SystemError("open", path: eventsFile)
                Glibc.close(file)
                throw e
            }
        }
        let wake = state.withLock { s -> Int32 in
            s.sources.append(Source(fd: fd, container: container, stream: stream, file: file, events: events, pending: []))
            return s.wake[1]
        }
        var b: UInt8 = 1
        _ = write(wake, &b, 1)
    }

    /// Waits until every pipe added so far has reached end of file (all writers gone).
    public func drain() async {
        await withCheckedContinuation { c in
            let empty = state.withLock { $0.sources.isEmpty }
            if empty { c.resume(); return }
            drained.withLock { $0.append(c) }
            let wake = state.withLock { $0.wake[1] }
            var b: UInt8 = 1
            _ = write(wake, &b, 1)
        }
    }

    /// Stops the thread; pipes still open are read to their end first.
    public func close() async {
        await drain()
        let fds = state.withLock { s -> [Int32] in
            s.done = true
            return s.wake
        }
        var b: UInt8 = 1
        _ = write(fds[1], &b, 1)
    }

    private func loop() {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let (sources, wake, done) = state.withLock { ($0.sources, $0.wake, $0.done) }
            if sources.isEmpty {
                let waiters = drained.withLock { w -> [CheckedContinuation<Void, Never>] in defer { w = [] }; return w }
                for w in waiters { w.resume() }
                if done {
                    Glibc.close(wake[0])
                    Glibc.close(wake[1])
                    return
                }
            }
            var pfds = [pollfd(fd: wake[0], events: Int16(POLLIN), revents: 0)]
            pfds += sources.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            let r = poll(&pfds, nfds_t(pfds.count), -1)
            if r < 0 { if errno == EINTR { continue }; return }
            if pfds[0].revents != 0 {
                while buf.withUnsafeMutableBytes({ read(wake[0], $0.baseAddress, $0.count) }) > 0 {}
            }
            for (i, p) in pfds.enumerated().dropFirst() where p.revents != 0 {
                let src = sources[i - 1]
                let n = buf.withUnsafeMutableBytes { read(src.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    consume(fd: src.fd, bytes: buf[0..<n])
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    finish(fd: src.fd)
                }
            }
        }
    }

    private func consume(fd: Int32, bytes: ArraySlice<UInt8>) {
        let lines = state.withLock { s -> [(String, LogStream, (Int32, Int32), [UInt8])] in
            guard let i = s.sources.firstIndex(where: { $0.fd == fd }) else { return [] }
            var out: [(String, LogStream, (Int32, Int32), [UInt8])] = []
            s.sources[i].pending.append(contentsOf: bytes)
            var pending = s.sources[i].pending
            while let nl = pending.firstIndex(of: 10) {
                out.append((s.sources[i].container, s.sources[i].stream, (s.sources[i].file, s.sources[i].events), Array(pending[..<nl])))
                pending.removeSubrange(...nl)
            }
            while pending.count > LogPump.maxLine {
                out.append((s.sources[i].container, s.sources[i].stream, (s.sources[i].file, s.sources[i].events), Array(pending.prefix(LogPump.maxLine))))
                pending.removeFirst(LogPump.maxLine)
            }
            s.sources[i].pending = pending
            return out
        }
        for (container, stream, files, line) in lines { emit(container, stream, files, line) }
    }

    private func finish(fd: Int32) {
        let last = state.withLock { s -> (String, LogStream, (Int32, Int32), [UInt8])? in
            guard let i = s.sources.firstIndex(where: { $0.fd == fd }) else { return nil }
            let src = s.sources.remove(at: i)
            return (src.container, src.stream, (src.file, src.events), src.pending)
        }
        guard let (container, stream, files, pending) = last else { return }
        if !pending.isEmpty { emit(container, stream, files, pending) }
        Glibc.close(fd)
        Glibc.close(files.0)
        if files.1 >= 0 { Glibc.close(files.1) }
    }

    private func emit(_ container: String, _ stream: LogStream, _ files: (Int32, Int32), _ line: [UInt8]) {
        var withNewline = line
        withNewline.append(10)
        LogPump.writeAll(files.0, withNewline)
        if files.1 >= 0 {
            // As `aws logs tail` prints an event: its time, then the message.
            LogPump.writeAll(files.1, Array((ECS.Timestamp.format(Date()) + " ").utf8) + withNewline)
        }
        sink.line(container: container, stream: stream, text: String(decoding: line, as: UTF8.self))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n < 0 { if errno == EINTR { continue }; break }
                off += n
            }
        }
    }
}
