/// The texts of service events and of the stop reasons of tasks the scheduler stops, as ECS
/// words them (../shared/ECS-CONTROL-PLANE.md §3.3).
public enum ServiceEvents {
    public static func started(_ s: String, _ ids: [String]) -> String {
        "(service \(s)) has started \(ids.count) tasks: \(ids.map { "(task \($0))" }.joined(separator: " "))."
    }

    public static func stopped(_ s: String, _ ids: [String]) -> String {
        "(service \(s)) has stopped \(ids.count) running tasks: \(ids.map { "(task \($0))" }.joined(separator: " "))."
    }

    public static func registered(_ s: String, _ n: Int, _ targetGroup: String) -> String {
        "(service \(s)) registered \(n) targets in (target-group \(targetGroup))"
    }

    public static func deregistered(_ s: String, _ n: Int, _ targetGroup: String) -> String {
        "(service \(s)) deregistered \(n) targets in (target-group \(targetGroup))"
    }

    public static func draining(_ s: String, _ deployment: String, _ n: Int) -> String {
        "(service \(s), taskSet \(deployment)) has begun draining connections on \(n) tasks."
    }

    public static func targetUnhealthy(_ s: String, _ task: String, _ port: Int, _ targetGroup: String) -> String {
        "(service \(s)) (task \(task)) (port \(port)) is unhealthy in (target-group \(targetGroup)) due to (reason Health checks failed)."
    }

    public static func failedHealthChecks(_ s: String, _ task: String) -> String {
        "(service \(s)) (task \(task)) failed container health checks."
    }

    public static func deploymentCompleted(_ s: String, _ deployment: String) -> String {
        "(service \(s)) (deployment \(deployment)) deployment completed."
    }

    public static func steadyState(_ s: String) -> String { "(service \(s)) has reached a steady state." }

    public static func unableToPlace(_ s: String, _ reason: String) -> String { "(service \(s)) was unable to place a task. Reason: \(reason)." }

    public static func throttled(_ s: String) -> String { "(service \(s)) is unable to consistently start tasks successfully." }

    public static func deploymentFailed(_ s: String, _ deployment: String) -> String {
        "(service \(s)) (deployment \(deployment)) deployment failed: tasks failed to start."
    }

    public static func rollingBack(_ s: String, _ deployment: String) -> String { "(service \(s)) rolling back to deployment \(deployment)." }

    public static func stuck(_ s: String) -> String {
        "(service \(s)) was unable to stop or start tasks during a deployment because of the service deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again."
    }

    // Stop reasons.
    public static func scalingActivity(_ deployment: String) -> String { "Scaling activity initiated by (deployment \(deployment))" }
    public static let failedContainerHealthChecks = "Task failed container health checks"
    public static func failedTargetHealthChecks(_ targetGroup: String) -> String { "Task failed ELB health checks in (target-group \(targetGroup))" }
}
