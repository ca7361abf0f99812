import ECSModel
import Foundation
import GRDB
import Services
import TaskHost
import TaskRuntime

/// The scheduler's tasks are the host's: started as RunTask starts them (in the service's
/// group, `startedBy` its deployment), stopped with stopCode ServiceSchedulerInitiated.
struct HostServicePlatform: ServicePlatform {
    let host: TaskHost
    let store: ControlPlaneStore
    let settings: ECSAPI.Settings

    func start(_ s: ServiceRecord, deployment: DeploymentRecord, count: Int) async throws -> [(id: String, arn: String)] {
        guard let td = try store.taskDefinition(deployment.taskDefinition) else {
            throw ECSError.client("TaskDefinition \(deployment.taskDefinition) not found.")
        }
        var tags: [ECS.Tag] = []
        switch s.propagateTags {
        case "SERVICE": tags = s.tags
        case "TASK_DEFINITION": tags = try store.tags(of: td.arn).map { ECS.Tag(key: $0.0, value: $0.1) }
        default: break
        }
        let provider = (s.capacityProviderStrategy ?? []).first { ($0.base ?? 0) > 0 }?.capacityProvider
            ?? (s.capacityProviderStrategy ?? []).max { ($0.weight ?? 0) < ($1.weight ?? 0) }?.capacityProvider
        // The host starts at most 10 a request, as RunTask does: a larger step comes in batches.
        var started: [(id: String, arn: String)] = []
        var left = count
        while left > 0 {
            let batch = min(10, left)
            do {
                started += try await start(s, deployment: deployment, definition: td, count: batch, tags: tags, provider: provider)
            } catch {
                // Those started are the service's: it hears of them, and of the failure next step.
                if started.isEmpty { throw error }
                break
            }
            left -= batch
        }
        return started
    }

    private func start(_ s: ServiceRecord, deployment: DeploymentRecord, definition td: StoredTaskDefinition, count: Int, tags: [ECS.Tag],
                       provider: String?) async throws -> [(id: String, arn: String)] {
        let groups = deployment.networkConfiguration?.awsvpcConfiguration?.securityGroups ?? []
        let request = TaskHost.RunRequest(definitionPath: td.arn, secretsPath: settings.secretsPath, workingDirectory: settings.workingDirectory,
                                          count: count, cluster: s.cluster, startedBy: deployment.id, group: "service:\(s.name)",
                                          tags: tags.isEmpty ? nil : tags, definition: td.document, account: s.account,
                                          securityGroups: groups.isEmpty ? nil : groups, waitUntilStarted: false,
                                          capacityProvider: provider == "FARGATE_SPOT" ? provider : nil, publishPorts: false)
        do {
            return try await host.run(request).compactMap { t in t.taskArn.map { (ARN.resourceId($0).split(separator: "/").last.map(String.init) ?? $0, $0) } }
        } catch {
            throw ECSAPI.runError(error)
        }
    }

    func stop(_ taskId: String, reason: String) async {
        _ = try? await host.stop(taskId, reason: reason, code: .serviceSchedulerInitiated)
    }

    func observe(_ ids: [String]) async -> [String: (ObservedTask, ip: String?)] {
        var out: [String: (ObservedTask, ip: String?)] = [:]
        for id in ids {
            guard let task = await host.describe(id) ?? host.recorded(id)?.task else {
                out[id] = (ObservedTask(id: id, phase: .missing), nil)
                continue
            }
            out[id] = (HostServicePlatform.observed(task, hasHealthCheck: hasHealthCheck(task.taskDefinitionArn)), HostServicePlatform.address(task))
        }
        return out
    }

    /// Whether an essential container of the definition has a health check (registered ones
    /// never change, so the answer is kept).
    func hasHealthCheck(_ arn: String?) -> Bool {
        guard let arn else { return false }
        if let known = HealthCheckCache.shared.withLock({ $0[arn] }) { return known }
        let has = ((try? store.taskDefinition(arn))?.document.containerDefinitions ?? []).contains { $0.essential != false && $0.healthCheck != nil }
        HealthCheckCache.shared.withLock { $0[arn] = has }
        return has
    }

    static func observed(_ t: ECS.Task, hasHealthCheck: Bool) -> ObservedTask {
        let phase: ObservedTask.Phase
        switch t.lastStatus {
        case "STOPPED": phase = .stopped(reachedRunning: t.startedAt != nil, stopCode: t.stopCode?.rawValue)
        case "RUNNING" where t.desiredStatus == "RUNNING": phase = .running(since: t.startedAt?.date ?? Date())
        case "PROVISIONING", "PENDING", "ACTIVATING": phase = t.desiredStatus == "STOPPED" ? .stopping : .pending
        default: phase = .stopping
        }
        return ObservedTask(id: ARN.resourceId(t.taskArn ?? "").split(separator: "/").last.map(String.init) ?? "", phase: phase,
                            health: t.healthStatus?.rawValue ?? "UNKNOWN", hasHealthCheck: hasHealthCheck)
    }

    static func address(_ t: ECS.Task) -> String? {
        t.attachments?.first?.details?.first { $0.name == "privateIPv4Address" }?.value
    }
}

import Synchronization

/// Task definition ARN → whether an essential container has a health check.
enum HealthCheckCache {
    static let shared = Mutex<[String: Bool]>([:])
}

extension ControlPlaneStore: ServiceRecordStore {
    public func services() throws -> [ServiceRecord] {
        try read { db in try String.fetchAll(db, sql: "SELECT document FROM services") }.map { try StoredJSON.decode(ServiceRecord.self, $0) }
    }

    public func save(_ r: ServiceRecord) throws {
        let text = try StoredJSON.encode(r)
        try write { db in
            // An INACTIVE service of the same name stays describable; a new one gets its own row.
            try db.execute(sql: """
                INSERT INTO services (arn, cluster, name, status, document, updated_at) VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (arn) DO UPDATE SET status = excluded.status, document = excluded.document, updated_at = excluded.updated_at
                """, arguments: [r.arn, r.cluster, r.name, r.status, text, Date().timeIntervalSince1970])
        }
    }
}
