#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// ECS services on a real `serve`, driven by boto3 and the aws CLI: the desired count kept,
/// rolling deployments, the circuit breaker, deletion, bad input, and a host restart.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct ECSServiceTests {
    let clients = ECSAPIClientTests()

    @Test func boto3RunsAServiceThroughDeploymentsARollbackAndItsDeletion() throws {
        // A task without a health check counts as healthy 2 s after RUNNING here (ECS: 40 s).
        let host = try HostTests.Host(["--task-healthy-after", "2"])
        defer { host.cleanup() }
        let r = try clients.check("services", host, environment: ["ROOT": host.h.root])
        #expect(r.status == 0 && r.stdout.hasSuffix("all passed\n"), "\(r.stdout)\n\(r.stderr)")
        #expect(host.h.taskIds().allSatisfy { host.h.leftovers($0).isEmpty }, "nothing of any task is left")
    }

    @Test func aServiceOutlivesItsHostAndIsKeptByTheNextOne() throws {
        let host = try HostTests.Host(["--task-healthy-after", "1"])
        defer { host.cleanup() }
        let file = try host.h.task(#"""
            {"family": "kept", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["sh", "-c", "exec sleep 1000"], "stopTimeout": 2}]}
            """#, name: "kept.json")
        let register = try clients.aws(host, ["register-task-definition", "--cli-input-json", "file://" + file])
        #expect(register.status == 0, "\(register.stderr)")
        let create = try clients.aws(host, ["create-service", "--service-name", "kept", "--task-definition", "kept", "--desired-count", "2",
                                            "--network-configuration", "awsvpcConfiguration={subnets=[subnet-1]}"])
        #expect(create.status == 0, "\(create.stderr)")
        let stable = try clients.aws(host, ["wait", "services-stable", "--services", "kept"])
        #expect(stable.status == 0, "\(stable.stderr)")
        let before = Set(try running(host))
        #expect(before.count == 2)

        // The host dies; one task's process dies while no host runs.
        host.kill9()
        let victim = try #require(before.sorted().first)
        let pid = try #require(host.pids(victim)["app"])
        kill(pid, SIGKILL)
        try host.start()
        #expect(eventually(timeout: 60) { (try? running(host)).map { Set($0).count == 2 && !$0.contains(victim) } ?? false },
                "the new host replaced the task that died meanwhile")
        #expect(Set(try running(host)).isSuperset(of: before.subtracting([victim])), "and kept the other")
        let events = try clients.aws(host, ["describe-services", "--services", "kept", "--query", "services[0].events[].message", "--output", "text"])
        #expect(events.stdout.contains("(service kept) has started 1 tasks"), "\(events.stdout)")

        #expect(try clients.aws(host, ["delete-service", "--service", "kept", "--force"]).status == 0)
        let gone = try clients.aws(host, ["wait", "services-inactive", "--services", "kept"])
        #expect(gone.status == 0, "\(gone.stderr)")
        #expect(eventually(timeout: 30) { (try? running(host))?.isEmpty == true })
    }

    /// `fargate-run service ...` over the host's socket, for people without the aws CLI.
    @Test func theServiceCommandsCreateUpdateListAndRemoveAService() throws {
        let host = try HostTests.Host(["--task-healthy-after", "1"])
        defer { host.cleanup() }
        func service(_ args: [String]) throws -> RunResult {
            try run(fargateRunBinary, ["service", args[0], "--root", host.h.root] + args.dropFirst())
        }
        let v1 = try host.h.task(#"{"family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["sh", "-c", "echo v1; exec sleep 1000"], "stopTimeout": 2}]}"#, name: "v1.json")
        let v2 = try host.h.task(#"{"family": "web", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["sh", "-c", "echo v2; exec sleep 1000"], "stopTimeout": 2}]}"#, name: "v2.json")

        let create = try service(["create", "web", v1, "--desired-count", "2", "--wait", "--wait-timeout", "60"])
        #expect(create.status == 0, "\(create.stderr)")
        #expect(create.stdout.hasSuffix(":service/default/web\n"), "prints the service's ARN: \(create.stdout)")
        let ls = try service(["ls"])
        let row = ls.stdout.split(separator: "\n").first { $0.hasPrefix("web ") }.map { $0.split(separator: " ").map(String.init) }
        #expect(row == ["web", "ACTIVE", "2", "2", "0", "web:1", "COMPLETED"], "\(ls.stdout)")
        #expect(try service(["ps", "web"]).stdout.components(separatedBy: " RUNNING ").count == 3)

        let update = try service(["update", "web", "--task-definition", v2, "--wait", "--wait-timeout", "60"])
        #expect(update.status == 0, "\(update.stderr)")
        let ps = try service(["ps", "web"])
        #expect(ps.stdout.components(separatedBy: " web:2 ").count == 3 && !ps.stdout.contains("web:1"), "only new tasks: \(ps.stdout)")
        // More than one RunTask's 10 at once, and back.
        let up = try service(["update", "web", "--desired-count", "12", "--wait", "--wait-timeout", "60"])
        #expect(up.status == 0, "\(up.stderr)")
        #expect(try service(["ps", "web"]).stdout.components(separatedBy: " RUNNING ").count == 13)
        #expect(try service(["update", "web", "--desired-count", "2", "--wait", "--wait-timeout", "60"]).status == 0)
        // Steady again once the ten are gone.
        #expect(eventually(timeout: 20) {
            (try? service(["events", "web", "-n", "1"]))?.stdout.hasSuffix("(service web) has reached a steady state.\n") == true
        }, "\((try? service(["events", "web"]))?.stdout ?? "")")
        #expect(try service(["events", "web"]).stdout.contains("(service web) has stopped 10 running tasks"))

        // Bad input: the API's exception, exit status 2, nothing made.
        let bad = try service(["create", "other", v1, "--maximum-percent", "50"])
        #expect(bad.status == 2 && bad.stderr.contains("InvalidParameterException") && bad.stderr.contains("maximumPercent"), "\(bad.stderr)")
        let missing = try service(["update", "nosuch", "--desired-count", "1"])
        #expect(missing.status == 2 && missing.stderr.contains("ServiceNotFoundException"), "\(missing.stderr)")
        #expect(!(try service(["ls"]).stdout.contains("other")))

        let refused = try service(["rm", "web"])
        #expect(refused.status == 2 && refused.stderr.contains("scaled above 0"), "\(refused.stderr)")
        let rm = try service(["rm", "web", "--force"])
        #expect(rm.status == 0 && rm.stdout == "web: DRAINING\n", "\(rm.stdout) \(rm.stderr)")
        #expect(eventually(timeout: 30) { host.h.taskIds().allSatisfy { ((host.h.state($0)?["task"] as? [String: Any])?["lastStatus"] as? String) == "STOPPED" } },
                "its tasks are stopped")
    }

    /// The ids of the service's RUNNING tasks, by the aws CLI.
    func running(_ host: HostTests.Host) throws -> [String] {
        let r = try clients.aws(host, ["list-tasks", "--service-name", "kept", "--desired-status", "RUNNING", "--query", "taskArns", "--output", "text"])
        return r.stdout.split(whereSeparator: { $0 == "\t" || $0 == "\n" }).filter { $0 != "None" }.map { String($0.split(separator: "/").last!) }
    }
}
