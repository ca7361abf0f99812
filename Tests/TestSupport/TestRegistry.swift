#if canImport(Glibc)
import Glibc
#endif
@preconcurrency import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Debian's docker-registry, on 127.0.0.1 and a free port, with its storage in a temporary
/// directory; optionally behind htpasswd basic auth or a bearer-token service. Stopped and
/// removed by `stop()`.
public final class TestRegistry: @unchecked Sendable {
    public enum Auth: Sendable {
        case none
        case basic(user: String, password: String)
        case token(user: String, password: String)
    }

    public let host: String
    public let storage: String
    let dir: TemporaryDirectory
    let process: Process
    let tokenServer: TokenServer?
    public let auth: Auth

    public init(auth: Auth = .none) throws {
        dir = try TemporaryDirectory("fr-registry")
        storage = dir.path + "/storage"
        self.auth = auth
        let port = try freePort()
        host = "127.0.0.1:\(port)"
        var authYAML = ""
        switch auth {
        case .none:
            tokenServer = nil
        case .basic(let user, let password):
            let r = try run("/usr/bin/htpasswd", ["-Bbn", user, password])
            guard r.status == 0 else { throw TestFailure("htpasswd: \(r.stderr)") }
            try writeFile(dir.path + "/htpasswd", Array(r.stdout.utf8))
            authYAML = "auth:\n  htpasswd:\n    realm: fargate-run-test\n    path: \(dir.path)/htpasswd\n"
            tokenServer = nil
        case .token(let user, let password):
            let server = try TokenServer(directory: dir.path, user: user, password: password)
            tokenServer = server
            authYAML = """
                auth:
                  token:
                    realm: http://127.0.0.1:\(server.port)/token
                    service: \(TokenServer.service)
                    issuer: \(TokenServer.issuer)
                    rootcertbundle: \(dir.path)/token-cert.pem

                """
        }
        let config = """
            version: 0.1
            log:
              level: error
            storage:
              filesystem:
                rootdirectory: \(storage)
              delete:
                enabled: true
            http:
              addr: \(host)
            \(authYAML)
            """
        try writeFile(dir.path + "/config.yml", Array(config.utf8))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/docker-registry")
        process.arguments = ["serve", dir.path + "/config.yml"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        // Ready when /v2/ answers (200, or 401 with auth).
        let ready = eventually(timeout: 20) {
            let r = try? run("/bin/busybox", ["wget", "-q", "-O", "/dev/null", "-S", "http://\(host)/v2/"])
            return (r?.stderr.contains("HTTP/1.1 200") ?? false) || (r?.stderr.contains("401") ?? false)
        }
        guard ready else {
            process.terminate()
            throw TestFailure("docker-registry did not start on \(host)")
        }
    }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        tokenServer?.stop()
        dir.remove()
    }

    /// skopeo copy into this registry (push credentials as configured).
    public func push(_ source: String, _ repositoryAndTag: String, extra: [String] = []) throws {
        var args = ["copy", "--dest-tls-verify=false", "--retry-times", "2"] + extra
        switch auth {
        case .none: break
        case .basic(let u, let p), .token(let u, let p): args += ["--dest-creds", "\(u):\(p)"]
        }
        args += [source, "docker://\(host)/\(repositoryAndTag)"]
        let r = try run("/usr/bin/skopeo", args)
        guard r.status == 0 else { throw TestFailure("skopeo \(args.joined(separator: " ")): \(r.stderr)") }
    }

    /// The file holding a blob in the registry's storage (to corrupt it).
    public func blobPath(_ hex: String) -> String {
        storage + "/docker/registry/v2/blobs/sha256/\(hex.prefix(2))/\(hex)/data"
    }
}

/// A free TCP port on 127.0.0.1 (bound, read, released).
public func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw TestFailure("no free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// The token service of a registry with token auth: checks basic credentials and issues an
/// ES256-signed JWT granting the requested scopes. The registry trusts it through the
/// certificate in the token's x5c header, which chains to its rootcertbundle.
final class TokenServer: @unchecked Sendable {
    static let service = "fargate-run-test"
    static let issuer = "fargate-run-test-issuer"

    let port: Int
    let group: MultiThreadedEventLoopGroup
    let channel: Channel
    let key: P256.Signing.PrivateKey
    let certificateDER: String
    let user: String
    let password: String

    init(directory: String, user: String, password: String) throws {
        let r = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                                             "-keyout", directory + "/token-key.pem", "-out", directory + "/token-cert.pem",
                                             "-days", "1", "-subj", "/CN=fargate-run-test-token"])
        guard r.status == 0 else { throw TestFailure("openssl: \(r.stderr)") }
        key = try P256.Signing.PrivateKey(pemRepresentation: String(contentsOfFile: directory + "/token-key.pem", encoding: .utf8))
        let pem = try String(contentsOfFile: directory + "/token-cert.pem", encoding: .utf8)
        certificateDER = pem.split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        self.user = user
        self.password = password
        group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pemKey = key.pemRepresentation
        let handlerFactory: @Sendable () -> TokenHandler = { [cert = certificateDER, user, password] in
            TokenHandler(key: try! P256.Signing.PrivateKey(pemRepresentation: pemKey), certificateDER: cert, user: user, password: password)
        }
        channel = try ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { ch in
                ch.pipeline.configureHTTPServerPipeline().flatMap { ch.pipeline.addHandler(handlerFactory()) }
            }
            .bind(host: "127.0.0.1", port: 0).wait()
        port = channel.localAddress?.port ?? 0
    }

    func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

final class TokenHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let key: P256.Signing.PrivateKey
    let certificateDER: String
    let user: String
    let password: String
    var head: HTTPRequestHead?

    init(key: P256.Signing.PrivateKey, certificateDER: String, user: String, password: String) {
        self.key = key
        self.certificateDER = certificateDER
        self.user = user
        self.password = password
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let head else { return }
            let (status, body) = answer(head)
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: "\(body.utf8.count)")
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }

    func answer(_ head: HTTPRequestHead) -> (HTTPResponseStatus, String) {
        let expected = "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
        guard head.headers.first(name: "Authorization") == expected else {
            return (.unauthorized, #"{"details": "incorrect username or password"}"#)
        }
        let components = URLComponents(string: "http://x" + head.uri)
        let scopes = components?.queryItems?.filter { $0.name == "scope" }.compactMap(\.value) ?? []
        var access: [[String: Any]] = []
        for scope in scopes {
            let parts = scope.split(separator: ":")
            guard parts.count >= 3 else { continue }
            access.append(["type": String(parts[0]), "name": parts[1..<(parts.count - 1)].joined(separator: ":"),
                           "actions": parts.last!.split(separator: ",").map(String.init)])
        }
        let now = Int(Date().timeIntervalSince1970)
        let header: [String: Any] = ["typ": "JWT", "alg": "ES256", "x5c": [certificateDER]]
        let claims: [String: Any] = ["iss": TokenServer.issuer, "sub": user, "aud": TokenServer.service, "exp": now + 600,
                                     "nbf": now - 60, "iat": now, "jti": UUID().uuidString, "access": access]
        func b64(_ obj: [String: Any]) -> String {
            b64url((try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data())
        }
        let signingInput = b64(header) + "." + b64(claims)
        guard let sig = try? key.signature(for: Data(signingInput.utf8)) else { return (.internalServerError, "{}") }
        let token = signingInput + "." + b64url(sig.rawRepresentation)
        return (.ok, #"{"token": "\#(token)", "access_token": "\#(token)", "expires_in": 600}"#)
    }

    func b64url(_ d: Data) -> String {
        d.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
