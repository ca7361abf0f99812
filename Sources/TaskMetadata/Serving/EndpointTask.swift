import Foundation
import TaskRuntime

/// What an endpoint needs of its task: a `TaskRunner`, or a test's stand-in.
public protocol EndpointTask: Sendable {
    var taskId: String { get }
    /// The id of the task's credentials URI, when its containers were given one.
    var credentialsId: String? { get }
    /// The task as the endpoint shows it now.
    func snapshot() async -> TaskSnapshot
    /// Sets the task's scale-in protection (`minutes` within ECS's bounds, checked before).
    func protectTask(_ enabled: Bool, minutes: Int?) async -> TaskProtection
}

extension TaskRunner: EndpointTask {
    public nonisolated var credentialsId: String? { identity.credentialsId }

    public func protectTask(_ enabled: Bool, minutes: Int?) -> TaskProtection { protect(enabled, minutes: minutes) }
}
