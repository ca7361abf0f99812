/// A task's `lastStatus`, in the order ECS moves through them. A task only ever moves forward;
/// a failed start may skip steps (PROVISIONING straight to DEPROVISIONING).
public enum TaskStatus: String, Sendable, Codable, CaseIterable, Comparable {
    case provisioning = "PROVISIONING"
    case pending = "PENDING"
    case activating = "ACTIVATING"
    case running = "RUNNING"
    case deactivating = "DEACTIVATING"
    case stopping = "STOPPING"
    case deprovisioning = "DEPROVISIONING"
    case stopped = "STOPPED"

    var order: Int { TaskStatus.allCases.firstIndex(of: self)! }

    public static func < (a: TaskStatus, b: TaskStatus) -> Bool { a.order < b.order }

    /// Whether a task in this status may report `next`: only later statuses.
    public func canMove(to next: TaskStatus) -> Bool { next > self }
}

/// A container's `lastStatus`.
public enum ContainerStatus: String, Sendable, Codable {
    case pending = "PENDING"
    case running = "RUNNING"
    case stopped = "STOPPED"
}

/// A `dependsOn` condition.
public enum DependencyCondition: String, Sendable, Codable, CaseIterable {
    /// The dependency has started (reached RUNNING).
    case start = "START"
    /// The dependency has stopped, whatever its exit code.
    case complete = "COMPLETE"
    /// The dependency has stopped with exit code 0.
    case success = "SUCCESS"
    /// The dependency's health check passed.
    case healthy = "HEALTHY"
}

/// `healthStatus` of a container or a task.
public enum HealthStatus: String, Sendable, Codable {
    case healthy = "HEALTHY"
    case unhealthy = "UNHEALTHY"
    case unknown = "UNKNOWN"
}

/// Why a task stopped (`stopCode`), as ECS names it.
public enum StopCode: String, Sendable, Codable {
    case taskFailedToStart = "TaskFailedToStart"
    case essentialContainerExited = "EssentialContainerExited"
    case userInitiated = "UserInitiated"
    case serviceSchedulerInitiated = "ServiceSchedulerInitiated"
    case spotInterruption = "SpotInterruption"
    case terminationNotice = "TerminationNotice"
}
