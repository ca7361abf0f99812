import ECSModel
import Foundation
import Logging

/// The host's service scheduler: it owns every service of the state root, reconciles each
/// about once a second (`ServiceReconciler`), carries out what that decides through a
/// `ServicePlatform`, checks target health, and keeps the load balancer's targets and the
/// discovery names in step. Changes to services (the ECS API's operations) go through it, so
/// they never race a reconcile.
public actor ServiceScheduler {
    let platform: any ServicePlatform
    let store: any ServiceRecordStore
    let settings: SchedulerSettings
    let healthPolicy: TargetHealthPolicy
    let logger: Logger
    /// By service ARN.
    var records: [String: ServiceRecord] = [:]
    var targetHealth: [String: TargetHealthState] = [:]
    var addresses: [String: String] = [:]
    var loop: Task<Void, Never>?
    /// Told every change of a target group's targets (the host's load balancer).
    var onTargets: (@Sendable ([TargetGroupTargets]) async -> Void)?
    /// What was last told; nil until the first report, which is always made, so a new host
    /// replaces what an earlier one left (listeners of services deleted meanwhile).
    var lastTargets: [TargetGroupTargets]?
    /// Told every change of the discovery names: cluster → name → addresses.
    var onNames: (@Sendable ([String: [String: [String]]]) async -> Void)?
    var lastNames: [String: [String: [String]]]?
    /// How a service registry's ARN is named (`serve --service-registry ARN=NAME`).
    let registryNames: [String: String]

    public init(platform: any ServicePlatform, store: any ServiceRecordStore, settings: SchedulerSettings = .init(),
                healthPolicy: TargetHealthPolicy = .init(), registryNames: [String: String] = [:], logger: Logger) throws {
        self.platform = platform
        self.store = store
        self.settings = settings
        self.healthPolicy = healthPolicy
        self.registryNames = registryNames
        self.logger = logger
        for r in try store.services() where r.status != "INACTIVE" { records[r.arn] = r }
    }

    /// Where the load balancer and the discovery names learn of changes.
    public func connect(targets: (@Sendable ([TargetGroupTargets]) async -> Void)?, names: (@Sendable ([String: [String: [String]]]) async -> Void)?) {
        onTargets = targets
        onNames = names
    }

    /// Reconciles every service every `interval` until `stop()`.
    public func start(interval: TimeInterval = 1) {
        guard loop == nil else { return }
        loop = Task { [weak self] in
            while !Task.isCancelled {
                await self?.reconcileAll()
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
    }

    public func stop() {
        loop?.cancel()
        loop = nil
    }

    // MARK: Changes from the API

    /// Adds a service (CreateService) and starts its first deployment.
    public func create(_ record: ServiceRecord) throws -> ServiceRecord {
        var r = record
        r.deploy(r.taskDefinition, at: Date())
        try store.save(r)
        records[r.arn] = r
        return r
    }

    /// Changes a service (UpdateService); `change` returns whether a new deployment starts.
    public func update(_ arn: String, _ change: (inout ServiceRecord) throws -> Bool) throws -> ServiceRecord? {
        guard var r = records[arn] else { return nil }
        if try change(&r) { r.deploy(r.taskDefinition, at: Date()) }
        r.steady = r.steady && r.deployments.count == 1
        try store.save(r)
        records[r.arn] = r
        return r
    }

    /// Drops every service without stopping anything (the moto test reset, which stops the
    /// tasks itself).
    public func forgetAll() {
        records = [:]
        targetHealth = [:]
        addresses = [:]
    }

    /// A service as the scheduler has it now (nil once INACTIVE and gone from memory).
    public func record(_ arn: String) -> ServiceRecord? { records[arn] }

    public var all: [ServiceRecord] { Array(records.values) }

    /// The service described with its tasks' counts as they are now.
    public func describe(_ arn: String) async -> ECS.Service? {
        guard let r = records[arn] else { return nil }
        let seen = await platform.observe(r.tasks.map(\.id))
        return ServiceDescription.render(r, observed: seen.mapValues(\.0))
    }

    // MARK: Reconciling

    func reconcileAll() async {
        for arn in records.keys.sorted() { await reconcile(arn) }
        await publish()
    }

    func reconcile(_ arn: String) async {
        guard var r = records[arn] else { return }
        let before = r
        let seen = await platform.observe(r.tasks.map(\.id))
        var observed: [String: ObservedTask] = [:]
        for (id, (o, ip)) in seen {
            var o = o
            if let ip { addresses[id] = ip }
            if !r.loadBalancers.isEmpty, o.runningSince != nil, let ip, let port = r.loadBalancers.first?.containerPort {
                o.targetHealthy = checkTarget(id, ip, port)
            }
            if o.isGone { targetHealth[id] = nil; addresses[id] = nil }
            observed[id] = o
        }
        let now = Date()
        let actions = ServiceReconciler.step(&r, observed: observed, now: now, settings: settings)
        for action in actions {
            switch action {
            case .start(let deployment, _, let count):
                guard let d = r.deployments.first(where: { $0.id == deployment }) else { continue }
                do {
                    let started = try await platform.start(r, deployment: d, count: count)
                    r.tasks += started.map { t in
                        var record = ServiceTaskRecord(id: t.id, arn: t.arn, deployment: deployment)
                        if !r.loadBalancers.isEmpty { record.target = .registering }
                        return record
                    }
                    r.event(ServiceEvents.started(r.name, started.map(\.id)), at: now)
                } catch {
                    // A task that cannot even be made counts as one that failed to start.
                    r.startFailures += 1
                    if let i = r.deployments.firstIndex(where: { $0.id == deployment }), !r.deployments[i].hadHealthyTask {
                        r.deployments[i].failedTasks += 1
                    }
                    if let delay = DeploymentRules.startDelay(failures: r.startFailures) { r.nextStartAt = now.addingTimeInterval(delay) }
                    let message = ServiceEvents.unableToPlace(r.name, "\(error)")
                    if r.events.first?.message != message { r.event(message, at: now) }
                    logger.warning("service task not started", metadata: ["service": "\(r.name)", "error": "\(error)"])
                }
            case .stop(let id, let reason):
                await platform.stop(id, reason: reason)
            }
        }
        if r != before {
            do { try store.save(r) } catch { logger.error("cannot save service", metadata: ["service": "\(r.name)", "error": "\(error)"]) }
        }
        records[arn] = r.status == "INACTIVE" ? nil : r
    }

    /// A TCP check of the target when one is due; its health as of the latest results.
    func checkTarget(_ id: String, _ ip: String, _ port: Int) -> Bool? {
        var state = targetHealth[id] ?? TargetHealthState()
        let now = Date()
        if now.timeIntervalSince(state.lastChecked) >= healthPolicy.interval {
            state.lastChecked = now
            state.record(TargetProbe.connects(ip, port, timeout: healthPolicy.timeout), policy: healthPolicy, at: now)
            targetHealth[id] = state
        }
        return state.healthy
    }

    /// Tells the load balancer and the discovery names what changed.
    func publish() async {
        var groups: [TargetGroupTargets] = []
        var names: [String: [String: [String]]] = [:]
        for r in records.values.sorted(by: { $0.arn < $1.arn }) {
            // Registered and not reported unhealthy (one within its grace period stays registered).
            let registered = r.tasks.filter { $0.registered && $0.stopReason == nil && $0.target?.state != "unhealthy" }
                .compactMap { addresses[$0.id] }.sorted()
            for lb in r.loadBalancers {
                groups.append(TargetGroupTargets(targetGroupArn: lb.targetGroupArn ?? "", containerPort: lb.containerPort ?? 0, targets: registered))
            }
            // Cloud Map returns at most 8 healthy records.
            let healthy = Array(r.tasks.filter { $0.healthyAt != nil && $0.stopReason == nil }.compactMap { addresses[$0.id] }.sorted().prefix(8))
            for name in ServiceDescription.discoveryNames(r, registryNames: registryNames) {
                names[r.cluster, default: [:]][name] = healthy
            }
        }
        if groups != lastTargets, let onTargets {
            lastTargets = groups
            await onTargets(groups)
        }
        if names != lastNames, let onNames {
            lastNames = names
            await onNames(names)
        }
    }
}
