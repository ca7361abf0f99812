import ECSModel
import Foundation

/// A container's `restartPolicy` as the ECS agent applies it: a container that exits is
/// started again in the same task, unless the task is stopping, its exit code is ignored, or
/// it ran for less than `restartAttemptPeriod` since its last (re)start, so that a container
/// failing at once is not restarted in a loop.
public struct RestartRule: Sendable, Equatable, Codable {
    public var ignoredExitCodes: Set<Int32>
    /// Seconds a container must have run since its last start before it may be restarted.
    public var attemptPeriod: TimeInterval

    /// ECS's default when `restartAttemptPeriod` is absent.
    public static let defaultAttemptPeriod = 300

    /// nil unless the policy is present and enabled.
    public init?(_ policy: ECS.ContainerRestartPolicy?) {
        guard let policy, policy.enabled == true else { return nil }
        ignoredExitCodes = Set((policy.ignoredExitCodes ?? []).map { Int32(clamping: $0) })
        attemptPeriod = TimeInterval(policy.restartAttemptPeriod ?? RestartRule.defaultAttemptPeriod)
    }

    /// Whether to restart, or why not (for the log).
    public func decide(exitCode: Int32, startedAt: Date, now: Date, taskStopping: Bool) -> (restart: Bool, why: String) {
        if taskStopping { return (false, "the task is stopping") }
        if ignoredExitCodes.contains(exitCode) { return (false, "exit code \(exitCode) is in ignoredExitCodes") }
        let ran = now.timeIntervalSince(startedAt)
        if ran < attemptPeriod {
            return (false, String(format: "it ran %.0f s since its last start, under its restartAttemptPeriod of %.0f s", ran, attemptPeriod))
        }
        return (true, "")
    }
}
