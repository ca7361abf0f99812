import ECSModel
import Images

/// What a running task reports besides container output.
public protocol TaskObserver: Sendable {
    func imageProgress(_ event: ImageProgress)
    func statusChanged(_ task: ECS.Task)
    func warning(_ message: String)
    /// A container's health changed (HEALTHY or UNHEALTHY), with the last check's output.
    func healthChanged(container: String, status: HealthStatus, detail: String)
    /// A container exited and its restartPolicy started it again (`count` restarts so far).
    func containerRestarted(container: String, exitCode: Int32, count: Int)
}

/// Hears nothing: for tasks nobody watches from a terminal.
public struct SilentObserver: TaskObserver {
    public init() {}
    public func imageProgress(_ event: ImageProgress) {}
    public func statusChanged(_ task: ECS.Task) {}
    public func warning(_ message: String) {}
    public func healthChanged(container: String, status: HealthStatus, detail: String) {}
    public func containerRestarted(container: String, exitCode: Int32, count: Int) {}
}
