#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HTTPServing
import NIOPosix
import Testing

/// A client that sends its request and then shuts its write side (busybox `nc` with the
/// request on stdin) is answered in full, as Go's server (the agent's) answers it, and the
/// connection is then closed. Raw sockets on loopback, against the server the endpoint uses.
struct HalfClosedClientTests {
    /// Answers after a pause, so that the client's EOF is read before the answer is ready. No
    /// idle timeout: with the end-to-end suites beside, the handler's task can wait seconds for
    /// a thread, and the timeout's close would pass for the failure this looks for.
    static func server(body: Int = 0) async throws -> (HTTPServer, MultiThreadedEventLoopGroup) {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let server = try await HTTPServer.start(.tcp(host: "127.0.0.1", port: 0), group: group,
                                                limits: HTTPServer.Limits(maxBody: 1 << 16, maxConnections: 8),
                                                gate: { $0.path == "/gated" ? HTTPResponse(status: 429, contentType: "text/plain", text: "slow down") : nil }) { request in
            try? await Task.sleep(for: .milliseconds(100))
            let text = body > 0 ? String(repeating: "x", count: body) : "answer to \(request.path)"
            return HTTPResponse(status: 200, contentType: "text/plain", text: text)
        }
        return (server, group)
    }

    struct SocketFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// Connects, sends `request`, shuts the write side, and reads until the server closes
    /// (or 15 minutes pass): what came back, and whether the server closed. On a thread of its
    /// own: the blocking calls must not hold one of the few threads the handler's task needs.
    /// The wait is long because in the full suite, on two cores, the tests that block in
    /// subprocesses can hold every thread of Swift's pool for minutes, and the handler's task
    /// waits for one; the failure this looks for is a close at once, not a late answer.
    static func halfClosedExchange(port: Int, _ request: String) async throws -> (String, closed: Bool) {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try exchange(port: port, request) }) }
        }
    }

    static func exchange(port: Int, _ request: String) throws -> (String, closed: Bool) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw SocketFailure(description: "socket: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 900, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw SocketFailure(description: "connect: errno \(errno)") }
        let bytes = Array(request.utf8)
        guard send(fd, bytes, bytes.count, 0) == bytes.count else { throw SocketFailure(description: "send: errno \(errno)") }
        guard shutdown(fd, Int32(SHUT_WR)) == 0 else { throw SocketFailure(description: "shutdown: errno \(errno)") }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return (String(decoding: received, as: UTF8.self), true) }
            if n < 0 { return (String(decoding: received, as: UTF8.self), false) }
            received += buffer[..<n]
        }
    }

    @Test(arguments: ["HTTP/1.0", "HTTP/1.1"])
    func aRequestThenEOFIsAnsweredThenClosed(version: String) async throws {
        let (server, group) = try await Self.server()
        let (reply, closed) = try await Self.halfClosedExchange(port: try #require(server.port), "GET /v4/x/task \(version)\r\nHost: 169.254.170.2\r\n\r\n")
        #expect(reply.hasPrefix("\(version) 200 OK\r\n"))
        #expect(reply.hasSuffix("\r\n\r\nanswer to /v4/x/task"))
        #expect(closed)
        await server.close()
        try await group.shutdownGracefully()
    }

    @Test func pipelinedRequestsThenEOFAreEachAnswered() async throws {
        let (server, group) = try await Self.server()
        let request = "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /gated HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
        let (reply, closed) = try await Self.halfClosedExchange(port: try #require(server.port), request)
        #expect(reply.components(separatedBy: "HTTP/1.1 ").dropFirst().map { String($0.prefix(3)) } == ["200", "429", "200"])
        #expect(reply.contains("answer to /a") && reply.contains("slow down"))
        #expect(reply.hasSuffix("answer to /b"))
        #expect(closed)
        await server.close()
        try await group.shutdownGracefully()
    }

    /// An answer larger than the socket buffers is not cut by the close.
    @Test func aLargeAnswerIsWrittenWholeBeforeTheClose() async throws {
        let size = 8 << 20
        let (server, group) = try await Self.server(body: size)
        let (reply, closed) = try await Self.halfClosedExchange(port: try #require(server.port), "GET /stats HTTP/1.1\r\nHost: h\r\n\r\n")
        #expect(reply.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(reply.contains("content-length: \(size)\r\n") || reply.contains("Content-Length: \(size)\r\n"))
        #expect(reply.split(separator: "\r\n\r\n", maxSplits: 1).last?.count == size)
        #expect(closed)
        await server.close()
        try await group.shutdownGracefully()
    }

    /// Only EOF, no request: closed at once, nothing answered.
    @Test func anEOFWithoutARequestIsClosed() async throws {
        let (server, group) = try await Self.server()
        let (reply, closed) = try await Self.halfClosedExchange(port: try #require(server.port), "")
        #expect(reply.isEmpty)
        #expect(closed)
        await server.close()
        try await group.shutdownGracefully()
    }
}
