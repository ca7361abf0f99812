import Foundation

/// A task's target as ELB's DescribeTargetHealth would describe it (`TargetHealth`: State,
/// Reason, Description, in ELB's words), kept in the service's record by the scheduler so
/// `fargate-run service ps` and `service targets` can show it. ELB's states are initial,
/// healthy, unhealthy, unused, draining and unavailable; fargate-run uses all but unavailable
/// (ELB's own internal error).
public struct TargetHealthRecord: Codable, Sendable, Equatable {
    public var state: String
    public var reason: String?
    public var description: String?

    public init(state: String, reason: String? = nil, description: String? = nil) {
        self.state = state
        self.reason = reason
        self.description = description
    }

    /// Registered, its first health checks not yet done (the task is not yet RUNNING).
    public static let registering = TargetHealthRecord(state: "initial", reason: "Elb.RegistrationInProgress",
                                                       description: "Target registration is in progress")
    /// RUNNING, its health checks not yet passed `healthyThreshold` times in a row.
    public static let initialChecks = TargetHealthRecord(state: "initial", reason: "Elb.InitialHealthChecking",
                                                         description: "Initial health checks in progress")
    public static let healthy = TargetHealthRecord(state: "healthy")
    /// Failed `unhealthyThreshold` checks in a row. Kept while ECS stops its task (ELB itself
    /// would say draining once ECS deregisters it; this keeps why in sight).
    public static let unhealthy = TargetHealthRecord(state: "unhealthy", reason: "Target.FailedHealthChecks",
                                                     description: "Health checks failed")
    /// Deregistered, its connections given the deregistration delay.
    public static let draining = TargetHealthRecord(state: "draining", reason: "Target.DeregistrationInProgress",
                                                    description: "Target deregistration is in progress")
    /// Deregistered and done draining (its task is being stopped), or never registered.
    public static let unused = TargetHealthRecord(state: "unused", reason: "Target.NotRegistered",
                                                  description: "Target is not registered to the target group")
}

extension ServiceReconciler {
    /// Each task's target health as ELB would report it now, from what the scheduler decided
    /// (registered, stopping, why) and the latest target checks. Tasks of a service without a
    /// load balancer have none.
    static func assessTargets(_ s: inout ServiceRecord, _ observed: [String: ObservedTask]) {
        guard !s.loadBalancers.isEmpty else { return }
        let failedTarget = s.loadBalancers.map { ServiceEvents.failedTargetHealthChecks($0.targetGroupArn ?? "") }
        for i in s.tasks.indices {
            let t = s.tasks[i], o = observed[t.id]
            let health: TargetHealthRecord
            if let reason = t.stopReason {
                // Stopped for its target's health: unhealthy until the task is gone.
                health = failedTarget.contains(reason) ? .unhealthy : t.stopRequested || t.stopAt == nil ? .unused : .draining
            } else if o?.targetHealthy == false {
                // Within the grace period, or not yet acted on: no new connections reach it.
                health = .unhealthy
            } else if t.registered {
                health = .healthy
            } else if o?.runningSince == nil {
                health = .registering
            } else {
                health = .initialChecks
            }
            if s.tasks[i].target != health { s.tasks[i].target = health }
        }
    }
}
