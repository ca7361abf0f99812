import Foundation
import LinuxSupport
import Synchronization

/// Which credentials a task role gets (command-line options): by default fargate-run's own
/// (`AWSCredentialSource`'s default chain), or those of the profile a role is mapped to
/// (`--task-role ROLE_ARN=PROFILE`). The role is never assumed: the credentials are served
/// under its ARN. The execution role has no credentials here at all.
public struct TaskRoleOptions: Sendable, Equatable {
    /// Profile by role ARN.
    public var profiles: [String: String]

    public init(profiles: [String: String] = [:]) {
        self.profiles = profiles
    }

    /// `ROLE_ARN=PROFILE` pairs; a role given twice keeps its last profile.
    public static func parse(_ pairs: [String]) throws(CredentialsError) -> TaskRoleOptions {
        var out: [String: String] = [:]
        for p in pairs {
            // A role ARN has no "=", a profile name may: the first one separates them.
            guard let eq = p.firstIndex(of: "="), p[..<eq].hasPrefix("arn:"), p.index(after: eq) != p.endIndex else {
                throw CredentialsError("--task-role \(p): expected ROLE_ARN=PROFILE, such as arn:aws:iam::123456789012:role/app=dev")
            }
            out[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        return TaskRoleOptions(profiles: out)
    }
}

/// Resolves and caches the credentials of task roles for every task of the process. Files are
/// read again after a minute and credentials that expire within 15 minutes are fetched anew,
/// so that an SDK's refresh (15 minutes before the Expiration it was given) gets current ones.
public final class TaskRoleCredentials: Sendable {
    let options: TaskRoleOptions
    let source: AWSCredentialSource
    private let cache = Mutex<[String: (at: Date, credentials: AWSCredentials)]>([:])

    /// How long credentials without an expiration are served as valid for (SDKs refresh 15
    /// minutes before).
    static let validity: TimeInterval = 3600

    public init(options: TaskRoleOptions, source: AWSCredentialSource = AWSCredentialSource()) {
        self.options = options
        self.source = source
    }

    /// The profile `role` is served from (nil: the default chain).
    func profile(for role: String) -> String? { options.profiles[role] }

    /// The role's credentials now; may run a credential_process (on a thread of its own).
    public func credentials(for role: String, now: Date = Date()) async throws(CredentialsError) -> AWSCredentials {
        let key = profile(for: role).map { "profile:" + $0 } ?? "default"
        if let hit = cache.withLock({ $0[key] }), TaskRoleCredentials.fresh(hit.credentials, fetched: hit.at, now: now) {
            return hit.credentials
        }
        let (source, profile) = (self.source, self.profile(for: role))
        let result = await onOwnThread { Result { () throws(CredentialsError) in try source.resolve(profile: profile) } }
        let credentials = try result.get()
        cache.withLock { $0[key] = (now, credentials) }
        return credentials
    }

    /// Still good to serve: read less than a minute ago (or, from a process, until 15 minutes
    /// before they expire).
    static func fresh(_ c: AWSCredentials, fetched: Date, now: Date) -> Bool {
        if let e = c.expiration, e.timeIntervalSince(now) < 15 * 60 { return false }
        return now.timeIntervalSince(fetched) < (c.expiration == nil ? 60 : 15 * 60)
    }

    /// The agent's credentials document: RoleArn, AccessKeyId, SecretAccessKey, Token and
    /// Expiration, all present (Token "" for long-term keys). Expiration is the credentials'
    /// own, else an hour from now: always in the future, as SDKs expect.
    static func document(role: String, _ c: AWSCredentials, now: Date = Date()) -> GoJSON {
        let expiration = c.expiration ?? now.addingTimeInterval(validity)
        return .object([("RoleArn", .string(role)), ("AccessKeyId", .string(c.accessKeyId)), ("SecretAccessKey", .string(c.secretAccessKey)),
                        ("Token", .string(c.sessionToken ?? "")), ("Expiration", .string(GoTime(expiration).rfc3339))])
    }
}
