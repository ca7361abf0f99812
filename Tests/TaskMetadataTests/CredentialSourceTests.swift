import Foundation
@testable import TaskMetadata
import TestSupport
import Testing

/// fargate-run's own credentials, found as the SDKs find them, from files and processes made
/// here (never the machine's own ~/.aws).
struct CredentialSourceTests {
    func home(credentials: String = "", config: String = "") throws -> TemporaryDirectory {
        let dir = try TemporaryDirectory("fr-aws")
        try FileManager.default.createDirectory(atPath: dir.path + "/.aws", withIntermediateDirectories: true)
        try writeFile(dir.path + "/.aws/credentials", Array(credentials.utf8))
        try writeFile(dir.path + "/.aws/config", Array(config.utf8))
        return dir
    }

    @Test func theEnvironmentComesFirstUnlessAProfileIsNamed() throws {
        let dir = try home(credentials: "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s1\n[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=s2\naws_session_token=tok\n")
        defer { dir.remove() }
        let env = ["HOME": dir.path, "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "s0", "AWS_SESSION_TOKEN": "t0",
                   "AWS_CREDENTIAL_EXPIRATION": "2030-01-02T03:04:05Z"]
        let source = AWSCredentialSource(environment: env)
        let c = try source.resolve(profile: nil)
        #expect(c == AWSCredentials(accessKeyId: "AKIAENV", secretAccessKey: "s0", sessionToken: "t0", expiration: Date(timeIntervalSince1970: 1_893_553_445)))
        #expect(try source.resolve(profile: "dev") == AWSCredentials(accessKeyId: "AKIADEV", secretAccessKey: "s2", sessionToken: "tok"))
        var noEnv = env
        for k in ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CREDENTIAL_EXPIRATION"] { noEnv[k] = nil }
        #expect(try AWSCredentialSource(environment: noEnv).resolve(profile: nil).accessKeyId == "AKIAFILE")
        noEnv["AWS_PROFILE"] = "dev"
        #expect(try AWSCredentialSource(environment: noEnv).resolve(profile: nil).accessKeyId == "AKIADEV", "AWS_PROFILE names the default")
    }

    @Test func configFileProfilesAndTheirSectionNames() throws {
        let dir = try home(config: "[default]\nregion = us-east-1\n[profile ci]\n# a comment\naws_access_key_id = AKIACI\naws_secret_access_key = sci\ns3 =\n  max_concurrent_requests = 10\n[sso-session x]\naws_access_key_id = NOPE\n")
        defer { dir.remove() }
        let source = AWSCredentialSource(environment: ["HOME": dir.path])
        #expect(try source.resolve(profile: "ci").accessKeyId == "AKIACI")
        #expect(throws: CredentialsError.self) { try source.resolve(profile: nil) }
        #expect(throws: CredentialsError.self) { try source.resolve(profile: "x") }
    }

    @Test func aCredentialProcessIsRunAndItsExpirationKept() throws {
        let dir = try home()
        defer { dir.remove() }
        let script = dir.path + "/creds.sh"
        try writeFile(script, Array(#"#!/bin/sh\#necho '{"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "sp", "SessionToken": "tp", "Expiration": "2031-05-06T07:08:09Z"}'\#n"#.utf8))
        chmod(script, 0o755)
        try writeFile(dir.path + "/.aws/config", Array("[profile proc]\ncredential_process = \"\(script)\" --flag 'a b'\n".utf8))
        let c = try AWSCredentialSource(environment: ["HOME": dir.path, "PATH": "/usr/bin:/bin"]).resolve(profile: "proc")
        #expect(c.accessKeyId == "ASIAPROC" && c.sessionToken == "tp" && c.expiration == Date(timeIntervalSince1970: 1_935_817_689))
        #expect(CredentialProcess.split(#"aws configure export-credentials --profile "my dev" --format process"#)
                == ["aws", "configure", "export-credentials", "--profile", "my dev", "--format", "process"])
    }

    @Test func profilesThatNeedAWSAreRefusedWithTheWayAround() throws {
        let dir = try home(config: "[profile admin]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = default\n")
        defer { dir.remove() }
        do {
            _ = try AWSCredentialSource(environment: ["HOME": dir.path]).resolve(profile: "admin")
            Issue.record("a role profile resolved")
        } catch {
            #expect(error.description.contains("assumes a role") && error.description.contains("credential_process = aws configure export-credentials --profile admin"))
        }
    }

    @Test func taskRoleFlagsMapRolesToProfiles() throws {
        let o = try TaskRoleOptions.parse(["arn:aws:iam::1:role/a=dev", "arn:aws:iam::1:role/b=x=y", "arn:aws:iam::1:role/a=prod"])
        #expect(o.profiles == ["arn:aws:iam::1:role/a": "prod", "arn:aws:iam::1:role/b": "x=y"])
        for bad in ["dev", "arn:aws:iam::1:role/a=", "=dev", "role=dev"] {
            #expect(throws: CredentialsError.self, "\(bad)") { try TaskRoleOptions.parse([bad]) }
        }
    }

    /// A profile is found by its section in either file; one in neither is named with where
    /// it was looked for.
    @Test func aMissingProfileIsNamed() throws {
        let dir = try home(credentials: "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n")
        defer { dir.remove() }
        try "[profile ops]\ncredential_process = true\n".write(toFile: dir.path + "/.aws/config", atomically: false, encoding: .utf8)
        let source = AWSCredentialSource(environment: ["HOME": dir.path])
        #expect(source.missing(profile: "dev") == nil && source.missing(profile: "ops") == nil)
        #expect(source.missing(profile: "nosuch") == "no profile nosuch in \(dir.path)/.aws/credentials or \(dir.path)/.aws/config")
    }

    @Test func rolesAreServedFromTheirProfileAndCachedBriefly() async throws {
        let dir = try home(credentials: "[dev]\naws_access_key_id = AKIADEV\naws_secret_access_key = s\n")
        defer { dir.remove() }
        let creds = TaskRoleCredentials(options: try TaskRoleOptions.parse(["arn:aws:iam::1:role/a=dev"]),
                                        source: AWSCredentialSource(environment: ["HOME": dir.path, "AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "e"]))
        // Times given, not read: a busy machine may take a minute between two lines.
        let t0 = Date()
        #expect(try await creds.credentials(for: "arn:aws:iam::1:role/a", now: t0).accessKeyId == "AKIADEV")
        #expect(try await creds.credentials(for: "arn:aws:iam::1:role/other", now: t0).accessKeyId == "AKIAENV", "other roles: the default chain")
        // A rotated key is seen once the cached one is a minute old.
        try writeFile(dir.path + "/.aws/credentials", Array("[dev]\naws_access_key_id = AKIANEW\naws_secret_access_key = s\n".utf8))
        #expect(try await creds.credentials(for: "arn:aws:iam::1:role/a", now: t0.addingTimeInterval(30)).accessKeyId == "AKIADEV")
        #expect(try await creds.credentials(for: "arn:aws:iam::1:role/a", now: t0.addingTimeInterval(61)).accessKeyId == "AKIANEW")
        // Credentials about to expire are fetched again.
        let soon = AWSCredentials(accessKeyId: "a", secretAccessKey: "b", expiration: Date().addingTimeInterval(600))
        #expect(!TaskRoleCredentials.fresh(soon, fetched: Date(), now: Date()))
    }
}
