#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// AWS credentials: keys, a session token for temporary ones, and when they expire.
public struct AWSCredentials: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var sessionToken: String?
    public var expiration: Date?

    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }
}

/// Why credentials could not be had, for the operator (the container only gets the agent's
/// error).
public struct CredentialsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ d: String) { description = d }
}

/// fargate-run's own AWS credentials, found as the AWS SDKs find theirs: the environment
/// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CREDENTIAL_EXPIRATION)
/// unless a profile is named, then the profile (AWS_PROFILE, else "default") in the shared
/// credentials file (AWS_SHARED_CREDENTIALS_FILE, ~/.aws/credentials), its credential_process,
/// the config file (AWS_CONFIG_FILE, ~/.aws/config). Profiles that assume a role, use SSO or
/// web identity need a call to AWS, which fargate-run does not make: it says so, and how to
/// bridge them (`credential_process = aws configure export-credentials --profile NAME --format process`).
public struct AWSCredentialSource: Sendable {
    let environment: [String: String]
    let home: String

    public init(environment: [String: String] = ProcessInfo.processInfo.environment) {
        self.environment = environment
        home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? AWSCredentialSource.passwordHome() ?? "/root"
    }

    var credentialsFile: String { environment["AWS_SHARED_CREDENTIALS_FILE"].map(expand) ?? home + "/.aws/credentials" }
    var configFile: String { environment["AWS_CONFIG_FILE"].map(expand) ?? home + "/.aws/config" }

    /// nil when `profile` has a section in the shared credentials or config file; else what
    /// to say (where it was looked for).
    public func missing(profile: String) -> String? {
        guard SharedConfigFile(path: credentialsFile, configStyle: false).profile(profile) == nil,
              SharedConfigFile(path: configFile, configStyle: true).profile(profile) == nil else { return nil }
        return "no profile \(profile) in \(credentialsFile) or \(configFile)"
    }

    /// The default chain (no profile given: the environment first), or the named profile.
    public func resolve(profile named: String?) throws(CredentialsError) -> AWSCredentials {
        if named == nil, let id = nonEmpty("AWS_ACCESS_KEY_ID") {
            guard let secret = nonEmpty("AWS_SECRET_ACCESS_KEY") else {
                throw CredentialsError("AWS_ACCESS_KEY_ID is set without AWS_SECRET_ACCESS_KEY")
            }
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: nonEmpty("AWS_SESSION_TOKEN"),
                                  expiration: nonEmpty("AWS_CREDENTIAL_EXPIRATION").flatMap(AWSCredentialSource.date))
        }
        let profile = named ?? nonEmpty("AWS_PROFILE") ?? "default"
        let credentials = SharedConfigFile(path: credentialsFile, configStyle: false).profile(profile) ?? [:]
        let config = SharedConfigFile(path: configFile, configStyle: true).profile(profile) ?? [:]
        let merged = config.merging(credentials) { _, fromCredentials in fromCredentials }
        for (key, what) in [("role_arn", "assumes a role (role_arn)"), ("web_identity_token_file", "uses a web identity token"),
                            ("sso_session", "uses IAM Identity Center (SSO)"), ("sso_start_url", "uses IAM Identity Center (SSO)")]
            where merged[key] != nil {
            throw CredentialsError("profile \(profile) \(what), which needs a call to AWS that fargate-run does not make; give it credential_process = aws configure export-credentials --profile \(profile) --format process, or map the role to a profile with keys (--task-role ROLE_ARN=PROFILE)")
        }
        if let keys = AWSCredentialSource.keys(credentials) { return keys }
        if let command = merged["credential_process"] { return try CredentialProcess(command: command, environment: environment).run() }
        if let keys = AWSCredentialSource.keys(config) { return keys }
        let place = named == nil ? "the environment, " : ""
        throw CredentialsError("no AWS credentials for profile \(profile) (looked in \(place)\(credentialsFile) and \(configFile))")
    }

    static func keys(_ p: [String: String]) -> AWSCredentials? {
        guard let id = p["aws_access_key_id"], !id.isEmpty, let secret = p["aws_secret_access_key"], !secret.isEmpty else { return nil }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: p["aws_session_token"].flatMap { $0.isEmpty ? nil : $0 })
    }

    func nonEmpty(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0 } }

    func expand(_ path: String) -> String { path.hasPrefix("~/") ? home + path.dropFirst() : path }

    static func passwordHome() -> String? {
        guard let pw = getpwuid(getuid()), let dir = pw.pointee.pw_dir else { return nil }
        return String(cString: dir)
    }

    /// An ISO 8601 time (what credential_process and AWS_CREDENTIAL_EXPIRATION give).
    static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.date(from: text)
    }
}

/// An AWS shared config or credentials file: INI sections of `key = value` lines. In the
/// config file a profile's section is `[profile NAME]` (`[default]` for the default one); in
/// the credentials file it is `[NAME]`. Indented lines (a service's nested settings) and
/// comments are skipped.
struct SharedConfigFile {
    let path: String
    let configStyle: Bool

    func profile(_ name: String) -> [String: String]? {
        guard let text = try? FileSystem.readString(path) else { return nil }
        var current: String?
        var found: [String: String]?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if raw.first == " " || raw.first == "\t" { continue }
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                let section = line.dropFirst().dropLast().trimmingCharacters(in: .whitespaces)
                current = sectionProfile(section)
                if current == name, found == nil { found = [:] }
                continue
            }
            guard current == name, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            found?[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return found
    }

    func sectionProfile(_ section: String) -> String? {
        guard configStyle else { return section }
        if section == "default" { return "default" }
        let words = section.split(separator: " ", maxSplits: 1)
        guard words.count == 2, words[0] == "profile" else { return nil }
        return words[1].trimmingCharacters(in: .whitespaces)
    }
}

/// A profile's `credential_process`: the command (split as a shell splits words, without a
/// shell) prints `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}`.
struct CredentialProcess {
    let command: String
    let environment: [String: String]

    func run() throws(CredentialsError) -> AWSCredentials {
        let words = CredentialProcess.split(command)
        guard let program = words.first, let path = resolve(program) else {
            throw CredentialsError("credential_process \(command): program not found")
        }
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(path, Array(words.dropFirst()), environment: environment.map { "\($0.key)=\($0.value)" })
        } catch {
            throw CredentialsError("credential_process \(command): \(error)")
        }
        guard result.status == 0 else {
            throw CredentialsError("credential_process \(command) exited \(result.status): \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines).suffix(300))")
        }
        struct Output: Decodable {
            var Version: Int
            var AccessKeyId: String
            var SecretAccessKey: String
            var SessionToken: String?
            var Expiration: String?
        }
        guard let out = try? JSONDecoder().decode(Output.self, from: Data(result.stdout)), out.Version == 1 else {
            throw CredentialsError("credential_process \(command) printed no Version 1 credentials")
        }
        return AWSCredentials(accessKeyId: out.AccessKeyId, secretAccessKey: out.SecretAccessKey, sessionToken: out.SessionToken,
                              expiration: out.Expiration.flatMap(AWSCredentialSource.date))
    }

    func resolve(_ program: String) -> String? {
        if program.contains("/") { return access(program, X_OK) == 0 ? program : nil }
        let path = environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 }
    }

    /// Words as a POSIX shell splits them: blanks separate, quotes group, backslash escapes.
    static func split(_ s: String) -> [String] {
        var words: [String] = [], word = "", inWord = false
        var quote: Character?
        var escaped = false
        for ch in s {
            if escaped { word.append(ch); escaped = false; inWord = true; continue }
            if ch == "\\" && quote != "'" { escaped = true; continue }
            if let q = quote {
                if ch == q { quote = nil } else { word.append(ch) }
                continue
            }
            if ch == "'" || ch == "\"" { quote = ch; inWord = true; continue }
            if ch == " " || ch == "\t" {
                if inWord { words.append(word); word = ""; inWord = false }
                continue
            }
            word.append(ch)
            inWord = true
        }
        if inWord { words.append(word) }
        return words
    }
}
