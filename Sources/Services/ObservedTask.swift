import Foundation

/// What the scheduler sees of one of its tasks at a reconcile: its phase, its health, and its
/// target health when the service has a load balancer.
public struct ObservedTask: Sendable, Equatable {
    public enum Phase: Sendable, Equatable {
        /// PROVISIONING, PENDING or ACTIVATING.
        case pending
        case running(since: Date)
        /// Asked to stop (by someone), not yet STOPPED.
        case stopping
        /// STOPPED: whether it ever ran, and who stopped it.
        case stopped(reachedRunning: Bool, stopCode: String?)
        /// No state at all (never made, or removed).
        case missing
    }

    public var id: String
    public var phase: Phase
    /// The task's health: HEALTHY, UNHEALTHY or UNKNOWN.
    public var health: String
    /// Whether an essential container has a health check (else the 40 s rule applies).
    public var hasHealthCheck: Bool
    /// nil until its first target health result (or without a load balancer).
    public var targetHealthy: Bool?

    public init(id: String, phase: Phase, health: String = "UNKNOWN", hasHealthCheck: Bool = false, targetHealthy: Bool? = nil) {
        self.id = id
        self.phase = phase
        self.health = health
        self.hasHealthCheck = hasHealthCheck
        self.targetHealthy = targetHealthy
    }

    var isGone: Bool {
        switch phase {
        case .stopped, .missing: true
        default: false
        }
    }

    var runningSince: Date? {
        if case .running(let since) = phase { return since }
        return nil
    }
}

/// What a reconcile asks of the host.
public enum ServiceAction: Sendable, Equatable {
    case start(deployment: String, taskDefinition: String, count: Int)
    case stop(taskId: String, reason: String)
}

/// Host-wide settings of the scheduler.
public struct SchedulerSettings: Sendable {
    /// A task without an essential-container health check counts as healthy this long after
    /// it is RUNNING (ECS: 40 s).
    public var healthyAfter: TimeInterval
    /// How long a task stays out of its target groups, draining, before it is stopped.
    public var deregistrationDelay: TimeInterval

    public init(healthyAfter: TimeInterval = 40, deregistrationDelay: TimeInterval = 10) {
        self.healthyAfter = healthyAfter
        self.deregistrationDelay = deregistrationDelay
    }
}
