#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// The ECS API of `fargate-run serve` driven by the real aws CLI and boto3 (pinned versions in
/// /opt/fargate-run-test-clients, made by rootfs-tools/install-deps.sh), over real tasks.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct ECSAPIClientTests {
    static let clients = "/opt/fargate-run-test-clients/bin"
    static let checks = repositoryRoot + "/Tests/EndToEndTests/ECSClients/ecs_checks.py"

    /// The clients must be there: their absence fails the test, with how to get them.
    func requireClients() throws {
        try #require(FileManager.default.isExecutableFile(atPath: ECSAPIClientTests.clients + "/aws"),
                     "the aws CLI and boto3 for these tests: run rootfs-tools/install-deps.sh")
    }

    /// Runs one check of ecs_checks.py with boto3 against `host`.
    func check(_ name: String, _ host: HostTests.Host, environment: [String: String] = [:]) throws -> RunResult {
        try requireClients()
        var env = ["ECS_ENDPOINT": host.ecsEndpoint, "IMAGE": host.h.image, "PATH": "/usr/bin:/bin", "HOME": host.h.dir.path]
        env.merge(environment) { $1 }
        return try run(ECSAPIClientTests.clients + "/python", [ECSAPIClientTests.checks, name], environment: env)
    }

    /// The aws CLI against `host`, its output as JSON where it prints some.
    func aws(_ host: HostTests.Host, _ args: [String]) throws -> RunResult {
        try requireClients()
        let env = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_MAX_ATTEMPTS": "1", "PATH": "/usr/bin:/bin", "HOME": host.h.dir.path]
        return try run(ECSAPIClientTests.clients + "/aws", ["--endpoint-url", host.ecsEndpoint, "--output", "json", "ecs"] + args, environment: env)
    }

    @Test func boto3DrivesClustersDefinitionsTasksAndTags() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        let r = try check("lifecycle", host)
        #expect(r.status == 0 && r.stdout.hasSuffix("all passed\n"), "\(r.stdout)\n\(r.stderr)")
    }

    @Test func theAwsCLIRunsATaskTheFargateRunCLISeesAndStateOutlivesTheHost() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        // A realistic definition, as --cli-input-json takes it (with a log configuration and
        // a health check).
        let file = try host.h.task(#"""
            {"family": "cli-web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512", "memory": "1024",
             "executionRoleArn": "arn:aws:iam::000000000000:role/ecsTaskExecutionRole",
             "containerDefinitions": [
               {"name": "web", "image": "IMAGE", "essential": true, "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                "command": ["sh", "-c", "mkdir -p /www && echo ok > /www/index.html; echo serving $MODE; exec httpd -f -p 8080 -h /www"],
                "environment": [{"name": "MODE", "value": "prod"}],
                "healthCheck": {"command": ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/ || exit 1"], "interval": 5, "retries": 3, "startPeriod": 1},
                "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/cli-web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}},
                "stopTimeout": 2}]}
            """#, name: "cli-web.json")
        let reg = try aws(host, ["register-task-definition", "--cli-input-json", "file://" + file])
        #expect(reg.status == 0, "\(reg.stderr)")
        let td = try json(reg.stdout)["taskDefinition"] as? [String: Any]
        #expect(td?["taskDefinitionArn"] as? String == "arn:aws:ecs:us-east-1:000000000000:task-definition/cli-web:1")

        let overrides = #"{"containerOverrides": [{"name": "web", "environment": [{"name": "MODE", "value": "test"}]}]}"#
        let runTask = try aws(host, ["run-task", "--task-definition", "cli-web", "--count", "2", "--overrides", overrides,
                                     "--network-configuration", "awsvpcConfiguration={subnets=[subnet-1],securityGroups=[sg-web]}",
                                     "--started-by", "cli-test"])
        #expect(runTask.status == 0, "\(runTask.stderr)")
        let arns = ((try json(runTask.stdout)["tasks"] as? [[String: Any]]) ?? []).compactMap { $0["taskArn"] as? String }
        #expect(arns.count == 2)
        let waited = try aws(host, ["wait", "tasks-running", "--tasks"] + arns)
        #expect(waited.status == 0, "\(waited.stderr)")
        let q = try aws(host, ["describe-tasks", "--tasks"] + arns + ["--query", "tasks[].[lastStatus, containers[0].name, group, startedBy]", "--output", "text"])
        #expect(q.stdout.split(separator: "\n").allSatisfy { $0 == "RUNNING\tweb\tfamily:cli-web\tcli-test" }, "\(q.stdout) \(q.stderr)")
        let listed = try aws(host, ["list-tasks", "--started-by", "cli-test", "--query", "length(taskArns)"])
        #expect(listed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "\(listed.stdout)")

        // The same tasks, to the fargate-run CLI: ps, logs (the override reached the container), exec.
        let id = String(arns[0].split(separator: "/").last!)
        let ps = try host.cli(["ps"])
        #expect(ps.stdout.contains(String(id.prefix(12))) && ps.stdout.contains("cli-web"), "\(ps.stdout)")
        #expect(eventually(timeout: 10) { (try? host.cli(["logs", id]).stdout.contains("serving test")) == true }, "the override's environment")
        let e = try host.cli(["exec", id, "--", "sh", "-c", "echo $MODE"])
        #expect(e.stdout == "test\n", "\(e.stdout) \(e.stderr)")

        let stop = try aws(host, ["stop-task", "--task", arns[0], "--reason", "from the aws CLI"])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(try host.cli(["stop", String(arns[1].split(separator: "/").last!)]).status == 0, "the fargate-run CLI stops an API task")
        let stopped = try aws(host, ["wait", "tasks-stopped", "--tasks"] + arns)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        let reasons = try aws(host, ["describe-tasks", "--tasks", arns[0], "--query", "tasks[0].[lastStatus, stopCode, stoppedReason]", "--output", "text"])
        #expect(reasons.stdout == "STOPPED\tUserInitiated\tfrom the aws CLI\n", "\(reasons.stdout)")
        let tag = try aws(host, ["tag-resource", "--resource-arn", td?["taskDefinitionArn"] as? String ?? "", "--tags", "key=owner,value=me"])
        #expect(tag.status == 0, "\(tag.stderr)")

        // A new host: the definitions, tags and stopped tasks are still there.
        try host.restart()
        let again = try aws(host, ["describe-task-definition", "--task-definition", "cli-web:1", "--include", "TAGS",
                                   "--query", "[taskDefinition.revision, tags[0].value]", "--output", "text"])
        #expect(again.stdout == "1\tme\n", "\(again.stdout) \(again.stderr)")
        let still = try aws(host, ["describe-tasks", "--tasks"] + arns + ["--query", "[length(tasks), length(failures)]", "--output", "text"])
        #expect(still.stdout == "2\t0\n", "stopped tasks stay describable: \(still.stdout) \(still.stderr)")
        let next = try aws(host, ["register-task-definition", "--cli-input-json", "file://" + file, "--query", "taskDefinition.revision"])
        #expect(next.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "2", "revisions go on: \(next.stdout)")

        // run -d of a file runs a registered revision: the latest when it is the same
        // definition, else a new one; DescribeTaskDefinition shows what the task ran.
        func revisionRun(_ file: String) throws -> String {
            let id = try host.cli(["run", "-d", file]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            _ = try host.cli(["stop", id])
            let arn = try aws(host, ["describe-tasks", "--tasks", id, "--query", "tasks[0].taskDefinitionArn", "--output", "text"])
            return arn.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        #expect(try revisionRun(file).hasSuffix(":task-definition/cli-web:2"), "the same definition as revision 2")
        let changed = try host.h.task(try String(contentsOfFile: file, encoding: .utf8).replacingOccurrences(of: #""value": "prod""#, with: #""value": "staging""#),
                                      name: "cli-web-staging.json")
        #expect(try revisionRun(changed).hasSuffix(":task-definition/cli-web:3"), "another definition: a new revision")
        #expect(try revisionRun(changed).hasSuffix(":task-definition/cli-web:3"), "and the same one again")
        let three = try aws(host, ["describe-task-definition", "--task-definition", "cli-web:3", "--query",
                                   "taskDefinition.containerDefinitions[0].environment[0].value", "--output", "text"])
        #expect(three.stdout == "staging\n", "\(three.stdout) \(three.stderr)")

        // Errors as the CLI shows them.
        let missing = try aws(host, ["run-task", "--cluster", "nope", "--task-definition", "cli-web"])
        #expect(missing.status == 255 && missing.stderr.contains("An error occurred (ClusterNotFoundException) when calling the RunTask operation: Cluster not found."),
                "\(missing.status) \(missing.stderr)")
        let invalid = try aws(host, ["register-task-definition", "--family", "x", "--requires-compatibilities", "FARGATE", "--cpu", "100", "--container-definitions", #"[{"name": "a", "image": "busybox"}]"#])
        #expect(invalid.status == 255 && invalid.stderr.contains("(ClientException)"), "\(invalid.stderr)")
    }

    @Test func theDeployActionsRunTaskJobSucceeds() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        // As exported from the console: read-only members and nulls the action drops.
        let file = try host.h.task(#"""
            {"taskDefinitionArn": "arn:aws:ecs:us-east-1:111122223333:task-definition/migrate:7", "family": "migrate", "revision": 7,
             "status": "ACTIVE", "compatibilities": ["EC2", "FARGATE"], "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.task-iam-role"}],
             "registeredAt": "2024-05-01T10:00:00.000Z", "registeredBy": "arn:aws:iam::111122223333:root",
             "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512", "taskRoleArn": null, "volumes": [],
             "placementConstraints": [], "containerDefinitions": [
               {"name": "migrate", "image": "IMAGE", "essential": true, "command": ["sh", "-c", "echo migrating; sleep 1; echo done"],
                "environment": [], "mountPoints": [], "volumesFrom": [], "portMappings": [], "cpu": 0, "memoryReservation": null},
               {"name": "sidecar", "image": "IMAGE", "essential": false, "command": ["true"], "dependsOn": null}]}
            """#, name: "taskdef.json")
        let r = try check("deploy-action", host, environment: ["TASK_DEFINITION_FILE": file])
        #expect(r.status == 0 && r.stdout.contains("all 2 containers exited 0"), "\(r.stdout)\n\(r.stderr)")
    }

    @Test func errorsAndBadInputGetTheirExceptionsAndChangeNothing() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        let errors = try check("errors", host)
        #expect(errors.status == 0, "\(errors.stdout)\n\(errors.stderr)")
        let bad = try check("bad-input", host)
        #expect(bad.status == 0, "\(bad.stdout)\n\(bad.stderr)")
        #expect(host.h.taskIds().isEmpty, "no refused request made a task")
    }

    @Test func withCredentialsSignaturesAreCheckedAndKeysNameTheirAccount() throws {
        let dir = try TemporaryDirectory("fr-keys")
        defer { dir.remove() }
        let keys = dir.path + "/credentials"
        try """
            [ci]
            aws_access_key_id = AKIDCI
            aws_secret_access_key = ci-secret
            account = 123456789012

            [session]
            aws_access_key_id = ASIASESSION
            aws_secret_access_key = session-secret
            aws_session_token = the-token
            """.write(toFile: keys, atomically: false, encoding: .utf8)
        let host = try HostTests.Host(["--credentials", keys])
        defer { host.cleanup() }
        let r = try check("sigv4", host, environment: ["GOOD_KEY": "AKIDCI", "GOOD_SECRET": "ci-secret", "GOOD_ACCOUNT": "123456789012",
                                                       "TOKEN_KEY": "ASIASESSION", "TOKEN_SECRET": "session-secret", "TOKEN": "the-token"])
        #expect(r.status == 0, "\(r.stdout)\n\(r.stderr)")

        // A listener beyond loopback needs keys (or --insecure-listen).
        let open = try run("/usr/bin/timeout", ["-k", "5", "20", fargateRunBinary, "serve", "--root", dir.path + "/other", "--listen", "0.0.0.0:0"])
        #expect(open.status == 64 && open.stderr.contains("is not a loopback address"), "\(open.stderr)")
        let port = try run(fargateRunBinary, ["serve", "--root", dir.path + "/other", "--listen", "127.0.0.1:99999"])
        #expect(port.status == 64 && port.stderr.contains(#"--listen "127.0.0.1:99999": port 99999 is not 0 to 65535"#), "\(port.stderr)")
        let badKeys = dir.path + "/bad"
        try "[x]\naws_access_key_id = A\n".write(toFile: badKeys, atomically: false, encoding: .utf8)
        let refused = try run("/usr/bin/timeout", ["-k", "5", "20", fargateRunBinary, "serve", "--root", dir.path + "/other", "--credentials", badKeys])
        #expect(refused.status == 1 && refused.stderr.contains("\(badKeys):1: [x] needs aws_access_key_id and aws_secret_access_key"), "\(refused.stderr)")
    }
}
