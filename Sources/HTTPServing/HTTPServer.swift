#if canImport(Glibc)
import Glibc
#endif
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// An HTTP request, read whole.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The path, without the query.
    public var path: String
    public var query: [String: String]
    /// Header names in lower case.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The caller's IP address (TCP), nil on a unix socket.
    public var peer: String?
    /// The local address the request came in on (TCP).
    public var local: String?
    /// The caller's port (TCP).
    public var peerPort: Int?
    /// The request target as sent, before its path was split off and decoded.
    public var uri: String = ""
    /// The connection it came on, to learn whether its client is still there.
    public var connection: ClientConnection

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:], body: [UInt8] = [],
                peer: String? = nil, local: String? = nil, connection: ClientConnection = ClientConnection()) {
        self.connection = connection
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peer = peer
        self.local = local
    }
}

/// The connection a request came on, as its handler can see it: whether it closed before the
/// answer. On a unix socket a client that died closes it (its end's close is a hang-up, unlike
/// a half-close); a TCP client that died sends only a FIN, which is a half-close here (it is
/// answered), so the connection stays open until the answer's write fails.
public final class ClientConnection: Sendable {
    private let state = Mutex<(closed: Bool, onClose: [@Sendable () -> Void])>((false, []))

    public init() {}

    /// Runs `body`, cancelled if the connection closes before it ends: for a long wait whose
    /// client may be killed (`fargate-run wait`), which would otherwise be held until it ends.
    /// Only what asks is cancelled: a request that changes something (a task's start) goes on
    /// whoever left.
    public func cancellingIfClosed<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let task = Task { try await body() }
        let open = state.withLock { s in
            if !s.closed { s.onClose.append { task.cancel() } }
            return !s.closed
        }
        if !open { task.cancel() }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    /// The connection closed: what waits on it is cancelled (once).
    func close() {
        let waiting = state.withLock { s -> [@Sendable () -> Void] in
            guard !s.closed else { return [] }
            s.closed = true
            defer { s.onClose = [] }
            return s.onClose
        }
        for f in waiting { f() }
    }
}

/// An HTTP response.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// `text` as the body, with its content type.
    public init(status: Int, contentType: String, text: String, headers: [(String, String)] = []) {
        self.init(status: status, headers: [("Content-Type", contentType)] + headers, body: Array(text.utf8))
    }
}

/// A small HTTP/1.1 server on swift-nio: requests are read whole (up to a size), handed to an
/// async handler, and answered in order (pipelining and keep-alive as NIO's HTTP pipeline
/// does them). It serves a unix socket, a TCP address, or a socket made elsewhere (one bound
/// inside a task's network namespace), all on one event loop group.
public final class HTTPServer: Sendable {
    public enum Endpoint: Sendable {
        case unix(path: String)
        case tcp(host: String, port: Int)
        /// A bound, listening socket whose descriptor the server takes over.
        case socket(Int32)
    }

    public typealias Handler = @Sendable (HTTPRequest) async -> HTTPResponse
    /// Runs on the event loop before the handler: an answer it gives is sent at once, without
    /// the handler (what must be cheap under a flood of requests: a rate limit).
    public typealias Gate = @Sendable (HTTPRequest) -> HTTPResponse?

    /// Bounds on what one client can hold of the server.
    public struct Limits: Sendable {
        /// A request body over this gets 413 and the connection is closed.
        public var maxBody: Int
        /// Connections open at once; one more is closed as soon as it is accepted.
        public var maxConnections: Int?
        /// A connection that sends nothing for this long is closed.
        public var idleTimeout: TimeAmount?

        public init(maxBody: Int = 1 << 20, maxConnections: Int? = nil, idleTimeout: TimeAmount? = nil) {
            self.maxBody = maxBody
            self.maxConnections = maxConnections
            self.idleTimeout = idleTimeout
        }
    }

    let channel: any Channel

    /// The TCP port it listens on (useful when 0 asked the kernel for one).
    public var port: Int? { channel.localAddress?.port }

    /// Starts serving `endpoint`. A request body over `maxBody` bytes gets 413 and the
    /// connection is closed.
    public static func start(_ endpoint: Endpoint, group: any EventLoopGroup, maxBody: Int = 1 << 20,
                             handler: @escaping Handler) async throws -> HTTPServer {
        try await start(endpoint, group: group, limits: Limits(maxBody: maxBody), gate: nil, handler: handler)
    }

    /// Starts serving `endpoint` within `limits`; `gate` sees each request first.
    public static func start(_ endpoint: Endpoint, group: any EventLoopGroup, limits: Limits, gate: Gate?,
                             handler: @escaping Handler) async throws -> HTTPServer {
        let open = ConnectionCount()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                if let most = limits.maxConnections {
                    guard open.value.add(1, ordering: .relaxed).oldValue < most else {
                        open.value.subtract(1, ordering: .relaxed)
                        return channel.close()
                    }
                    channel.closeFuture.whenComplete { _ in open.value.subtract(1, ordering: .relaxed) }
                }
                var handlers: [any ChannelHandler] = []
                if let idle = limits.idleTimeout { handlers += [IdleStateHandler(readTimeout: idle), IdleCloser()] }
                return channel.pipeline.configureHTTPServerPipeline(withErrorHandling: true).flatMap {
                    channel.pipeline.addHandlers(handlers + [NIOHTTPServerRequestAggregator(maxContentLength: limits.maxBody),
                                                             RequestHandler(handler: handler, gate: gate)])
                }
            }
            .childChannelOption(.socketOption(.so_keepalive), value: 1)
            // A client may send its request and then shut its side (busybox nc, `curl` with
            // a body from stdin): it is answered, as Go's server answers it, and then closed.
            // NIO's default would close the connection at the EOF, before the handler answered.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
        let channel: any Channel
        switch endpoint {
        case .unix(let path):
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        case .tcp(let host, let port):
            channel = try await bootstrap.bind(host: host, port: port).get()
        case .socket(let fd):
            channel = try await bootstrap.withBoundSocket(fd).get()
        }
        return HTTPServer(channel: channel)
    }

    init(channel: any Channel) {
        self.channel = channel
    }

    /// Stops listening; connections being served finish.
    public func close() async {
        try? await channel.close()
    }
}

/// One connection's requests, answered one after the other. A client that half-closes (sends
/// its requests, then EOF) gets every answer, and then the connection is closed.
private final class RequestHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = NIOHTTPServerRequestFull
    typealias OutboundOut = HTTPServerResponsePart

    let handler: HTTPServer.Handler
    let gate: HTTPServer.Gate?
    // On the channel's event loop only (hence @unchecked Sendable).
    /// Requests read and not yet answered (one at most: NIO's pipeline handler holds the next
    /// until the answer's end is written).
    private var unanswered = 0
    /// The client shut its side: close once every request is answered.
    private var inputClosed = false
    /// The last answer's write, which a close waits for (so that no answer is cut).
    private var lastWrite: EventLoopFuture<Void>?
    /// The connection of the request being answered, told if the connection closes first.
    private var watch: ClientConnection?

    init(handler: @escaping HTTPServer.Handler, gate: HTTPServer.Gate? = nil) {
        self.handler = handler
        self.gate = gate
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let full = unwrapInboundIn(data)
        let head = full.head
        var body = full.body ?? ByteBuffer()
        let bytes = body.readBytes(length: body.readableBytes) ?? []
        let (path, query) = RequestHandler.split(head.uri)
        var headers: [String: String] = [:]
        for (name, value) in head.headers { headers[name.lowercased()] = value }
        let connection = ClientConnection()
        var request = HTTPRequest(method: head.method.rawValue, path: path, query: query, headers: headers, body: bytes,
                                  peer: context.channel.remoteAddress?.ipAddress, local: context.channel.localAddress?.ipAddress,
                                  connection: connection)
        request.peerPort = context.channel.remoteAddress?.port
        request.uri = head.uri
        let keepAlive = head.isKeepAlive
        let version = head.version
        let channel = context.channel
        unanswered += 1
        if let gate, let answer = gate(request) {
            respond(answer, on: channel, version: version, keepAlive: keepAlive)
            return
        }
        watch = connection
        let loop = context.eventLoop
        let handler = self.handler
        Task {
            let response = await handler(request)
            loop.execute { self.respond(response, on: channel, version: version, keepAlive: keepAlive) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        watch?.close()
        watch = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if unanswered == 0 { closeAfterLastWrite(context.channel) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// On the channel's event loop.
    func respond(_ response: HTTPResponse, on channel: any Channel, version: HTTPVersion, keepAlive: Bool) {
        unanswered -= 1
        watch = nil
        lastWrite = RequestHandler.write(response, on: channel, version: version, keepAlive: keepAlive)
        if inputClosed && unanswered == 0 { closeAfterLastWrite(channel) }
    }

    func closeAfterLastWrite(_ channel: any Channel) {
        guard let lastWrite else { return channel.close(promise: nil) }
        lastWrite.whenComplete { _ in channel.close(promise: nil) }
    }

    /// On the channel's event loop. The future completes when the answer's end is written.
    @discardableResult
    static func write(_ response: HTTPResponse, on channel: any Channel, version: HTTPVersion, keepAlive: Bool) -> EventLoopFuture<Void> {
        var h = HTTPHeaders()
        for (name, value) in response.headers { h.add(name: name, value: value) }
        h.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !keepAlive { h.replaceOrAdd(name: "Connection", value: "close") }
        let status = HTTPResponseStatus(statusCode: response.status)
        channel.write(HTTPServerResponsePart.head(HTTPResponseHead(version: version, status: status, headers: h)), promise: nil)
        channel.write(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(bytes: response.body))), promise: nil)
        let written = channel.writeAndFlush(HTTPServerResponsePart.end(nil))
        written.whenComplete { _ in
            if !keepAlive { channel.close(promise: nil) }
        }
        return written
    }

    /// "/a/b?x=1&y=%2F" → ("/a/b", ["x": "1", "y": "/"]).
    static func split(_ uri: String) -> (String, [String: String]) {
        guard let q = uri.firstIndex(of: "?") else { return (uri.removingPercentEncodingOrSelf, [:]) }
        var query: [String: String] = [:]
        for pair in uri[uri.index(after: q)...].split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = String(kv[0]).removingPercentEncodingOrSelf
            query[key] = kv.count > 1 ? String(kv[1]).replacingPlus.removingPercentEncodingOrSelf : ""
        }
        return (String(uri[..<q]).removingPercentEncodingOrSelf, query)
    }
}

/// Connections a server has open.
private final class ConnectionCount: Sendable {
    let value = Atomic(0)
}

/// Closes a connection its IdleStateHandler found idle.
private final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

extension String {
    /// Percent-decoded (%2F → /); as is where it is not valid percent-encoding.
    var removingPercentEncodingOrSelf: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var it = utf8.makeIterator()
        while let b = it.next() {
            guard b == UInt8(ascii: "%") else { bytes.append(b); continue }
            let pair = [it.next(), it.next()].compactMap { $0 }
            if pair.count == 2, let v = UInt8(String(decoding: pair, as: UTF8.self), radix: 16) {
                bytes.append(v)
            } else {
                bytes += [b] + pair
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    var replacingPlus: String { replacingOccurrences(of: "+", with: " ") }
}
