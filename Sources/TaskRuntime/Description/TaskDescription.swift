import ECSModel
import Foundation
import TaskNetwork

/// Who a task is: its id and ARNs, and who started it, as DescribeTasks shows it.
public struct TaskIdentity: Sendable, Codable, Equatable {
    public var taskId: String
    public var region: String
    public var account: String
    public var cluster: String
    public var startedBy: String
    /// RunTask's group (default `family:<family>`).
    public var group: String?
    public var tags: [ECS.Tag]?
    /// The id in the task's AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (random, 122 bits), when
    /// its containers are given task-role credentials.
    public var credentialsId: String?
    /// The availability zone the task is shown in; nil: "<region>-local".
    public var availabilityZone: String?
    /// FARGATE (nil) or FARGATE_SPOT, as RunTask's capacityProviderStrategy chose.
    public var capacityProvider: String?

    public init(taskId: String, region: String, account: String, cluster: String, startedBy: String = "fargate-run",
                group: String? = nil, tags: [ECS.Tag]? = nil, capacityProvider: String? = nil) {
        self.capacityProvider = capacityProvider
        self.taskId = taskId
        self.region = region
        self.account = account
        self.cluster = cluster
        self.startedBy = startedBy
        self.group = group
        self.tags = tags
    }

    public var taskArn: String { ARN.task(region: region, account: account, cluster: cluster, id: taskId) }
    public var clusterArn: String { ARN.cluster(region: region, account: account, name: cluster) }

    /// ECS runtime ids are "<task id>-<10 digits>"; ours are stable per container name. It is
    /// also the container's metadata endpoint id and its DockerId there, as on Fargate.
    public func runtimeId(_ container: String) -> String { TaskIdentity.runtimeId(taskId: taskId, container: container) }

    public static func runtimeId(taskId: String, container: String) -> String {
        var h: UInt32 = 2_166_136_261
        for b in container.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        let digits = String(h)
        return taskId + "-" + String(repeating: "0", count: 10 - digits.utf8.count) + digits
    }

    public func containerArn(_ container: String) -> String {
        ARN.container(region: region, account: account, cluster: cluster, taskId: taskId, runtimeId: runtimeId(container))
    }

    /// The task's availability zone.
    public var zone: String { availabilityZone ?? "\(region)-local" }

    /// A new credentials id: a random UUID (version 4), as the agent's, from the system's
    /// cryptographic generator.
    public static func newCredentialsId() -> String {
        var g = SystemRandomNumberGenerator()
        var b = (0..<16).map { _ in UInt8.random(in: 0...255, using: &g) }
        b[6] = b[6] & 0x0f | 0x40
        b[8] = b[8] & 0x3f | 0x80
        let hex = TaskIdentity.hex(b)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    /// A new task id: 32 random hex digits, as ECS's.
    public static func newTaskId() -> String {
        hex((0..<16).map { _ in UInt8.random(in: 0...255) })
    }

    /// Lower-case hex of `bytes` (not `String(format:)`, Foundation's formatting: a few µs a byte).
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(unsafeUninitializedCapacity: bytes.count * 2) { out in
            for (i, b) in bytes.enumerated() {
                out[2 * i] = digits[Int(b >> 4)]
                out[2 * i + 1] = digits[Int(b & 0x0f)]
            }
            return bytes.count * 2
        }
    }
}

/// When the things that happened to a task happened, besides what its lifecycle records.
public struct TaskTimes: Sendable, Codable, Equatable {
    public var createdAt: Date
    public var pullStartedAt: Date?
    public var pullStoppedAt: Date?
    public var stoppedAt: Date?

    public init(createdAt: Date) {
        self.createdAt = createdAt
    }
}

/// Renders a task as `aws ecs describe-tasks` shows it.
public enum TaskDescription {
    /// RunTask's overrides as DescribeTasks shows them: every container's entry, a bare
    /// `{"name"}` for one without overrides, and the task's own.
    static func overrides(_ plan: TaskPlan) -> ECS.TaskOverride {
        var o = plan.overrides ?? ECS.TaskOverride()
        let given = o.containerOverrides ?? []
        o.containerOverrides = plan.containers.map { c in given.first { $0.name == c.name } ?? ECS.ContainerOverride(name: c.name) }
        o.inferenceAcceleratorOverrides = o.inferenceAcceleratorOverrides ?? []
        return o
    }

    public static func render(plan: TaskPlan, identity: TaskIdentity, lifecycle: TaskLifecycle, times: TaskTimes,
                              attachment: TaskNetworkAttachment?, imageDigests: [String: String]) -> ECS.Task {
        let id = identity.taskId
        var task = ECS.Task(availabilityZone: identity.zone, capacityProviderName: identity.capacityProvider ?? "FARGATE",
                            clusterArn: identity.clusterArn, connectivity: ECS.Connectivity(rawValue: "CONNECTED"),
                            connectivityAt: ECS.Timestamp(times.createdAt), containers: [], cpu: String(plan.size.cpu),
                            createdAt: ECS.Timestamp(times.createdAt), desiredStatus: lifecycle.desiredStatus,
                            group: identity.group ?? "family:\(plan.family)",
                            healthStatus: ECS.HealthStatus(rawValue: lifecycle.health.rawValue),
                            lastStatus: lifecycle.status.rawValue, launchType: ECS.LaunchType(rawValue: "FARGATE"),
                            memory: String(plan.size.memory), platformVersion: "1.4.0", platformFamily: "Linux",
                            startedBy: identity.startedBy, tags: identity.tags, taskArn: identity.taskArn,
                            taskDefinitionArn: plan.taskDefinitionArn, version: 1,
                            ephemeralStorage: ECS.EphemeralStorage(sizeInGiB: plan.ephemeralStorageGiB))
        task.pullStartedAt = times.pullStartedAt.map(ECS.Timestamp.init)
        task.pullStoppedAt = times.pullStoppedAt.map(ECS.Timestamp.init)
        task.startedAt = lifecycle.startedAt.map(ECS.Timestamp.init)
        task.stoppingAt = lifecycle.stoppingAt.map(ECS.Timestamp.init)
        task.executionStoppedAt = lifecycle.executionStoppedAt.map(ECS.Timestamp.init)
        task.stoppedAt = times.stoppedAt.map(ECS.Timestamp.init)
        task.stopCode = lifecycle.stopCode.map { ECS.TaskStopCode(rawValue: $0.rawValue) }
        task.stoppedReason = lifecycle.stoppedReason
        task.overrides = overrides(plan)
        if let a = attachment {
            task.attachments = [ECS.Attachment(id: String(id.prefix(8)) + "-" + String(id.dropFirst(8).prefix(4)) + "-eni",
                                               type: "ElasticNetworkInterface", status: "ATTACHED", details: [
                ECS.KeyValuePair(name: "subnetId", value: "subnet-\(a.networkName)"),
                ECS.KeyValuePair(name: "networkInterfaceId", value: "eni-" + String(id.prefix(17))),
                ECS.KeyValuePair(name: "macAddress", value: a.mac),
                ECS.KeyValuePair(name: "privateDnsName", value: a.hostname),
                ECS.KeyValuePair(name: "privateIPv4Address", value: a.ip),
            ])]
        }
        task.containers = plan.containers.map { c in
            let state = lifecycle.container(c.name)
            var out = ECS.Container(containerArn: identity.containerArn(c.name), taskArn: identity.taskArn, name: c.name, image: c.image,
                                    imageDigest: imageDigests[c.name], runtimeId: identity.runtimeId(c.name),
                                    lastStatus: state?.status.rawValue, exitCode: state?.exitCode.map(Int.init), reason: state?.reason,
                                    healthStatus: state.map { ECS.HealthStatus(rawValue: $0.health.status.rawValue) },
                                    cpu: String(c.definition.cpu ?? 0), memory: c.definition.memory.map(String.init),
                                    memoryReservation: c.definition.memoryReservation.map(String.init))
            if let a = attachment {
                out.networkInterfaces = [ECS.NetworkInterface(attachmentId: task.attachments?.first?.id, privateIpv4Address: a.ip)]
                let own = (c.definition.portMappings ?? []).compactMap(\.containerPorts)
                let bindings = a.ports.filter { p in own.contains { $0.contains(p.containerPort) } }.map {
                    ECS.NetworkBinding(bindIP: $0.hostIP, containerPort: $0.containerPort, hostPort: $0.hostPort,
                                       protocol: ECS.TransportProtocol(rawValue: $0.proto))
                }
                if !bindings.isEmpty { out.networkBindings = bindings }
            }
            return out
        }
        return task
    }
}
