import ECSModel
import Foundation

/// What the scheduler needs of the host: starting and stopping a service's tasks and seeing
/// them. The ECS API provides the real one over `TaskHost`; tests, a fake.
public protocol ServicePlatform: Sendable {
    /// Starts `count` tasks of `deployment` for service `s`; returns their ids and ARNs.
    func start(_ s: ServiceRecord, deployment: DeploymentRecord, count: Int) async throws -> [(id: String, arn: String)]
    func stop(_ taskId: String, reason: String) async
    /// Each task as it is now (every id gets an answer: `.missing` when there is no such task),
    /// with its address when it has one.
    func observe(_ ids: [String]) async -> [String: (ObservedTask, ip: String?)]
}

/// Where services are kept between hosts.
public protocol ServiceRecordStore: Sendable {
    func services() throws -> [ServiceRecord]
    func save(_ record: ServiceRecord) throws
}

/// A target group's listener and its healthy targets, for the load balancer.
public struct TargetGroupTargets: Sendable, Equatable {
    public var targetGroupArn: String
    public var containerPort: Int
    /// Task addresses registered in the target group (healthy, not draining).
    public var targets: [String]
}
