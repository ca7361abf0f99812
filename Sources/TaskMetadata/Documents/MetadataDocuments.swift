import ECSModel
import Foundation
import TaskNetwork
import TaskRuntime

/// Which version of the endpoint a document is for: v2 and v3 have the same documents; v4
/// adds fields and moves `Containers` and a container's `Networks` (the agent's v4 types embed
/// the v2 ones and add their own after them).
public enum MetadataVersion: Int, Sendable {
    case v2 = 2, v3 = 3, v4 = 4
}

/// What the host adds to a task's v4 document: its clock's state, the task's disk use, its
/// name servers.
public struct HostFacts: Sendable {
    public struct ClockDrift: Sendable {
        /// Milliseconds.
        public var errorBound: Double
        public var reference: GoTime
        public var synchronized: Bool
    }

    public var clockDrift: ClockDrift?
    /// MiB used by the task's writable layers and volumes.
    public var storageUsedMiB: Int64?
    /// The task's resolv.conf: name servers and search domains.
    public var nameServers: [String] = []
    public var searchDomains: [String] = []

    public init() {}
}

/// The metadata documents of one task, as the ECS agent builds them (its
/// `ecs-agent/tmds/handlers/v2/response.go` and `v4/state/response.go`), with Fargate's forms:
/// the cluster's ARN, DockerId = the container's endpoint id, DockerName = its name.
struct MetadataDocuments {
    let task: TaskSnapshot
    let version: MetadataVersion
    let host: HostFacts

    var identity: TaskIdentity { task.identity }

    /// The task: `GET /v4/{id}/task`, `/v3/{id}/task`, `/v2/metadata`.
    func taskDocument(withTags: Bool) -> GoJSON {
        var o = GoObject()
        o.add("Cluster", identity.clusterArn)
        o.add("TaskARN", identity.taskArn)
        o.add("Family", task.plan.family)
        o.add("Revision", String(task.plan.revision))
        o.omitEmpty("DesiredStatus", task.lifecycle.desiredStatus)
        o.add("KnownStatus", MetadataDocuments.knownStatus(task.lifecycle.status))
        let containers = task.plan.containers.map { containerDocument($0) }
        if version != .v4 { o.omitEmpty("Containers", containers) }
        var limits = GoObject()
        limits.add("CPU", .double(Double(task.plan.size.cpu) / 1024))
        limits.add("Memory", .int(Int64(task.plan.size.memory)))
        o.add("Limits", limits.json)
        o.omitNil("PullStartedAt", task.times.pullStartedAt.map { .string(GoTime($0).rfc3339Nano) })
        o.omitNil("PullStoppedAt", task.times.pullStoppedAt.map { .string(GoTime($0).rfc3339Nano) })
        o.omitNil("ExecutionStoppedAt", task.lifecycle.executionStoppedAt.map { .string(GoTime($0).rfc3339Nano) })
        o.omitEmpty("AvailabilityZone", identity.zone)
        if withTags {
            var tags: [String: String] = [:]
            for t in identity.tags ?? [] { if let k = t.key { tags[k] = t.value ?? "" } }
            o.omitEmpty("TaskTags", map: tags)
        }
        guard version == .v4 else { return o.json }
        o.add("LaunchType", "FARGATE")
        o.omitEmpty("Containers", containers)
        if let group = identity.group, group.hasPrefix("service:") { o.omitEmpty("ServiceName", String(group.dropFirst(8))) }
        if let drift = host.clockDrift {
            var c = GoObject()
            if drift.errorBound != 0 { c.add("ClockErrorBound", .double(drift.errorBound)) }
            c.add("ReferenceTimestamp", drift.reference.rfc3339)
            c.add("ClockSynchronizationStatus", drift.synchronized ? "SYNCHRONIZED" : "NOT_SYNCHRONIZED")
            o.add("ClockDrift", c.json)
        }
        if let used = host.storageUsedMiB {
            var e = GoObject()
            e.add("Utilized", .int(used))
            // Fargate shows 20496 for its default 20 GiB: the size in MiB and 16 more.
            e.add("Reserved", .int(Int64(task.plan.ephemeralStorageGiB) * 1024 + 16))
            o.add("EphemeralStorageMetrics", e.json)
        }
        o.add("FaultInjectionEnabled", .bool(task.plan.faultInjectionEnabled ?? false))
        return o.json
    }

    /// One container: `GET /v4/{id}`, `/v3/{id}`, `/v2/metadata/{dockerId}`.
    func containerDocument(_ c: TaskPlan.Container) -> GoJSON {
        let def = c.definition
        let state = task.lifecycle.container(c.name)
        var o = GoObject()
        o.add("DockerId", identity.runtimeId(c.name))
        o.add("Name", c.name)
        o.add("DockerName", c.name)
        o.add("Image", c.image)
        o.add("ImageID", task.imageIds[c.name] ?? "")
        var ports: [GoJSON] = []
        for pm in def.portMappings ?? [] {
            for port in pm.containerPorts.map(Array.init) ?? [] {
                var p = GoObject()
                p.omitZero("ContainerPort", UInt64(port))
                p.omitEmpty("Protocol", pm.protocol?.rawValue ?? "tcp")
                // Under awsvpc a container's port is the task's.
                p.omitZero("HostPort", UInt64(port))
                ports.append(p.json)
            }
        }
        o.omitEmpty("Ports", ports)
        if state?.hasRun == true { o.omitEmpty("Labels", map: labels(c)) }
        let known = MetadataDocuments.knownStatus(state, task: task.lifecycle)
        o.add("DesiredStatus", known == "STOPPED" || task.lifecycle.stopping ? "STOPPED" : "RUNNING")
        o.add("KnownStatus", known)
        if state?.status == .stopped, let code = state?.exitCode { o.add("ExitCode", .int(Int64(code))) }
        var limits = GoObject()
        limits.add("CPU", .double(Double(def.cpu ?? 0)))
        if let m = def.memory { limits.add("Memory", .int(Int64(m))) }
        o.add("Limits", limits.json)
        o.omitNil("CreatedAt", state?.startedAt.map { .string(GoTime($0).rfc3339Nano) })
        o.omitNil("StartedAt", state?.startedAt.map { .string(GoTime($0).rfc3339Nano) })
        o.omitNil("FinishedAt", state.flatMap { $0.status == .stopped ? $0.finishedAt : nil }.map { .string(GoTime($0).rfc3339Nano) })
        o.add("Type", "NORMAL")
        if version != .v4 { o.omitEmpty("Networks", networks(full: false)) }
        if let state, state.healthPolicy != nil { o.add("Health", health(state.health)) }
        o.omitEmpty("Volumes", volumes(c))
        guard version == .v4 else { return o.json }
        if let log = def.logConfiguration, let driver = log.logDriver?.rawValue {
            o.omitEmpty("LogDriver", driver)
            var options = log.options ?? [:]
            if driver == "awslogs", let stream = c.awslogs { options["awslogs-stream"] = "\(stream.streamPrefix)/\(c.name)/\(identity.taskId)" }
            o.omitEmpty("LogOptions", map: options)
        }
        o.omitEmpty("ContainerARN", identity.containerArn(c.name))
        o.omitEmpty("Networks", networks(full: true))
        o.add("Snapshotter", "overlayfs")
        if state?.restartRule != nil { o.add("RestartCount", .int(Int64(state?.restartCount ?? 0))) }
        return o.json
    }

    /// The container's labels: its dockerLabels and the five the agent adds.
    func labels(_ c: TaskPlan.Container) -> [String: String] {
        var out = c.definition.dockerLabels ?? [:]
        out["com.amazonaws.ecs.cluster"] = identity.clusterArn
        out["com.amazonaws.ecs.container-name"] = c.name
        out["com.amazonaws.ecs.task-arn"] = identity.taskArn
        out["com.amazonaws.ecs.task-definition-family"] = task.plan.family
        out["com.amazonaws.ecs.task-definition-version"] = String(task.plan.revision)
        return out
    }

    /// The task's interface (awsvpc): v2/v3 the three basic keys, v4 the ENI's properties too.
    func networks(full: Bool) -> [GoJSON] {
        guard let a = task.attachment else { return [] }
        var o = GoObject()
        o.add("NetworkMode", "awsvpc")
        o.add("IPv4Addresses", .array([.string(a.ip)]))
        guard full else { return [o.json] }
        o.add("AttachmentIndex", .int(0))
        o.omitEmpty("MACAddress", a.mac)
        o.omitEmpty("IPv4SubnetCIDRBlock", MetadataDocuments.network(of: a.subnet))
        o.omitEmpty("DomainNameServers", host.nameServers.map { .string($0) })
        o.omitEmpty("DomainNameSearchList", host.searchDomains.map { .string($0) })
        o.omitEmpty("PrivateDNSName", a.hostname)
        if let gateway = a.gateway { o.add("SubnetGatewayIpv4Address", "\(gateway)/\(a.prefixLength)") }
        return [o.json]
    }

    /// Health as the agent shows it: UNKNOWN and a zero exit code left out; `{}` before the
    /// first result.
    func health(_ h: HealthPolicy.State) -> GoJSON {
        var o = GoObject()
        if h.status != .unknown { o.add("status", h.status.rawValue) }
        o.omitNil("statusSince", h.since.map { .string(GoTime($0).rfc3339Nano) })
        if let code = h.lastExitCode, code != 0 { o.add("exitCode", .int(Int64(code))) }
        o.omitEmpty("output", h.lastOutput)
        return o.json
    }

    func volumes(_ c: TaskPlan.Container) -> [GoJSON] {
        c.volumeMounts.compactMap { m in
            var o = GoObject()
            o.omitEmpty("Source", task.volumeDirectories[m.volume])
            o.add("Destination", m.containerPath)
            return o.json
        }
    }

    /// The agent's task statuses: NONE until its containers are made, CREATED while they
    /// start, RUNNING until every one has stopped, then STOPPED.
    static func knownStatus(_ s: TaskStatus) -> String {
        switch s {
        case .provisioning, .pending: return "NONE"
        case .activating: return "CREATED"
        case .running, .deactivating, .stopping: return "RUNNING"
        case .deprovisioning, .stopped: return "STOPPED"
        }
    }

    /// A container's: NONE before its image is ready, PULLED once it is, RUNNING, STOPPED.
    static func knownStatus(_ c: TaskLifecycle.Container?, task: TaskLifecycle) -> String {
        switch c?.status {
        case .running?: return "RUNNING"
        case .stopped?: return "STOPPED"
        default: return task.status >= .pending ? "PULLED" : "NONE"
        }
    }

    /// "198.19.0.5/16" or "198.19.0.0/16" → "198.19.0.0/16".
    static func network(of cidr: String) -> String {
        let parts = cidr.split(separator: "/")
        let octets = parts.first.map { $0.split(separator: ".").compactMap { UInt32($0) } } ?? []
        guard parts.count == 2, let bits = UInt32(parts[1]), bits <= 32, octets.count == 4, octets.allSatisfy({ $0 < 256 }) else { return cidr }
        let address = octets.reduce(UInt32(0)) { $0 << 8 | $1 }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        let n = address & mask
        return "\(n >> 24).\(n >> 16 & 255).\(n >> 8 & 255).\(n & 255)/\(bits)"
    }
}
