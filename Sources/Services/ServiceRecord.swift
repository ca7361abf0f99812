import ECSModel
import Foundation

/// A service as the scheduler keeps it: what CreateService and UpdateService asked for, its
/// deployments, its events, and the tasks it started that it has not yet seen stop. Stored
/// whole (JSON) by a `ServiceRecordStore`, so a new host resumes every service as it was.
public struct ServiceRecord: Codable, Sendable, Equatable {
    public var arn: String
    public var name: String
    public var cluster: String
    public var clusterArn: String
    /// ACTIVE, DRAINING (being deleted: its tasks are stopped), INACTIVE (deleted).
    public var status: String
    public var desiredCount: Int
    /// The PRIMARY deployment's task definition ARN.
    public var taskDefinition: String
    public var minimumHealthyPercent: Int
    public var maximumPercent: Int
    public var circuitBreaker: ECS.DeploymentCircuitBreaker?
    public var networkConfiguration: ECS.NetworkConfiguration?
    public var loadBalancers: [ECS.LoadBalancer]
    public var serviceRegistries: [ECS.ServiceRegistry]
    public var serviceConnect: ECS.ServiceConnectConfiguration?
    public var healthCheckGracePeriodSeconds: Int
    public var capacityProviderStrategy: [ECS.CapacityProviderStrategyItem]?
    public var propagateTags: String?
    public var enableECSManagedTags: Bool
    public var enableExecuteCommand: Bool
    public var tags: [ECS.Tag]
    public var createdAt: Date
    public var createdBy: String
    public var account: String
    /// Newest first: the PRIMARY one, then older ones whose tasks are still being replaced.
    public var deployments: [DeploymentRecord]
    /// Newest first, at most `ServiceRecord.maxEvents`.
    public var events: [ServiceEventRecord]
    /// Tasks started for this service and not yet seen STOPPED, with what the scheduler knows
    /// of each beyond its state (its deployment, when it was first healthy, a stop it asked).
    public var tasks: [ServiceTaskRecord]
    /// Tasks failing to start one after another, and when the next start may be tried.
    public var startFailures: Int
    public var nextStartAt: Date?
    /// Whether the service was steady when last looked at (for the steady-state event).
    public var steady: Bool

    public static let maxEvents = 100

    public init(arn: String, name: String, cluster: String, clusterArn: String, desiredCount: Int, taskDefinition: String,
                minimumHealthyPercent: Int = 100, maximumPercent: Int = 200, circuitBreaker: ECS.DeploymentCircuitBreaker? = nil,
                networkConfiguration: ECS.NetworkConfiguration? = nil, loadBalancers: [ECS.LoadBalancer] = [],
                serviceRegistries: [ECS.ServiceRegistry] = [], serviceConnect: ECS.ServiceConnectConfiguration? = nil,
                healthCheckGracePeriodSeconds: Int = 0, capacityProviderStrategy: [ECS.CapacityProviderStrategyItem]? = nil,
                propagateTags: String? = nil, enableECSManagedTags: Bool = false, enableExecuteCommand: Bool = false,
                tags: [ECS.Tag] = [], createdAt: Date, createdBy: String, account: String) {
        self.arn = arn
        self.name = name
        self.cluster = cluster
        self.clusterArn = clusterArn
        status = "ACTIVE"
        self.desiredCount = desiredCount
        self.taskDefinition = taskDefinition
        self.minimumHealthyPercent = minimumHealthyPercent
        self.maximumPercent = maximumPercent
        self.circuitBreaker = circuitBreaker
        self.networkConfiguration = networkConfiguration
        self.loadBalancers = loadBalancers
        self.serviceRegistries = serviceRegistries
        self.serviceConnect = serviceConnect
        self.healthCheckGracePeriodSeconds = healthCheckGracePeriodSeconds
        self.capacityProviderStrategy = capacityProviderStrategy
        self.propagateTags = propagateTags
        self.enableECSManagedTags = enableECSManagedTags
        self.enableExecuteCommand = enableExecuteCommand
        self.tags = tags
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.account = account
        deployments = []
        events = []
        tasks = []
        startFailures = 0
        steady = false
    }

    public var primary: DeploymentRecord? { deployments.first }

    /// Starts a deployment of `taskDefinition` as the PRIMARY one (CreateService, a new
    /// revision, forceNewDeployment): the one before it goes on as ACTIVE until its tasks are
    /// replaced.
    public mutating func deploy(_ taskDefinition: String, at now: Date) {
        for i in deployments.indices where deployments[i].status == "PRIMARY" {
            deployments[i].status = "ACTIVE"
            deployments[i].updatedAt = now
        }
        self.taskDefinition = taskDefinition
        deployments.insert(DeploymentRecord(id: DeploymentRecord.newId(), taskDefinition: taskDefinition, createdAt: now,
                                            networkConfiguration: networkConfiguration), at: 0)
        startFailures = 0
        nextStartAt = nil
        steady = false
    }

    public mutating func event(_ message: String, at now: Date) {
        events.insert(ServiceEventRecord(id: UUID().uuidString.lowercased(), createdAt: now, message: message), at: 0)
        if events.count > ServiceRecord.maxEvents { events.removeLast(events.count - ServiceRecord.maxEvents) }
    }
}

/// One deployment of a service: a task definition rolled out to `desiredCount` tasks.
public struct DeploymentRecord: Codable, Sendable, Equatable {
    /// `ecs-svc/` and 19 digits, as ECS's.
    public var id: String
    /// PRIMARY (the newest), ACTIVE (older, its tasks being replaced).
    public var status: String
    public var taskDefinition: String
    public var createdAt: Date
    public var updatedAt: Date
    public var networkConfiguration: ECS.NetworkConfiguration?
    /// IN_PROGRESS, COMPLETED, FAILED.
    public var rolloutState: String
    public var rolloutStateReason: String
    /// Tasks of this deployment that failed one after another (the circuit breaker's count);
    /// reset, and no longer counted, once one of its tasks runs healthy.
    public var failedTasks: Int
    /// One of its tasks has run healthy: the circuit breaker no longer watches it.
    public var hadHealthyTask: Bool

    public init(id: String, taskDefinition: String, createdAt: Date, networkConfiguration: ECS.NetworkConfiguration?) {
        self.id = id
        status = "PRIMARY"
        self.taskDefinition = taskDefinition
        self.createdAt = createdAt
        updatedAt = createdAt
        self.networkConfiguration = networkConfiguration
        rolloutState = "IN_PROGRESS"
        rolloutStateReason = "ECS deployment \(id) in progress."
        failedTasks = 0
        hadHealthyTask = false
    }

    public static func newId() -> String {
        "ecs-svc/" + String(UInt64.random(in: 1_000_000_000_000_000_000...9_999_999_999_999_999_999))
    }
}

public struct ServiceEventRecord: Codable, Sendable, Equatable {
    public var id: String
    public var createdAt: Date
    public var message: String
}

/// What the scheduler keeps about one of its tasks.
public struct ServiceTaskRecord: Codable, Sendable, Equatable {
    public var id: String
    public var arn: String
    public var deployment: String
    /// When it was first counted healthy (it then counts toward minimumHealthyPercent).
    public var healthyAt: Date?
    /// Set when the scheduler decided to stop it: why, and when its stop is due (after its
    /// targets' deregistration delay).
    public var stopReason: String?
    public var stopAt: Date?
    /// The stop was asked of the host.
    public var stopRequested: Bool
    /// Registered in its service's target groups.
    public var registered: Bool
    /// Its target's health as ELB would report it (nil without a load balancer, and in records
    /// saved before it was kept).
    public var target: TargetHealthRecord?

    public init(id: String, arn: String, deployment: String) {
        self.id = id
        self.arn = arn
        self.deployment = deployment
        stopRequested = false
        registered = false
    }
}
