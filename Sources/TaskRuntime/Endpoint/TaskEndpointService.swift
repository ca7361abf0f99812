import Foundation
import TaskNetwork

/// Serves tasks' metadata endpoints (TaskMetadata's `MetadataServer`): the runner hands it a
/// task's listener once the task's namespace has one, and takes the task back at its end. A
/// protocol here so the runtime knows nothing of HTTP.
public protocol TaskEndpointService: Sendable {
    /// Starts answering `task`'s endpoint on `sockets` (copies: the service closes its own).
    func serve(_ task: TaskRunner, on sockets: TaskEndpointSockets)
    /// Stops answering the task's endpoint; returns once its listener is closed.
    func stopServing(_ taskId: String) async
}

/// What a task's containers are given of the endpoint, and how its namespace treats
/// link-local addresses: command-line options, not task-definition fields.
public struct EndpointConfiguration: Sendable, Equatable {
    /// Serve the task-role credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI) to tasks with a
    /// taskRoleArn.
    public var taskCredentials = true
    /// Whether tasks may reach the rest of 169.254.0.0/16 and fd00:ec2::254 (the host's own
    /// link-local services: the instance metadata service on a cloud machine).
    public var allowLinkLocal = false
    /// The tasks' AvailabilityZone (describe-tasks and the endpoint); nil: "<region>-local".
    public var availabilityZone: String?

    public init(taskCredentials: Bool = true, allowLinkLocal: Bool = false, availabilityZone: String? = nil) {
        self.taskCredentials = taskCredentials
        self.allowLinkLocal = allowLinkLocal
        self.availabilityZone = availabilityZone
    }
}

/// Task scale-in protection (the agent's task-protection API; ECS's UpdateTaskProtection):
/// whether the task is protected, until when.
public struct TaskProtection: Codable, Sendable, Equatable {
    public var enabled: Bool
    public var expiresAt: Date?

    public init(enabled: Bool, expiresAt: Date?) {
        self.enabled = enabled
        self.expiresAt = expiresAt
    }

    /// As it stands at `now`: a protection past its expiry has ended.
    public func current(at now: Date = Date()) -> TaskProtection {
        guard enabled, let expiresAt, expiresAt <= now else { return self }
        return TaskProtection(enabled: false, expiresAt: nil)
    }

    /// ECS's bounds for ExpiresInMinutes, and its default.
    public static let minutes = 1...2880
    public static let defaultMinutes = 120
}

/// A task as its metadata endpoint shows it, at one moment.
public struct TaskSnapshot: Sendable {
    public var plan: TaskPlan
    public var identity: TaskIdentity
    public var lifecycle: TaskLifecycle
    public var times: TaskTimes
    public var attachment: TaskNetworkAttachment?
    /// Config digests of the containers' images (Docker's ImageID), by container.
    public var imageIds: [String: String]
    /// The task cgroup's directories; each container's cgroup is beneath, by its name.
    public var cgroupDirectories: [String]
    /// Host pids of the containers' processes, by container.
    public var pids: [String: Int32]
    /// Host directories backing the task's volumes, by volume name.
    public var volumeDirectories: [String: String]
    public var networkMode: NetworkOptions.Mode
    /// The task's directory (its name files are in `etc/`, its writable layers in `containers/`).
    public var taskDirectory: String
    public var protection: TaskProtection
    /// Whether the task's containers were given task-role credentials.
    public var hasTaskCredentials: Bool

    public init(plan: TaskPlan, identity: TaskIdentity, lifecycle: TaskLifecycle, times: TaskTimes, attachment: TaskNetworkAttachment?,
                imageIds: [String: String], cgroupDirectories: [String], pids: [String: Int32], volumeDirectories: [String: String],
                networkMode: NetworkOptions.Mode, taskDirectory: String, protection: TaskProtection, hasTaskCredentials: Bool) {
        self.plan = plan
        self.identity = identity
        self.lifecycle = lifecycle
        self.times = times
        self.attachment = attachment
        self.imageIds = imageIds
        self.cgroupDirectories = cgroupDirectories
        self.pids = pids
        self.volumeDirectories = volumeDirectories
        self.networkMode = networkMode
        self.taskDirectory = taskDirectory
        self.protection = protection
        self.hasTaskCredentials = hasTaskCredentials
    }
}
