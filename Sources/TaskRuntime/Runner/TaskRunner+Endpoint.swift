import Foundation
import TaskNetwork

/// The task's metadata endpoint, seen from the runner: handing its listener to the service
/// that answers it, what it shows of the task, and scale-in protection.
extension TaskRunner {
    /// Whether a task of `plan` run with `config` gives its containers task-role credentials.
    nonisolated static func servesCredentials(_ plan: TaskPlan, _ config: RunConfiguration) -> Bool {
        plan.taskRoleArn != nil && config.endpoint.taskCredentials && config.endpoints != nil
    }

    /// Hands the task's listener to the endpoint service. The backend made it before any
    /// container started; it is answered once the service has it (connections wait).
    func serveEndpoint() {
        guard !endpointServed, let endpoints = config.endpoints, let sockets = backend.endpointSockets() else { return }
        endpointServed = true
        endpoints.serve(self, on: sockets)
        mark("endpoint served")
    }

    /// The task as its metadata endpoint shows it now.
    public func snapshot() -> TaskSnapshot {
        let r = backend.resources
        return TaskSnapshot(plan: plan, identity: identity, lifecycle: lifecycle, times: times, attachment: attachment ?? r.network,
                            imageIds: imageIds, cgroupDirectories: r.cgroupDirectories, pids: backend.pids(),
                            volumeDirectories: backend.volumeSources(), networkMode: config.network.mode,
                            taskDirectory: config.root.taskDirectory(taskId), protection: protection.current(),
                            hasTaskCredentials: identity.credentialsId != nil)
    }

    /// The task's scale-in protection now.
    public func currentProtection() -> TaskProtection { protection.current() }

    /// Protects the task from scale-in for `minutes` (ECS's default 120), or ends its
    /// protection; recorded in its state. The caller checks `minutes` is within
    /// `TaskProtection.minutes`.
    @discardableResult
    public func protect(_ enabled: Bool, minutes: Int? = nil, now: Date = Date()) -> TaskProtection {
        protection = enabled
            ? TaskProtection(enabled: true, expiresAt: now.addingTimeInterval(Double(minutes ?? TaskProtection.defaultMinutes) * 60))
            : TaskProtection(enabled: false, expiresAt: nil)
        publish()
        return protection
    }
}
