import Foundation

/// The numbers ECS's REPLICA scheduler works by.
public enum DeploymentRules {
    /// Most tasks (RUNNING and PENDING, of every deployment) the service may have at once:
    /// desiredCount × maximumPercent / 100, rounded down.
    public static func maximumTasks(desired: Int, maximumPercent: Int) -> Int { desired * maximumPercent / 100 }

    /// Fewest healthy tasks the service keeps while it replaces others: desiredCount ×
    /// minimumHealthyPercent / 100, rounded up.
    public static func minimumHealthy(desired: Int, minimumHealthyPercent: Int) -> Int {
        (desired * minimumHealthyPercent + 99) / 100
    }

    /// The circuit breaker's failed-task threshold: half the desired count, rounded up, within
    /// [3, 200] (ServiceDeploymentCircuitBreaker in the API reference).
    public static func circuitBreakerThreshold(desired: Int) -> Int { min(200, max(3, (desired + 1) / 2)) }

    /// How long starts wait after `failures` tasks in a row failed to start: nothing for the
    /// first two, then 5 s doubling, at most 15 minutes (ECS's throttle grows to 15 min).
    public static func startDelay(failures: Int) -> TimeInterval? {
        guard failures >= 3 else { return nil }
        return min(900, 5 * pow(2, Double(min(failures - 3, 10))))
    }
}
