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

    @Test func badInputGetsTheServicesExceptionsAndChangesNothing() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        let file = try host.h.task("""
            {"family": "burn", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["sh", "-c", "exec sleep 1000"]}]}
            """, name: "idle.json")
        #expect(try clients.aws(host, ["register-task-definition", "--cli-input-json", "file://" + file]).status == 0)
        let create = try clients.aws(host, ["create-service", "--service-name", "burn", "--task-definition", "burn", "--desired-count", "0",
                                            "--network-configuration", "awsvpcConfiguration={subnets=[subnet-1]}"])
        #expect(create.status == 0, "\(create.stderr)")

        func refused(_ args: [String], _ code: String, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try scaling(host, args)
            #expect(r.status != 0 && r.stderr.contains("(\(code))") && r.stderr.contains(text), "\(args): \(r.stderr)", sourceLocation: sourceLocation)
        }
        let dims = ["--scalable-dimension", "ecs:service:DesiredCount"]
        try refused(["register-scalable-target", "--service-namespace", "dynamodb", "--resource-id", "table/t", "--scalable-dimension",
                     "dynamodb:table:ReadCapacityUnits", "--min-capacity", "1", "--max-capacity", "2"], "ValidationException", "ServiceNamespace dynamodb")
        try refused(["register-scalable-target", "--service-namespace", "bogus", "--resource-id", "service/default/burn"] + dims,
                    "ValidationException", "Member must satisfy enum value set")
        try refused(["register-scalable-target", "--service-namespace", "ecs", "--resource-id", "service/default"] + dims
                    + ["--min-capacity", "1", "--max-capacity", "2"], "ValidationException", "ResourceId service/default is not service/CLUSTER/SERVICE")
        try refused(["register-scalable-target", "--service-namespace", "ecs", "--resource-id", "service/nowhere/burn"] + dims
                    + ["--min-capacity", "1", "--max-capacity", "2"], "ValidationException", "ECS service doesn't exist: service/nowhere/burn")
        try refused(["register-scalable-target"] + target, "ValidationException", "MinCapacity and MaxCapacity are required")
        try refused(["put-scaling-policy", "--policy-name", "cpu", "--policy-type", "TargetTrackingScaling"] + target
                    + ["--target-tracking-scaling-policy-configuration", #"{"TargetValue": 50, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}"#],
                    "ObjectNotFoundException", "No scalable target registered for service namespace: ecs, resource ID: service/default/burn")
        try refused(["put-scheduled-action", "--scheduled-action-name", "a", "--schedule", "rate(1 minute)"] + target, "ValidationException",
                    "PutScheduledAction is not supported")

        // A target with scale-in suspended; registering again changes only what is given.
        let register = try scaling(host, ["register-scalable-target"] + target + ["--min-capacity", "0", "--max-capacity", "2",
                                                                                  "--suspended-state", "DynamicScalingInSuspended=true"])
        #expect(register.status == 0, "\(register.stderr)")
        #expect(try scaling(host, ["register-scalable-target"] + target + ["--max-capacity", "5"]).status == 0)
        let targets = json(try scaling(host, ["describe-scalable-targets", "--service-namespace", "ecs", "--resource-ids", "service/default/burn"]))
        let t = (targets["ScalableTargets"] as? [[String: Any]])?.first ?? [:]
        #expect(t["MinCapacity"] as? Int == 0 && t["MaxCapacity"] as? Int == 5 && t["ScalableTargetARN"] as? String == json(register)["ScalableTargetARN"] as? String, "\(t)")
        #expect((t["SuspendedState"] as? [String: Any])?["DynamicScalingInSuspended"] as? Bool == true, "\(t)")
        try refused(["register-scalable-target"] + target + ["--min-capacity", "6"], "ValidationException", "MinCapacity 6, MaxCapacity 5")

        try refused(["put-scaling-policy", "--policy-name", "alb", "--policy-type", "TargetTrackingScaling"] + target
                    + ["--target-tracking-scaling-policy-configuration", #"{"TargetValue": 50, "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"}}"#],
                    "ValidationException", "PredefinedMetricType ALBRequestCountPerTarget is not supported")
        let memory = #"{"TargetValue": 60, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}}"#
        let first = try scaling(host, ["put-scaling-policy", "--policy-name", "mem", "--policy-type", "TargetTrackingScaling"] + target
                                + ["--target-tracking-scaling-policy-configuration", memory])
        #expect(first.status == 0, "\(first.stderr)")
        let second = try scaling(host, ["put-scaling-policy", "--policy-name", "mem", "--policy-type", "TargetTrackingScaling"] + target
                                 + ["--target-tracking-scaling-policy-configuration", memory.replacingOccurrences(of: "60", with: "75")])
        #expect(json(second)["PolicyARN"] as? String == json(first)["PolicyARN"] as? String, "a policy put again keeps its ARN")
        let policies = json(try scaling(host, ["describe-scaling-policies", "--service-namespace", "ecs", "--policy-names", "mem"]))["ScalingPolicies"] as? [[String: Any]] ?? []
        let config = policies.first?["TargetTrackingScalingPolicyConfiguration"] as? [String: Any] ?? [:]
        #expect(policies.count == 1 && config["TargetValue"] as? Double == 75 && config["ScaleInCooldown"] as? Int == 300, "\(policies)")
        let activities = json(try scaling(host, ["describe-scaling-activities", "--service-namespace", "ecs"]))["ScalingActivities"] as? [[String: Any]]
        #expect(activities?.isEmpty == true, "nothing scaled: \(String(describing: activities))")
        #expect(counts(host)?.desired == 0, "the service was not touched")

        // Deregistering takes the target's policies with it.
        #expect(try scaling(host, ["deregister-scalable-target"] + target).status == 0)
        let left = json(try scaling(host, ["describe-scaling-policies", "--service-namespace", "ecs"]))["ScalingPolicies"] as? [[String: Any]]
        #expect(left?.isEmpty == true, "\(String(describing: left))")
    }
}
