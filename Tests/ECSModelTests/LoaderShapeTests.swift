import ECSModel
import Foundation
import Testing

func load(_ text: String, name: String? = nil, _ options: TaskDefinitionLoader.Options = .init()) throws -> LoadedTaskDefinition {
    try TaskDefinitionLoader.load(data: Data(text.utf8), name: name, options: options)
}

/// The API-shaped files (RegisterTaskDefinition input, describe output, console exports),
/// JSON or YAML: what deploy tools accept, fargate-run accepts, with the same meaning.
struct LoaderShapeTests {
    static let size = #""networkMode": "awsvpc", "cpu": "256", "memory": "512""#

    @Test func describeQueryOutputKeepsArnAndRevision() throws {
        let l = try load(#"{"family": "f", \#(Self.size), "taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/f:9", "revision": 9, "status": "ACTIVE", "compatibilities": ["EC2", "FARGATE"], "requiresAttributes": [{"name": "ecs.capability.task-eni"}], "registeredAt": "2025-01-02T03:04:05Z", "registeredBy": "arn:aws:iam::1:root", "deregisteredAt": null, "containerDefinitions": [{"name": "c", "image": "i"}]}"#)
        #expect(l.allIssues == [] && l.warnings == [])
        #expect(l.format == .taskDefinition)
        #expect(l.definition.revision == 9 && l.definition.taskDefinitionArn == "arn:aws:ecs:us-east-1:1:task-definition/f:9")
    }

    @Test func describeOnlyMembersAreStillTypeChecked() throws {
        let l = try load(#"{"family": "f", \#(Self.size), "revision": "nine", "containerDefinitions": [{"name": "c", "image": "i"}]}"#)
        #expect(l.allIssues == [ValidationIssue("revision", "expected an integer, found the string \"nine\"")])
    }

    @Test func tagsBesideTheDefinitionAsTheConsoleShowsThem() throws {
        let l = try load(#"{"family": "f", \#(Self.size), "containerDefinitions": [{"name": "c", "image": "i"}], "tags": [{"key": "a", "value": "b"}]}"#)
        #expect(l.allIssues == [] && l.tags?.first?.value == "b")
        let described = try load(#"{"taskDefinition": {"family": "f", \#(Self.size), "containerDefinitions": [{"name": "c", "image": "i"}]}, "tags": [], "taggs": 1}"#)
        #expect(described.allIssues == [ValidationIssue("taggs", "unknown member: did you mean \"tags\"?")])
    }

    @Test func nullMeansAbsent() throws {
        let l = try load(#"{"family": "f", \#(Self.size), "ipcMode": null, "taskRoleArn": null, "volumes": null, "containerDefinitions": [{"name": "c", "image": "i", "links": null, "privileged": null, "healthCheck": null, "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "g", "awslogs-region": "r", "awslogs-stream-prefix": "p", "mode": null}}}]}"#)
        #expect(l.allIssues == [])
        #expect(l.definition.ipcMode == nil && l.definition.containerDefinitions?[0].logConfiguration?.options?["mode"] == nil)
        // A required member that is null is missing.
        #expect(try load(#"{"family": "f", \#(Self.size), "containerDefinitions": [{"name": "c", "image": null}]}"#).allIssues
            == [ValidationIssue("containerDefinitions[0].image", "required")])
    }

    @Test func emptyListsAskForNothing() throws {
        let l = try load(#"{"family": "f", \#(Self.size), "placementConstraints": [], "inferenceAccelerators": [], "containerDefinitions": [{"name": "c", "image": "i", "links": [], "dnsServers": [], "dnsSearchDomains": [], "extraHosts": [], "dockerSecurityOptions": [], "credentialSpecs": [], "disableNetworking": false, "privileged": false, "linuxParameters": {"devices": []}}]}"#)
        #expect(l.allIssues == [])
    }

    /// What Fargate refuses stays refused, in every shape.
    @Test func refusalsThatStay() throws {
        func paths(_ container: String, task: String = Self.size) throws -> [String] {
            try load(#"{"family": "f", \#(task), "containerDefinitions": [{"name": "c", "image": "i", \#(container)}]}"#).allIssues.map(\.path)
        }
        #expect(try paths(#""privileged": true"#) == ["containerDefinitions[0].privileged"])
        #expect(try paths(#""links": ["x"]"#) == ["containerDefinitions[0].links"])
        #expect(try paths(#""dnsServers": ["10.0.0.2"]"#) == ["containerDefinitions[0].dnsServers"])
        #expect(try paths(#""disableNetworking": true"#) == ["containerDefinitions[0].disableNetworking"])
        #expect(try paths(#""linuxParameters": {"devices": [{"hostPath": "/dev/fuse"}]}"#) == ["containerDefinitions[0].linuxParameters.devices"])
        #expect(try paths(#""essential": true"#, task: #""networkMode": "bridge", "cpu": "256", "memory": "512""#) == ["networkMode"])
        #expect(try paths(#""essential": true"#, task: #""networkMode": "awsvpc", "cpu": "256", "memory": "4096""#) == ["memory"])
    }

    @Test func healthCheckForms() throws {
        func check(_ command: String) throws -> LoadedTaskDefinition {
            try load(#"{"family": "f", \#(Self.size), "containerDefinitions": [{"name": "c", "image": "i", "healthCheck": {"command": \#(command)}}]}"#)
        }
        #expect(try check(#"["CMD", "true"]"#).checked.errors == [] && check(#"["CMD-SHELL", "exit 0"]"#).warnings == [])
        for form in [#"["NONE"]"#, #"["curl -f http://localhost/"]"#, #"["curl", "-f", "http://localhost/"]"#] {
            let l = try check(form)
            #expect(l.allIssues == [], "ECS registers \(form)")
            #expect(l.warnings.map(\.path) == ["containerDefinitions[0].healthCheck.command"])
            #expect(l.warnings.first?.message.contains("health stays UNKNOWN") == true)
        }
        #expect(try check(#"["curl", "-f", "http://localhost/"]"#).warnings.first?.message.contains(#"write ["CMD-SHELL", "curl -f http://localhost/"]"#) == true)
        #expect(try check(#"["CMD"]"#).allIssues == [ValidationIssue("containerDefinitions[0].healthCheck.command", "\"CMD\" needs a command after it")])
    }

    @Test(arguments: [("portBindings", "portMappings"), ("ports", "portMappings"), ("env", "environment"), ("workdir", "workingDirectory"),
                      ("labels", "dockerLabels"), ("working_dir", "workingDirectory"), ("depends_on", "dependsOn"), ("sysctls", "systemControls")])
    func dockerWordsGetADidYouMean(_ word: String, _ member: String) throws {
        let l = try load(#"{"family": "f", \#(Self.size), "containerDefinitions": [{"name": "c", "image": "i", "\#(word)": 1}]}"#)
        #expect(l.allIssues == [ValidationIssue("containerDefinitions[0].\(word)", "unknown member: did you mean \"\(member)\"?")])
    }

    @Test func formatIsFoundByNameThenFirstCharacter() throws {
        let yaml = "family: f\nnetworkMode: awsvpc\ncpu: '256'\nmemory: '512'\ncontainerDefinitions:\n  - name: c\n    image: i\n"
        #expect(try load(yaml).syntax == "YAML")
        #expect(try load(yaml, name: "task.yml").allIssues == [])
        #expect(try load(#"{"family": "f"}"#, name: "task.yaml").syntax == "YAML", "JSON is YAML")
        #expect(throws: TaskDefinitionError.self) { try load("family: f", name: "task.json") }
    }

    @Test func yamlScalarsAreTypedAsTheAWSCLIReadsThem() throws {
        let l = try load("""
            family: f
            networkMode: awsvpc
            cpu: "256"
            memory: '512'
            containerDefinitions:
              - name: c
                image: i
                essential: true
                cpu: 0o20
                memoryReservation: 064
                stopTimeout: 0x1E
                readonlyRootFilesystem: ~
                command: [yes, no, on, "007", 'true']
            """)
        #expect(l.allIssues == [])
        let c = try #require(l.definition.containerDefinitions?.first)
        #expect(c.cpu == 16 && c.memoryReservation == 64 && c.stopTimeout == 30 && c.readonlyRootFilesystem == nil)
        #expect(c.essential == true && c.command == ["yes", "no", "on", "007", "true"])
        // A number where a string belongs is refused, as the CLI refuses it: quote it.
        let numbers = try load("family: f\nnetworkMode: awsvpc\ncpu: 256\nmemory: '512'\ncontainerDefinitions: [{name: c, image: i, command: [1.5]}]")
        #expect(numbers.allIssues.map(\.path) == ["cpu", "containerDefinitions[0].command[0]"])
    }

    @Test func yamlErrorsSayWhere() {
        #expect {
            try load("family: f\ncontainerDefinitions:\n  - name: c\n   image: i\n")
        } throws: { "\($0)".contains("invalid YAML at line") }
        #expect {
            try load("family: f\nfamily: g\n")
        } throws: { "\($0)".contains("\"family\" appears twice") }
        #expect {
            try load("family: !Secret f\n")
        } throws: { "\($0)".contains("unknown tag !Secret") }
        let bomb = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c]\n"
        #expect {
            try load(bomb)
        } throws: { "\($0)".contains("aliases expand to more nodes") }
    }

    @Test func flagsFillWhatTheFileLeavesOut() throws {
        let file = #"{"containerDefinitions": [{"name": "c", "image": "i"}], "cpu": "256"}"#
        let l = try load(file, TaskDefinitionLoader.Options(family: "f", memory: "512", networkMode: "awsvpc", taskRoleArn: "arn:aws:iam::1:role/t"))
        #expect(l.allIssues == [])
        #expect(l.definition.family == "f" && l.definition.taskRoleArn == "arn:aws:iam::1:role/t")
        let conflict = try load(file, TaskDefinitionLoader.Options(family: "f", cpu: "512", memory: "512", networkMode: "awsvpc"))
        #expect(conflict.allIssues.map(\.path) == ["cpu"])
        #expect(conflict.allIssues.first?.message.contains("--cpu only fills in a member the file leaves out") == true)
        let bad = try load(file, TaskDefinitionLoader.Options(family: "f", memory: "5 GB", networkMode: "host"))
        #expect(bad.allIssues.map(\.path) == ["--network-mode", "--memory"], "a flag's value is checked at the flag")
    }
}
