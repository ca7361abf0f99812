import ECSModel
import Foundation
import Images

/// Values for what a task definition fetches from AWS at launch: secrets (Secrets Manager,
/// SSM Parameter Store), environment files in S3, private registry credentials. Here they come
/// from a local JSON file (`--secrets FILE`) that maps each `valueFrom` (or S3 ARN, or
/// `credentialsParameter`) to its value:
///
///     {"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf": {"password": "pw"},
///      "/app/token": "t0ken",
///      "arn:aws:s3:::config/app.env": "./app.env"}
///
/// An object value stands for a Secrets Manager secret holding JSON; an S3 ARN maps to a local
/// file path (relative to the secrets file).
public struct SecretStore: Sendable {
    public var values: [String: String]
    /// The file the values came from, for messages and relative paths.
    public var path: String?

    public init(values: [String: String], path: String? = nil) {
        self.values = values
        self.path = path
    }

    public init(file: String) throws(LocalInputError) {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LocalInputError(source: file, issues: [ValidationIssue("", "cannot read \(file): \(String(cString: strerror(errno)))")])
        }
        let root: JSONValue
        do { root = try JSONParser.parse(Array(data)) } catch {
            throw LocalInputError(source: file, issues: [ValidationIssue("", error.description)])
        }
        guard case .object(let members) = root else {
            throw LocalInputError(source: file, issues: [ValidationIssue("", "expected an object mapping each valueFrom to its value, found \(root.kind)")])
        }
        var values: [String: String] = [:]
        var issues: [ValidationIssue] = []
        for (k, v) in members {
            switch v {
            case .string(let s): values[k] = s
            // A Secrets Manager secret that holds JSON, written as JSON for readability.
            case .object: values[k] = v.text
            default: issues.append(ValidationIssue(k, "expected a string (or an object for a JSON secret), found \(v.kind)"))
            }
        }
        if !issues.isEmpty { throw LocalInputError(source: file, issues: issues) }
        self.init(values: values, path: file)
    }

    public enum Lookup: Equatable, Sendable {
        /// The value, and a note on what of the reference was not honoured (version ids).
        case value(String, note: String?)
        case missing
        /// Mapped, but the value does not fit the reference (no such JSON key).
        case unusable(String)
    }

    /// Resolves a `valueFrom` as ECS does: a Secrets Manager ARN may end in
    /// `:json-key:version-stage:version-id`; an SSM parameter may be named by ARN or by name.
    public func lookup(_ valueFrom: String) -> Lookup {
        if let v = values[valueFrom] { return .value(v, note: nil) }
        let parts = valueFrom.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if parts.count > 7, parts[0] == "arn", parts[2] == "secretsmanager", parts[5] == "secret" {
            let secretArn = parts[0..<7].joined(separator: ":")
            guard let whole = values[secretArn] else { return .missing }
            let key = parts[7], stage = parts.count > 8 ? parts[8] : "", version = parts.count > 9 ? parts[9] : ""
            let note = stage.isEmpty && version.isEmpty ? nil
                : "version \([stage, version].filter { !$0.isEmpty }.joined(separator: "/")) of \(secretArn) is not selected here: the one local value is used"
            if key.isEmpty { return .value(whole, note: note) }
            guard let doc = try? JSONParser.parse(Array(whole.utf8)), case .object = doc else {
                return .unusable("the value of \(secretArn) is not a JSON object, so it has no key \"\(key)\"")
            }
            switch doc[key] {
            case .string(let s)?: return .value(s, note: note)
            case .number(let n)?: return .value(n, note: note)
            case .bool(let b)?: return .value(b ? "true" : "false", note: note)
            case nil: return .unusable("the JSON of \(secretArn) has no key \"\(key)\"")
            case let other?: return .unusable("the key \"\(key)\" of \(secretArn) holds \(other.kind), not a string")
            }
        }
        // SSM: arn:aws:ssm:REGION:ACCOUNT:parameter/NAME, or the name with or without "/".
        var names: [String] = []
        if parts.count >= 6, parts[0] == "arn", parts[2] == "ssm", parts[5].hasPrefix("parameter/") {
            let name = String(parts[5...].joined(separator: ":").dropFirst("parameter".count))
            names = [name, String(name.dropFirst())]
        } else if valueFrom.hasPrefix("/") {
            names = [String(valueFrom.dropFirst())]
        } else {
            names = ["/" + valueFrom]
        }
        for n in names { if let v = values[n] { return .value(v, note: nil) } }
        return .missing
    }
}

/// Problems with what `--secrets`, environment files or overrides supply; every one at once.
public struct LocalInputError: Error, Sendable, CustomStringConvertible {
    /// What was being read: a file, or "--overrides".
    public var source: String
    public var issues: [ValidationIssue]

    public init(source: String, issues: [ValidationIssue]) {
        self.source = source
        self.issues = issues
    }

    public var description: String {
        let head = "\(source): \(issues.count) problem\(issues.count == 1 ? "" : "s")"
        return ([head] + issues.map { "  " + $0.description }).joined(separator: "\n")
    }
}

/// ECS environment files: `NAME=VALUE` lines; lines starting with `#` and blank lines are
/// skipped; the value is everything after the first `=`, quotes included (ECS does not strip
/// them, unlike shells and Compose).
public enum EnvironmentFile {
    public static func parse(_ text: String, file: String) throws(LocalInputError) -> [(String, String)] {
        var out: [(String, String)] = []
        var issues: [ValidationIssue] = []
        // "\r\n" is one Character in Swift: both line ends are separators.
        for (n, line) in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }).enumerated() {
            if line.allSatisfy(\.isWhitespace) || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                issues.append(ValidationIssue("line \(n + 1)", "expected NAME=VALUE, found \"\(line.prefix(60))\""))
                continue
            }
            let name = String(line[..<eq])
            if name.contains(where: { $0.isWhitespace }) || name.utf8.contains(0) {
                issues.append(ValidationIssue("line \(n + 1)", "\"\(name)\" is not a variable name"))
                continue
            }
            out.append((name, String(line[line.index(after: eq)...])))
        }
        if !issues.isEmpty { throw LocalInputError(source: file, issues: issues) }
        return out
    }
}

/// What the secrets file and environment files supply to each container, resolved before
/// anything starts.
public struct ResolvedInputs: Sendable {
    /// Per container: variables from environmentFiles (first file wins for a name).
    public var fileEnvironment: [String: [(String, String)]] = [:]
    /// Per container: secrets as environment variables.
    public var secretEnvironment: [String: [(String, String)]] = [:]
    /// Registry host to credentials, from repositoryCredentials.
    public var registryCredentials: [String: (username: String, password: String)] = [:]
    /// At definition paths.
    public var warnings: [ValidationIssue] = []

    public init() {}

    /// Resolves every secret, environment file and repositoryCredentials of `plan`; throws
    /// every problem at once (a secret with no value stops the run before it starts).
    /// - Parameters:
    ///   - definitionDirectory: where relative environment file paths are resolved.
    public static func resolve(_ plan: TaskPlan, secrets: SecretStore?, definitionDirectory: String) throws(LocalInputError) -> ResolvedInputs {
        var out = ResolvedInputs()
        var issues: [ValidationIssue] = []
        let source = secrets?.path.map { "--secrets \($0)" } ?? "--secrets"
        func missing(_ what: String, _ key: String) -> String {
            secrets == nil ? "\(what) needs a value: give --secrets FILE with an entry for \"\(key)\""
                : "\(what): \(secrets!.path ?? "the secrets file") has no entry for \"\(key)\""
        }
        for c in plan.containers {
            let p = "containerDefinitions[\(c.index)]"
            let d = c.definition
            // Secrets.
            var secretEnv: [(String, String)] = []
            for (i, s) in (d.secrets ?? []).enumerated() {
                guard let name = s.name, let from = s.valueFrom else { continue }
                switch secrets?.lookup(from) ?? .missing {
                case .value(let v, let note):
                    secretEnv.append((name, v))
                    if let note { out.warnings.append(ValidationIssue("\(p).secrets[\(i)]", "\(name): \(note)", severity: .warning)) }
                case .missing: issues.append(ValidationIssue("\(p).secrets[\(i)].valueFrom", missing("secret \(name) of container \(c.name)", from)))
                case .unusable(let why): issues.append(ValidationIssue("\(p).secrets[\(i)].valueFrom", "secret \(name) of container \(c.name): \(why)"))
                }
            }
            out.secretEnvironment[c.name] = secretEnv
            // Environment files: local paths, or S3 ARNs mapped to local paths.
            var fileEnv: [(String, String)] = []
            var seen = Set<String>()
            for (i, f) in (d.environmentFiles ?? []).enumerated() {
                guard let value = f.value else { continue }
                let ip = "\(p).environmentFiles[\(i)].value"
                var path = value
                if value.hasPrefix("arn:") {
                    guard let mapped = secrets?.values[value] else {
                        issues.append(ValidationIssue(ip, missing("environment file of container \(c.name)", value)))
                        continue
                    }
                    path = absolute(mapped, base: secrets?.path.map(directory(of:)) ?? definitionDirectory)
                } else {
                    path = absolute(value, base: definitionDirectory)
                }
                guard path.hasSuffix(".env") else {
                    issues.append(ValidationIssue(ip, "\"\(path)\" must have the .env extension, as ECS requires"))
                    continue
                }
                guard let data = FileManager.default.contents(atPath: path) else {
                    issues.append(ValidationIssue(ip, "cannot read \(path): \(String(cString: strerror(errno)))"))
                    continue
                }
                guard let text = String(validating: Array(data), as: UTF8.self) else {
                    issues.append(ValidationIssue(ip, "\(path) is not UTF-8 text"))
                    continue
                }
                do throws(LocalInputError) {
                    for (k, v) in try EnvironmentFile.parse(text, file: path) where seen.insert(k).inserted { fileEnv.append((k, v)) }
                } catch {
                    issues += error.issues.map { ValidationIssue(ip, "\(path) \($0.path): \($0.message)") }
                }
            }
            out.fileEnvironment[c.name] = fileEnv
            // Private registry credentials: a Secrets Manager secret {"username", "password"}.
            if let param = d.repositoryCredentials?.credentialsParameter {
                let ip = "\(p).repositoryCredentials.credentialsParameter"
                switch secrets?.lookup(param) ?? .missing {
                case .value(let v, _):
                    if let doc = try? JSONParser.parse(Array(v.utf8)), case .string(let u)? = doc["username"], case .string(let pw)? = doc["password"] {
                        out.registryCredentials[registryHost(of: c.image)] = (u, pw)
                    } else {
                        issues.append(ValidationIssue(ip, "the value of \"\(param)\" must be JSON with \"username\" and \"password\", as ECS expects"))
                    }
                case .missing:
                    out.warnings.append(ValidationIssue(ip, "no entry for \"\(param)\" in \(source): \(c.name)'s image is pulled with your registry logins (--registry-auth, docker config) instead", severity: .warning))
                case .unusable(let why):
                    issues.append(ValidationIssue(ip, why))
                }
            }
        }
        if !issues.isEmpty { throw LocalInputError(source: "secrets and environment files", issues: issues) }
        return out
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return FileManager.default.currentDirectoryPath }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func absolute(_ path: String, base: String) -> String {
        path.hasPrefix("/") ? path : (base.hasPrefix("/") ? base : FileManager.default.currentDirectoryPath + "/" + base) + "/" + path
    }

    /// The registry an image is pulled from, as the registry client names it.
    static func registryHost(of image: String) -> String {
        (try? RegistryReference(parsing: image))?.registry ?? RegistryReference.dockerHub
    }
}
