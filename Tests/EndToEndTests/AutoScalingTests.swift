#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// Application Auto Scaling on a real `serve`, driven by the aws CLI: a scalable target and a
/// CPU target tracking policy on a service whose task spins scale it out to its maximum; an idle
/// revision brings it back in once the deployment is done; the activities say both; targets
/// and policies outlive the host; bad input gets the service's exceptions.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct AutoScalingTests {
    let clients = ECSAPIClientTests()
    let target = ["--service-namespace", "ecs", "--scalable-dimension", "ecs:service:DesiredCount", "--resource-id", "service/default/burn"]

    /// `aws application-autoscaling ARGS` against `host`.
    func scaling(_ host: HostTests.Host, _ args: [String]) throws -> RunResult {
        try clients.requireClients()
        let env = ["AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                   "AWS_MAX_ATTEMPTS": "1", "PATH": "/usr/bin:/bin", "HOME": host.h.dir.path]
        return try run(ECSAPIClientTests.clients + "/aws", ["--endpoint-url", host.ecsEndpoint, "--output", "json", "application-autoscaling"] + args,
                       environment: env)
    }

    func json(_ r: RunResult) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8))) as? [String: Any] ?? [:]
    }

    /// The service's desired and running counts, by the aws CLI.
    func counts(_ host: HostTests.Host) -> (desired: Int, running: Int)? {
        guard let r = try? clients.aws(host, ["describe-services", "--services", "burn"]),
              let s = (json(r)["services"] as? [[String: Any]])?.first,
              let desired = s["desiredCount"] as? Int, let running = s["runningCount"] as? Int else { return nil }
        return (desired, running)
    }

    @Test func aCPUTargetScalesAServiceOutUnderLoadAndInAfterward() throws {
        // One-second datapoints: out after 3 s above the target, in after 15 s below 90 % of it.
        let host = try HostTests.Host(["--task-healthy-after", "1", "--autoscaling-period", "1"])
        defer {
            // Deleted first, so the scheduler does not replace the tasks cleanup stops.
            _ = try? clients.aws(host, ["delete-service", "--service", "burn", "--force"])
            host.cleanup()
        }
        // Revision 1 spins on its quarter CPU (the task's 256 units are its cgroup's quota);
        // revision 2 sleeps.
        for (n, command) in [(1, "while :; do :; done"), (2, "exec sleep 1000")] {
            let file = try host.h.task("""
                {"family": "burn", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
                 "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["sh", "-c", "\(command)"], "stopTimeout": 2}]}
                """, name: "burn\(n).json")
            let r = try clients.aws(host, ["register-task-definition", "--cli-input-json", "file://" + file])
            #expect(r.status == 0, "\(r.stderr)")
        }

        // A target for a service that does not exist is refused, as AWS refuses it.
        let early = try scaling(host, ["register-scalable-target"] + target + ["--min-capacity", "1", "--max-capacity", "3"])
        #expect(early.status != 0 && early.stderr.contains("ValidationException") && early.stderr.contains("ECS service doesn't exist: service/default/burn"),
                "\(early.stderr)")

        let create = try clients.aws(host, ["create-service", "--service-name", "burn", "--task-definition", "burn:1", "--desired-count", "1",
                                            "--network-configuration", "awsvpcConfiguration={subnets=[subnet-1]}"])
        #expect(create.status == 0, "\(create.stderr)")

        let register = try scaling(host, ["register-scalable-target"] + target + ["--min-capacity", "1", "--max-capacity", "3"])
        #expect(register.status == 0 && (json(register)["ScalableTargetARN"] as? String)?.hasPrefix("arn:aws:application-autoscaling:us-east-1:") == true,
                "\(register.stdout)\(register.stderr)")
        let bounds = try scaling(host, ["register-scalable-target"] + target + ["--min-capacity", "4", "--max-capacity", "3"])
        #expect(bounds.status != 0 && bounds.stderr.contains("ValidationException") && bounds.stderr.contains("MinCapacity"), "\(bounds.stderr)")
        let step = try scaling(host, ["put-scaling-policy", "--policy-name", "steps", "--policy-type", "StepScaling"] + target
                               + ["--step-scaling-policy-configuration", #"{"AdjustmentType": "ChangeInCapacity", "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 1}]}"#])
        #expect(step.status != 0 && step.stderr.contains("ValidationException") && step.stderr.contains("TargetTrackingScaling"), "\(step.stderr)")

        let put = try scaling(host, ["put-scaling-policy", "--policy-name", "cpu40", "--policy-type", "TargetTrackingScaling"] + target
                              + ["--target-tracking-scaling-policy-configuration",
                                 #"{"TargetValue": 40, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleOutCooldown": 2, "ScaleInCooldown": 2}"#])
        #expect(put.status == 0, "\(put.stderr)")
        #expect((json(put)["Alarms"] as? [[String: Any]])?.count == 2, "\(put.stdout)")

        #expect(eventually(timeout: 60) { counts(host).map { $0.desired == 3 && $0.running == 3 } ?? false },
                "the spinning service scales out to its maximum: \(String(describing: counts(host)))")

        // An idle revision: once its deployment is done the CPU drops and the service scales in.
        let update = try clients.aws(host, ["update-service", "--service", "burn", "--task-definition", "burn:2"])
        #expect(update.status == 0, "\(update.stderr)")
        #expect(eventually(timeout: 90) { counts(host).map { $0.desired == 1 && $0.running == 1 } ?? false },
                "the idle service scales in to its minimum: \(String(describing: counts(host)))")

        let activities = json(try scaling(host, ["describe-scaling-activities", "--service-namespace", "ecs", "--resource-id", "service/default/burn"]))
        let list = activities["ScalingActivities"] as? [[String: Any]] ?? []
        let causes = list.compactMap { $0["Cause"] as? String }
        #expect(causes.contains { $0.contains("-AlarmHigh-") && $0.hasSuffix("triggered policy cpu40") }, "\(causes)")
        #expect(causes.first?.contains("-AlarmLow-") == true, "the newest activity is the scale-in: \(causes)")
        #expect(list.first?["Description"] as? String == "Setting desired count to 1.", "\(list)")
        #expect(list.allSatisfy { $0["StatusCode"] as? String == "Successful" })

        // Targets and policies are in the control plane's database: a new host has them.
        try host.restart()
        let targets = json(try scaling(host, ["describe-scalable-targets", "--service-namespace", "ecs"]))["ScalableTargets"] as? [[String: Any]] ?? []
        #expect(targets.count == 1 && targets.first?["MinCapacity"] as? Int == 1 && targets.first?["MaxCapacity"] as? Int == 3, "\(targets)")
        let policies = json(try scaling(host, ["describe-scaling-policies", "--service-namespace", "ecs"]))["ScalingPolicies"] as? [[String: Any]] ?? []
        #expect(policies.first?["PolicyName"] as? String == "cpu40", "\(policies)")

        let delete = try scaling(host, ["delete-scaling-policy", "--policy-name", "cpu40"] + target)
        #expect(delete.status == 0, "\(delete.stderr)")
        let again = try scaling(host, ["delete-scaling-policy", "--policy-name", "cpu40"] + target)
        #expect(again.stderr.contains("ObjectNotFoundException"), "\(again.stderr)")
        #expect(try scaling(host, ["deregister-scalable-target"] + target).status == 0)
        let none = try scaling(host, ["deregister-scalable-target"] + target)
        #expect(none.stderr.contains("ObjectNotFoundException") && none.stderr.contains("No scalable target found"), "\(none.stderr)")
    }
}
