import Foundation
import LinuxSupport

/// A user name and password (or token) for a registry.
public struct RegistryCredentials: Sendable, Equatable {
    public var username: String
    public var password: String

    public init(username: String, password: String) {
        self.username = username
        self.password = password
    }

    var basic: String { "Basic " + Data("\(username):\(password)".utf8).base64EncodedString() }
}

/// Where credentials come from, in order: `--registry-auth REGISTRY=USER:PASSWORD`, then a
/// docker-style config.json (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`):
/// its `auths`, then `credHelpers` for that registry, then `credsStore` (the helpers are
/// `docker-credential-NAME get`, as Docker runs them; ECR's is docker-credential-ecr-login).
public struct CredentialStore: Sendable {
    public var explicit: [String: RegistryCredentials]
    public var configPath: String?

    public init(explicit: [String: RegistryCredentials] = [:], configPath: String? = CredentialStore.defaultConfigPath()) {
        self.explicit = explicit
        self.configPath = configPath
    }

    public static func defaultConfigPath(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let d = environment["DOCKER_CONFIG"], !d.isEmpty { return d + "/config.json" }
        if let h = environment["HOME"], !h.isEmpty { return h + "/.docker/config.json" }
        return nil
    }

    /// Parses "REGISTRY=USER:PASSWORD".
    public static func parseFlag(_ s: String) throws(ImageError) -> (String, RegistryCredentials) {
        guard let eq = s.firstIndex(of: "="), let colon = s[s.index(after: eq)...].firstIndex(of: ":") else {
            throw .invalidReference(s, "--registry-auth takes REGISTRY=USER:PASSWORD")
        }
        let registry = String(s[..<eq])
        let user = String(s[s.index(after: eq)..<colon]), pass = String(s[s.index(after: colon)...])
        guard !registry.isEmpty, !user.isEmpty else { throw .invalidReference(s, "--registry-auth takes REGISTRY=USER:PASSWORD") }
        return (registry, RegistryCredentials(username: user, password: pass))
    }

    public func credentials(for registry: String) -> RegistryCredentials? {
        if let c = explicit[registry] { return c }
        guard let configPath, let data = FileManager.default.contents(atPath: configPath),
              let config = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        let keys = CredentialStore.configKeys(registry)
        if let auths = config["auths"] as? [String: Any] {
            for k in keys {
                guard let entry = auths[k] as? [String: Any] else { continue }
                if let auth = entry["auth"] as? String, let decoded = Data(base64Encoded: auth).map({ String(decoding: $0, as: UTF8.self) }),
                   let colon = decoded.firstIndex(of: ":") {
                    return RegistryCredentials(username: String(decoded[..<colon]), password: String(decoded[decoded.index(after: colon)...]))
                }
                if let u = entry["username"] as? String, let p = entry["password"] as? String { return RegistryCredentials(username: u, password: p) }
            }
        }
        if let helpers = config["credHelpers"] as? [String: String] {
            for k in keys { if let h = helpers[k] { return CredentialStore.helper(h, registry: registry) } }
        }
        if let store = config["credsStore"] as? String { return CredentialStore.helper(store, registry: registry) }
        return nil
    }

    /// config.json keys a registry may be stored under (Docker Hub has its legacy URL).
    static func configKeys(_ registry: String) -> [String] {
        var keys = [registry, "https://" + registry, "http://" + registry, "https://" + registry + "/v1/", "https://" + registry + "/v2/"]
        if registry == RegistryReference.dockerHub { keys += ["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"] }
        return keys
    }

    static func helper(_ name: String, registry: String) -> RegistryCredentials? {
        let path = ["/usr/local/bin", "/usr/bin", "/bin"].map { $0 + "/docker-credential-" + name }.first { FileSystem.exists($0) }
        guard let path, let r = try? Subprocess.run(path, ["get"], environment: ["PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + (ProcessInfo.processInfo.environment["HOME"] ?? "/root")],
                                                    stdin: Array(registry.utf8)), r.status == 0,
              let obj = try? JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any],
              let user = obj["Username"] as? String, let secret = obj["Secret"] as? String else { return nil }
        return RegistryCredentials(username: user, password: secret)
    }
}
