import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// A client of the OCI distribution API (and Docker's registry v2, which it grew from).
///
/// - manifests by tag or digest, with every media type in Accept (OCI index and manifest,
///   Docker manifest list and schema 2), digests checked;
/// - anonymous access, bearer tokens from the `WWW-Authenticate` challenge (realm, service,
///   scope), basic auth; credentials from `CredentialStore`;
/// - blobs streamed to the content store, checked against digest and size as they arrive;
/// - retries with backoff on 5xx answers and broken connections;
/// - redirects followed by hand, so credentials never go to another host (blob storage);
/// - plain HTTP only for loopback registries and those named as insecure.
public final class RegistryClient: Sendable {
    /// Made on first use: an HTTP client starts NIO's event-loop threads, which a task whose
    /// images are all local (or cached with `--pull missing`) never needs.
    private let client = Mutex<HTTPClient?>(nil)
    private let configuration: HTTPClient.Configuration
    var http: HTTPClient {
        client.withLock { c in
            if let c { return c }
            let made = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            c = made
            return made
        }
    }
    public let credentials: CredentialStore
    public let insecureRegistries: Set<String>
    private let tokens = Mutex<[String: String]>([:])
    /// Attempts per request (the first plus retries).
    let attempts = 4

    public init(credentials: CredentialStore = CredentialStore(), insecureRegistries: Set<String> = []) {
        var config = HTTPClient.Configuration(redirectConfiguration: .disallow,
                                              timeout: .init(connect: .seconds(10), read: .seconds(60)))
        config.decompression = .disabled
        configuration = config
        self.credentials = credentials
        self.insecureRegistries = insecureRegistries
    }

    /// Must be called once the client is no longer needed.
    public func shutdown() async {
        if let made = client.withLock({ c in defer { c = nil }; return c }) { try? await made.shutdown() }
    }

    static let manifestAccept = [MediaType.ociIndex, MediaType.dockerManifestList, MediaType.ociManifest, MediaType.dockerManifest]
        .joined(separator: ", ")

    /// The API host: Docker Hub's registry is not at docker.io.
    func host(_ registry: String) -> String { registry == RegistryReference.dockerHub ? "registry-1.docker.io" : registry }

    /// https, except for loopback registries and those the user named insecure (as Docker).
    public func scheme(_ registry: String) -> String {
        let hostOnly = registry.hasPrefix("[") ? String(registry.prefix { $0 != "]" }.dropFirst()) : String(registry.split(separator: ":").first ?? "")
        if insecureRegistries.contains(registry) || insecureRegistries.contains(hostOnly) { return "http" }
        if hostOnly == "localhost" || hostOnly.hasPrefix("127.") || hostOnly == "::1" { return "http" }
        return "https"
    }

    func url(_ ref: RegistryReference, _ path: String) -> String {
        "\(scheme(ref.registry))://\(host(ref.registry))/v2/\(ref.repository)/\(path)"
    }

    // MARK: Manifests

    /// Resolves a reference to a manifest for `platform`, and its config.
    public func resolve(_ ref: RegistryReference, platform: Platform) async throws(ImageError) -> (Digest, ImageManifest, [UInt8]) {
        let first = ref.digest?.description ?? ref.tag ?? "latest"
        var (digest, mediaType, bytes) = try await fetchManifest(ref, first)
        if let expected = ref.digest, expected != digest {
            throw .digestMismatch(what: "manifest \(ref)", expected: expected.description, actual: digest.description)
        }
        var depth = 0
        while MediaType.isIndex(mediaType) || (mediaType == nil && ImageRegistryDocument.isIndex(bytes)) {
            depth += 1
            if depth > 3 { throw .malformed(what: ref.description, detail: "indexes nested too deep") }
            let index = try decodeJSON(ImageIndex.self, bytes, what: "index of \(ref)")
            let chosen = try selectManifest(index, platform: platform, reference: ref.description)
            (digest, mediaType, bytes) = try await fetchManifest(ref, chosen.digest.description)
            if digest != chosen.digest {
                throw .digestMismatch(what: "manifest \(chosen.digest) of \(ref)", expected: chosen.digest.description, actual: digest.description)
            }
        }
        let manifest = try decodeJSON(ImageManifest.self, bytes, what: "manifest of \(ref)")
        let config = try await fetchSmallBlob(ref, manifest.config, what: "config of \(ref)")
        return (digest, manifest, config)
    }

    func fetchManifest(_ ref: RegistryReference, _ tagOrDigest: String) async throws(ImageError) -> (Digest, String?, [UInt8]) {
        let response = try await send(ref, url: url(ref, "manifests/" + tagOrDigest), accept: RegistryClient.manifestAccept)
        let body = try await collect(response, limit: 8 << 20, what: "manifest \(ref)")
        let digest = Digest.of(body)
        if let header = response.headers.first(name: "Docker-Content-Digest"), let claimed = try? Digest(parsing: header), claimed != digest {
            throw .digestMismatch(what: "manifest \(ref) (Docker-Content-Digest)", expected: claimed.description, actual: digest.description)
        }
        let type = response.headers.first(name: "Content-Type").map { String($0.split(separator: ";")[0]).trimmingCharacters(in: .whitespaces) }
        return (digest, type, body)
    }

    func fetchSmallBlob(_ ref: RegistryReference, _ desc: Descriptor, what: String) async throws(ImageError) -> [UInt8] {
        guard desc.size <= 16 << 20 else { throw .malformed(what: what, detail: "\(desc.size) bytes is too large for a config") }
        let response = try await send(ref, url: url(ref, "blobs/" + desc.digest.description), accept: nil)
        let body = try await collect(response, limit: Int(desc.size) + 1, what: what)
        if Int64(body.count) != desc.size { throw .sizeMismatch(what: what, expected: desc.size, actual: Int64(body.count)) }
        let d = Digest.of(body)
        if d != desc.digest { throw .digestMismatch(what: what, expected: desc.digest.description, actual: d.description) }
        return body
    }

    // MARK: Blobs

    /// Streams a blob into the content store, checking digest and size as it arrives. A broken
    /// download is retried from the start.
    /// - Parameter tee: follows the first attempt's file as it is written, for an unpacker
    ///   reading it at the same time; failed (abandoned) when that attempt does not succeed.
    public func fetchBlob(_ ref: RegistryReference, _ desc: Descriptor, into store: ContentStore, what: String,
                          tee: GrowingBlob? = nil, progress: @Sendable (Int64) -> Void) async throws(ImageError) {
        var lastError: ImageError = .notFound(reference: ref.description, detail: "blob \(desc.digest)")
        for attempt in 0..<attempts {
            if attempt > 0 { await backoff(attempt) }
            let follower = attempt == 0 ? tee : nil
            do throws(ImageError) {
                let writer = try BlobWriter(store: store, expected: desc.digest, expectedSize: desc.size, what: what)
                try follower?.begin(path: writer.tmp)
                let response = try await send(ref, url: url(ref, "blobs/" + desc.digest.description), accept: nil)
                let streamed: Result<Void, ImageError> = await {
                    do {
                        for try await chunk in response.body {
                            let ok = chunk.withUnsafeReadableBytes { raw in Result { () throws(ImageError) in try writer.write(raw) } }
                            try ok.get()
                            follower?.advance(to: writer.written)
                            progress(writer.written)
                        }
                        return .success(())
                    } catch let e as ImageError {
                        return .failure(e)
                    } catch {
                        return .failure(.unsupported(what: what, detail: "download broken: \(error)"))
                    }
                }()
                try streamed.get()
                try writer.commit()
                follower?.finish()
                return
            } catch let e {
                follower?.fail(e)
                lastError = e
                // A digest or size mismatch is the registry's content, not a passing fault.
                if case .digestMismatch = e { throw e }
                if case .sizeMismatch = e { throw e }
                if case .notFound = e { throw e }
                if case .authentication = e { throw e }
            }
        }
        throw lastError
    }

    // MARK: HTTP

    /// GET with authentication, retries and redirects; returns a 200 response or throws the
    /// registry's answer as an ImageError.
    func send(_ ref: RegistryReference, url start: String, accept: String?) async throws(ImageError) -> HTTPClientResponse {
        var url = start
        var lastError: ImageError = .unsupported(what: ref.description, detail: "no answer from \(ref.registry)")
        var authTried = false
        var attempt = 0
        var redirects = 0
        while attempt < attempts {
            let sameHost = URL(string: url)?.host == URL(string: start)?.host
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            if let accept { request.headers.add(name: "Accept", value: accept) }
            request.headers.add(name: "User-Agent", value: "fargate-run/0.1")
            // Credentials only ever go to the registry itself, never to where it redirects.
            if sameHost, let token = tokens.withLock({ $0[tokenKey(ref)] }) {
                request.headers.add(name: "Authorization", value: token)
            }
            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: .hours(1))
            } catch {
                lastError = .unsupported(what: ref.description, detail: "cannot reach registry \(ref.registry): \(error)")
                attempt += 1
                if attempt < attempts { await backoff(attempt) }
                continue
            }
            switch response.status.code {
            case 200...299:
                return response
            case 301, 302, 303, 307, 308:
                guard redirects < 5, let location = response.headers.first(name: "Location"),
                      let next = URL(string: location, relativeTo: URL(string: url))?.absoluteString else {
                    throw .unsupported(what: ref.description, detail: "registry \(ref.registry) redirected badly (\(response.status.code))")
                }
                redirects += 1
                url = next
            case 401 where !authTried && sameHost:
                authTried = true
                let challenge = response.headers.first(name: "WWW-Authenticate") ?? ""
                _ = try? await response.body.collect(upTo: 1 << 16)
                try await authenticate(ref, challenge: challenge)
            case 500...599, 429:
                lastError = try await registryError(ref, response)
                attempt += 1
                if attempt < attempts { await backoff(attempt) }
            default:
                throw try await registryError(ref, response)
            }
        }
        throw lastError
    }

    func tokenKey(_ ref: RegistryReference) -> String { ref.registry + "/" + ref.repository }

    /// Answers a 401: a bearer token from the realm, or basic credentials.
    func authenticate(_ ref: RegistryReference, challenge: String) async throws(ImageError) {
        let creds = credentials.credentials(for: ref.registry)
        let (scheme, params) = RegistryClient.parseChallenge(challenge)
        switch scheme.lowercased() {
        case "basic":
            guard let creds else {
                throw .authentication(registry: ref.registry, detail: "it asks for a user name and password, and none is configured (--registry-auth, or ~/.docker/config.json)")
            }
            tokens.withLock { $0[tokenKey(ref)] = creds.basic }
        case "bearer":
            guard let realm = params["realm"], var components = URLComponents(string: realm) else {
                throw .authentication(registry: ref.registry, detail: "its bearer challenge names no realm: \(challenge)")
            }
            var items = components.queryItems ?? []
            if let service = params["service"] { items.append(URLQueryItem(name: "service", value: service)) }
            items.append(URLQueryItem(name: "scope", value: params["scope"] ?? "repository:\(ref.repository):pull"))
            components.queryItems = items
            guard let tokenURL = components.url?.absoluteString else {
                throw .authentication(registry: ref.registry, detail: "bad realm \(realm)")
            }
            var request = HTTPClientRequest(url: tokenURL)
            if let creds { request.headers.add(name: "Authorization", value: creds.basic) }
            let response: HTTPClientResponse
            do { response = try await http.execute(request, timeout: .seconds(30)) } catch {
                throw .authentication(registry: ref.registry, detail: "cannot reach its token service \(realm): \(error)")
            }
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            guard response.status == .ok else {
                throw .authentication(registry: ref.registry, detail: "its token service \(realm) answered \(response.status.code): \(String(decoding: body.prefix(300), as: UTF8.self))")
            }
            guard let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
                  let token = (obj["token"] as? String) ?? (obj["access_token"] as? String) else {
                throw .authentication(registry: ref.registry, detail: "its token service \(realm) returned no token")
            }
            tokens.withLock { $0[tokenKey(ref)] = "Bearer " + token }
        default:
            throw .authentication(registry: ref.registry, detail: "it asks for authentication this client does not speak: \(challenge)")
        }
    }

    /// `Bearer realm="https://x/token",service="reg",scope="repository:a:pull"`.
    static func parseChallenge(_ header: String) -> (String, [String: String]) {
        let trimmed = header.trimmingCharacters(in: .whitespaces)
        guard let space = trimmed.firstIndex(of: " ") else { return (trimmed, [:]) }
        let scheme = String(trimmed[..<space])
        var params: [String: String] = [:]
        var rest = Substring(trimmed[trimmed.index(after: space)...])
        while !rest.isEmpty {
            rest = rest.drop { $0 == " " || $0 == "," }
            guard let eq = rest.firstIndex(of: "=") else { break }
            let key = rest[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            rest = rest[rest.index(after: eq)...]
            var value = ""
            if rest.first == "\"" {
                rest = rest.dropFirst()
                while let c = rest.first, c != "\"" {
                    if c == "\\", rest.count > 1 { rest = rest.dropFirst() }
                    value.append(rest.first!)
                    rest = rest.dropFirst()
                }
                rest = rest.dropFirst()
            } else {
                value = String(rest.prefix { $0 != "," })
                rest = rest.dropFirst(value.count)
            }
            params[key] = value
        }
        return (scheme, params)
    }

    /// The registry's own error (OCI error JSON) as an ImageError.
    func registryError(_ ref: RegistryReference, _ response: HTTPClientResponse) async throws(ImageError) -> ImageError {
        let body = (try? await response.body.collect(upTo: 1 << 16)).map { Array($0.readableBytesView) } ?? []
        var detail = "\(response.status.code) \(response.status.reasonPhrase)"
        if let obj = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any], let errors = obj["errors"] as? [[String: Any]] {
            let parts = errors.map { e in [e["code"] as? String, e["message"] as? String].compactMap { $0 }.joined(separator: ": ") }
            if !parts.isEmpty { detail += " " + parts.joined(separator: "; ") }
        }
        let answer = "registry \(ref.registry) answered \(detail)"
        switch response.status.code {
        case 401, 403: return .authentication(registry: ref.registry, detail: answer)
        case 404: return .notFound(reference: ref.description, detail: answer)
        default: return .unsupported(what: ref.description, detail: answer)
        }
    }

    func collect(_ response: HTTPClientResponse, limit: Int, what: String) async throws(ImageError) -> [UInt8] {
        do { return Array(try await response.body.collect(upTo: limit).readableBytesView) } catch {
            throw .malformed(what: what, detail: "reading the answer: \(error)")
        }
    }

    func backoff(_ attempt: Int) async {
        // 0.25 s, 0.5 s, 1 s... with jitter.
        let base = 0.25 * pow(2, Double(attempt - 1))
        try? await Task.sleep(for: .milliseconds(Int((base + Double.random(in: 0...0.1)) * 1000)))
    }
}

enum ImageRegistryDocument {
    /// Some registries send no Content-Type; an index has "manifests".
    static func isIndex(_ bytes: [UInt8]) -> Bool {
        ((try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any])?["manifests"] != nil
    }
}
