#if canImport(Glibc)
import Glibc
#endif
import CShim
import ECSModel
import Foundation
import LinuxSupport
import TaskRuntime
import TestSupport
import Testing


struct SecretStoreTests {
    let store = SecretStore(values: [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf": #"{"username": "app", "password": "pw", "port": 5432, "nested": {"a": 1}}"#,
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:plain-XyZ": "not json",
        "/app/token": "t0ken",
        "plain-name": "p",
    ])

    @Test func wholeSecretAndJSONKeys() {
        let arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
        #expect(store.lookup(arn) == .value(#"{"username": "app", "password": "pw", "port": 5432, "nested": {"a": 1}}"#, note: nil))
        #expect(store.lookup(arn + ":password::") == .value("pw", note: nil))
        #expect(store.lookup(arn + ":port::") == .value("5432", note: nil))
        #expect(store.lookup(arn + "::AWSCURRENT:") == .value(store.values[arn]!, note: "version AWSCURRENT of \(arn) is not selected here: the one local value is used"))
        #expect(store.lookup(arn + ":missing::") == .unusable("the JSON of \(arn) has no key \"missing\""))
        #expect(store.lookup(arn + ":nested::") == .unusable("the key \"nested\" of \(arn) holds an object, not a string"))
        #expect(store.lookup("arn:aws:secretsmanager:us-east-1:123456789012:secret:plain-XyZ:k::")
                == .unusable("the value of arn:aws:secretsmanager:us-east-1:123456789012:secret:plain-XyZ is not a JSON object, so it has no key \"k\""))
        #expect(store.lookup("arn:aws:secretsmanager:us-east-1:123456789012:secret:other-1:k::") == .missing)
    }

    @Test func ssmParametersByARNOrName() {
        #expect(store.lookup("arn:aws:ssm:us-east-1:123456789012:parameter/app/token") == .value("t0ken", note: nil))
        #expect(store.lookup("app/token") == .value("t0ken", note: nil))
        #expect(store.lookup("/plain-name") == .value("p", note: nil))
        #expect(store.lookup("arn:aws:ssm:us-east-1:123456789012:parameter/nope") == .missing)
    }

    @Test func fileErrorsNameTheKey() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try put(dir.path + "/s.json", Array(#"{"a": "x", "b": 1, "c": {"k": "v"}}"#.utf8))
        #expect {
            try SecretStore(file: dir.path + "/s.json")
        } throws: { e in
            (e as? LocalInputError)?.issues == [ValidationIssue("b", "expected a string (or an object for a JSON secret), found the number 1")]
        }
        try put(dir.path + "/ok.json", Array(#"{"a": "x", "c": {"k": "v"}}"#.utf8))
        #expect(try SecretStore(file: dir.path + "/ok.json").values == ["a": "x", "c": #"{"k":"v"}"#])
        #expect(throws: LocalInputError.self) { try SecretStore(file: dir.path + "/missing.json") }
    }
}

struct EnvironmentFileTests {
    @Test func ecsFormat() throws {
        let parsed = try EnvironmentFile.parse("# comment\n\nA=1\nB=x=y\nC=\"quoted\"\r\nEMPTY=\n  \n", file: "f.env")
        #expect(parsed.map(\.0) == ["A", "B", "C", "EMPTY"])
        #expect(parsed.map(\.1) == ["1", "x=y", "\"quoted\"", ""])
    }

    @Test func badLinesAreReportedByNumber() {
        #expect {
            try EnvironmentFile.parse("A=1\nnot a pair\n=x\nB C=1\n", file: "f.env")
        } throws: { e in
            (e as? LocalInputError)?.issues == [
                ValidationIssue("line 2", "expected NAME=VALUE, found \"not a pair\""),
                ValidationIssue("line 3", "expected NAME=VALUE, found \"=x\""),
                ValidationIssue("line 4", "\"B C\" is not a variable name"),
            ]
        }
    }
}

struct ResolvedInputsTests {
    func plan(_ containers: String, volumes: String = "[]") throws -> TaskPlan {
        let json = #"{"family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "volumes": \#(volumes), "containerDefinitions": [\#(containers)]}"#
        return try TaskPlan(try TaskDefinitionLoader.load(data: Data(json.utf8)), region: "us-east-1", account: "1")
    }

    @Test func precedenceFilesThenEnvironmentThenSecrets() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try put(dir.path + "/a.env", Array("A=file-a\nB=file-a\nC=file-a\n".utf8))
        try put(dir.path + "/b.env", Array("A=file-b\nD=file-b\n".utf8))
        try put(dir.path + "/mapped/s3.env", Array("E=from-s3\n".utf8))
        try put(dir.path + "/secrets.json", Array(#"{"arn:aws:s3:::bucket/s3.env": "mapped/s3.env", "/c": "secret-c"}"#.utf8))
        var p = try plan(#"""
            {"name": "a", "image": "i", "environment": [{"name": "B", "value": "env"}, {"name": "C", "value": "env"}],
             "environmentFiles": [{"value": "a.env", "type": "s3"}, {"value": "b.env", "type": "s3"}, {"value": "arn:aws:s3:::bucket/s3.env", "type": "s3"}],
             "secrets": [{"name": "C", "valueFrom": "/c"}]}
            """#)
        let inputs = try ResolvedInputs.resolve(p, secrets: try SecretStore(file: dir.path + "/secrets.json"), definitionDirectory: dir.path)
        p.apply(inputs)
        let c = p.containers[0]
        let env = ProcessResolution.environment(definition: c.definition, image: nil, files: c.fileEnvironment, secrets: c.secretEnvironment)
        // The first file to name a variable wins; environment beats files; secrets beat both.
        #expect(env.filter { !$0.hasPrefix("PATH=") } == ["A=file-a", "B=env", "C=secret-c", "D=file-b", "E=from-s3"])
    }

    @Test func everyProblemAtOnceBeforeAnythingStarts() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try put(dir.path + "/bad.env", Array("oops\n".utf8))
        try put(dir.path + "/no-extension", Array("A=1\n".utf8))
        let p = try plan(#"""
            {"name": "a", "image": "i",
             "environmentFiles": [{"value": "missing.env", "type": "s3"}, {"value": "bad.env", "type": "s3"}, {"value": "no-extension", "type": "s3"},
                                  {"value": "arn:aws:s3:::b/x.env", "type": "s3"}],
             "secrets": [{"name": "S", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/s"}]}
            """#)
        #expect {
            try ResolvedInputs.resolve(p, secrets: nil, definitionDirectory: dir.path)
        } throws: { e in
            let issues = (e as? LocalInputError)?.issues ?? []
            return issues == [
                ValidationIssue("containerDefinitions[0].secrets[0].valueFrom", "secret S of container a needs a value: give --secrets FILE with an entry for \"arn:aws:ssm:us-east-1:1:parameter/s\""),
                ValidationIssue("containerDefinitions[0].environmentFiles[0].value", "cannot read \(dir.path)/missing.env: No such file or directory"),
                ValidationIssue("containerDefinitions[0].environmentFiles[1].value", "\(dir.path)/bad.env line 1: expected NAME=VALUE, found \"oops\""),
                ValidationIssue("containerDefinitions[0].environmentFiles[2].value", "\"\(dir.path)/no-extension\" must have the .env extension, as ECS requires"),
                ValidationIssue("containerDefinitions[0].environmentFiles[3].value", "environment file of container a needs a value: give --secrets FILE with an entry for \"arn:aws:s3:::b/x.env\""),
            ]
        }
    }

    @Test func repositoryCredentialsComeFromTheSecretsFile() throws {
        let p = try plan(#"{"name": "a", "image": "registry.example:5000/team/app:1", "repositoryCredentials": {"credentialsParameter": "arn:aws:secretsmanager:us-east-1:1:secret:reg-Ab"}}"#)
        let ok = try ResolvedInputs.resolve(p, secrets: SecretStore(values: ["arn:aws:secretsmanager:us-east-1:1:secret:reg-Ab": #"{"username": "u", "password": "p"}"#]), definitionDirectory: "/")
        #expect(ok.registryCredentials["registry.example:5000"]?.username == "u")
        #expect(ok.registryCredentials["registry.example:5000"]?.password == "p")
        let unmapped = try ResolvedInputs.resolve(p, secrets: nil, definitionDirectory: "/")
        #expect(unmapped.warnings.first?.message.contains("pulled with your registry logins") == true)
        #expect(unmapped.warnings.first?.path == "containerDefinitions[0].repositoryCredentials.credentialsParameter")
        #expect(throws: LocalInputError.self) {
            try ResolvedInputs.resolve(p, secrets: SecretStore(values: ["arn:aws:secretsmanager:us-east-1:1:secret:reg-Ab": "user:pass"]), definitionDirectory: "/")
        }
    }
}

struct TaskPlanLocalTests {
    func plan(_ json: String) throws -> TaskPlan {
        try TaskPlan(try TaskDefinitionLoader.load(data: Data(json.utf8)), region: "us-east-1", account: "1")
    }

    @Test func volumesFromBringsTheSourcesMountsReadOnlyWhenAsked() throws {
        let p = try plan(#"""
            {"family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "volumes": [{"name": "a"}, {"name": "b"}, {"name": "e", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/x/../../y/./z"}}],
             "containerDefinitions": [
               {"name": "one", "image": "i", "mountPoints": [{"sourceVolume": "a", "containerPath": "/a/"}, {"sourceVolume": "e", "containerPath": "/e", "readOnly": true}]},
               {"name": "two", "image": "i", "mountPoints": [{"sourceVolume": "b", "containerPath": "/b"}], "volumesFrom": [{"sourceContainer": "one", "readOnly": true}]},
               {"name": "three", "image": "i", "volumesFrom": [{"sourceContainer": "two"}]}]}
            """#)
        #expect(p.volumes == ["a": .task, "b": .task, "e": .fileSystem(.efs, id: "fs-1", rootDirectory: "/y/z")])
        #expect(p.containers[1].volumeMounts == [.init(volume: "b", containerPath: "/b", readOnly: false),
                                                 .init(volume: "a", containerPath: "/a", readOnly: true),
                                                 .init(volume: "e", containerPath: "/e", readOnly: true)])
        #expect(p.containers[2].volumeMounts == p.containers[1].volumeMounts)
    }

    @Test func mountsOverKernelFilesystemsAreRefusedHere() throws {
        let p = try plan(#"""
            {"family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "volumes": [{"name": "v"}],
             "containerDefinitions": [{"name": "c", "image": "i", "mountPoints": [{"sourceVolume": "v", "containerPath": "/proc/../proc/sys"}],
                                       "linuxParameters": {"tmpfs": [{"containerPath": "/dev/shm", "size": 8}, {"containerPath": "/sys", "size": 8}]}}]}
            """#)
        #expect(p.unsupported.map(\.path) == ["containerDefinitions[0].mountPoints[0].containerPath", "containerDefinitions[0].linuxParameters.tmpfs[1].containerPath"])
    }

    @Test func awslogsStreams() throws {
        let p = try plan(#"""
            {"family": "f", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "c", "image": "i", "logConfiguration": {"logDriver": "awslogs",
               "options": {"awslogs-group": "/ecs/../f", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web", "awslogs-datetime-format": "%Y"}}}]}
            """#)
        #expect(p.containers[0].awslogs == .init(group: "/ecs/../f", streamPrefix: "web"))
        #expect(p.warnings == [ValidationIssue("containerDefinitions[0].logConfiguration.options", "awslogs-datetime-format not applied: each output line is one event", severity: .warning)])
        let root = try StateRoot(path: try TemporaryDirectory().path)
        defer { try? FileSystem.removeTree(root.path) }
        // A group cannot climb out of the awslogs directory.
        #expect(root.awslogsDirectory(group: "/ecs/../f", streamPrefix: "web") == root.path + "/awslogs/ecs/%2E%2E%/f/web")
        #expect(root.fileSystemDirectory(.efs, id: "../x") == root.path + "/efs/..%2Fx")
        #expect(root.fileSystemDirectory(.s3files, id: "arn:aws:s3files:us-east-1:1:file-system/fs-1")
                == root.path + "/s3files/arn:aws:s3files:us-east-1:1:file-system%2Ffs-1")
    }

    @Test func warningsNameWhatIsNotHonoured() throws {
        let w = LocalBehaviour.warnings(try TaskDefinitionLoader.load(data: Data(#"""
            {"family": "f", "taskRoleArn": "arn:aws:iam::1:role/r", "runtimePlatform": {"cpuArchitecture": "ARM64"},
             "containerDefinitions": [{"name": "c", "image": "i", "restartPolicy": {"enabled": true}, "pseudoTerminal": true,
                                       "logConfiguration": {"logDriver": "splunk"}}]}
            """#.utf8)).definition, hostArchitecture: "amd64")
        #expect(w.count == 4, "restartPolicy is applied, so not warned about: \(w)")
        #expect(w.map(\.path) == ["taskRoleArn", "runtimePlatform.cpuArchitecture", "containerDefinitions[0]", "containerDefinitions[0].logConfiguration"])
        // The task role is served (Docs/METADATA.md), only not assumed: a note, not a warning.
        #expect(w[0].severity == .note && w.dropFirst().allSatisfy { $0.severity == .warning })
        #expect(w[0].message.hasPrefix("arn:aws:iam::1:role/r is not assumed"))
        #expect(w[1].message.hasPrefix("ARM64, but this host is X86_64"))
        #expect(w[2].message.hasPrefix("c gets no terminal"))
        #expect(w[3].message.hasPrefix("the splunk driver is not used"))
    }
}
