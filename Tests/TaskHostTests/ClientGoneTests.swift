#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HTTPServing
import NIOPosix
import Synchronization
import TestSupport
import Testing

/// A client that dies while its request is being answered (a `fargate-run wait` killed with
/// SIGKILL): what its handler runs under `cancellingIfClosed` is cancelled, so a long wait
/// leaves nothing in the server, and what it does not is not (a task's start goes on whoever
/// left). A client that only half-closes is still answered. Raw sockets on a unix socket in a
/// temporary directory, against the server the host's API uses; no root. The waits are long:
/// in the full suite the handlers' tasks can wait minutes for a thread of Swift's pool
/// (Docs/TESTING.md), and what these look for fails by never happening, not by being late.
struct ClientGoneTests {
    /// Handler runs: started, cancelled (their sleep was interrupted), and the sleeps not
    /// asked to be cancelled that ended.
    final class Seen: Sendable {
        let started = Atomic(0)
        let cancelled = Atomic(0)
        let uncancelledEnded = Atomic(0)
    }

    /// `/wait` sleeps under `cancellingIfClosed`; `/start` sleeps 2 s without it (its client
    /// closes well within them).
    static func server(_ path: String, answerAfter: Duration, seen: Seen) async throws -> (HTTPServer, MultiThreadedEventLoopGroup) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await HTTPServer.start(.unix(path: path), group: group) { request in
            seen.started.add(1, ordering: .relaxed)
            if request.path == "/start" {
                try? await Task.sleep(for: .seconds(2))
                if !Task.isCancelled { seen.uncancelledEnded.add(1, ordering: .relaxed) }
                return HTTPResponse(status: 200, contentType: "text/plain", text: "started")
            }
            do { try await request.connection.cancellingIfClosed { try await Task.sleep(for: answerAfter) } } catch {
                seen.cancelled.add(1, ordering: .relaxed)
                return HTTPResponse(status: 499, contentType: "text/plain", text: "gone")
            }
            return HTTPResponse(status: 200, contentType: "text/plain", text: "ended")
        }
        return (server, group)
    }

    /// A connected unix socket that has sent `request`.
    static func send(_ path: String, _ request: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        try #require(r == 0, "connect: errno \(errno)")
        let bytes = Array(request.utf8)
        try #require(Glibc.send(fd, bytes, bytes.count, 0) == bytes.count)
        return fd
    }

    @Test func aClientThatDiesMidRequestHasItsHandlerCancelled() async throws {
        let dir = try TemporaryDirectory("fr-gone")
        defer { dir.remove() }
        let seen = Seen()
        let (server, group) = try await Self.server(dir.path + "/s.sock", answerAfter: .seconds(600), seen: seen)
        let fd = try Self.send(dir.path + "/s.sock", "GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(await eventuallyAsync(timeout: 900) { seen.started.load(ordering: .relaxed) == 1 }, "the handler runs")
        close(fd)
        #expect(await eventuallyAsync(timeout: 900) { seen.cancelled.load(ordering: .relaxed) == 1 }, "and its wait is cancelled once its client is gone")
        let other = try Self.send(dir.path + "/s.sock", "POST /start HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
        #expect(await eventuallyAsync(timeout: 900) { seen.started.load(ordering: .relaxed) == 2 })
        close(other)
        #expect(await eventuallyAsync(timeout: 900) { seen.uncancelledEnded.load(ordering: .relaxed) == 1 }, "what did not ask goes on")
        await server.close()
        try await group.shutdownGracefully()
    }

    @Test func aClientThatOnlyHalfClosesIsAnswered() async throws {
        let dir = try TemporaryDirectory("fr-gone")
        defer { dir.remove() }
        let seen = Seen()
        let (server, group) = try await Self.server(dir.path + "/s.sock", answerAfter: .milliseconds(300), seen: seen)
        let fd = try Self.send(dir.path + "/s.sock", "GET /wait HTTP/1.1\r\nHost: h\r\n\r\n")
        defer { close(fd) }
        shutdown(fd, Int32(SHUT_WR))
        var timeout = timeval(tv_sec: 900, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        // Read on a thread of its own: the blocking recv must not hold a thread the handler needs.
        let reply: String = await withCheckedContinuation { c in
            Thread.detachNewThread {
                var received: [UInt8] = [], buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = recv(fd, &buffer, buffer.count, 0)
                    if n <= 0 { break }
                    received += buffer[..<n]
                }
                c.resume(returning: String(decoding: received, as: UTF8.self))
            }
        }
        #expect(reply.hasPrefix("HTTP/1.1 200 OK") && reply.hasSuffix("ended"), "\(reply)")
        #expect(seen.cancelled.load(ordering: .relaxed) == 0)
        await server.close()
        try await group.shutdownGracefully()
    }
}
