import ECSModel
import Foundation
import Logging
import Sandbox
import Services
import TaskHost

/// How often the scaler measures and how long a datapoint is (`serve --autoscaling-period`).
public struct AutoScalingSettings: Sendable, Equatable {
    /// Seconds of one datapoint: CloudWatch's period for the ECS service metrics is 60 s, which
    /// makes target tracking's alarms 3 minutes (out) and 15 minutes (in); tests shorten it.
    public var period: TimeInterval
    /// Seconds between readings of the tasks' cgroups (and between decisions).
    public var interval: TimeInterval { min(1, period) }

    public init(period: TimeInterval = 60) {
        self.period = period
    }
}

/// The loop of Application Auto Scaling: every `interval` it reads the cgroups of each scaled
/// service's running tasks into the service's `UtilizationMeter`, asks `TargetTracking` what
/// to do with the datapoints, and carries out a change as UpdateService would (through the
/// scheduler), recording a scaling activity. The decisions are `TargetTracking`'s; this only
/// measures and applies.
public actor ServiceAutoScaler {
    let store: ControlPlaneStore
    let scheduler: ServiceScheduler
    let host: TaskHost
    let settings: AutoScalingSettings
    let logger: Logger
    /// Where the tasks' cgroups are (nil when cgroups cannot be read: nothing is measured).
    let cgroups: CgroupHost?
    /// By ResourceId.
    var meters: [String: UtilizationMeter] = [:]
    var loop: Task<Void, Never>?

    init(store: ControlPlaneStore, scheduler: ServiceScheduler, host: TaskHost, settings: AutoScalingSettings, logger: Logger) {
        self.store = store
        self.scheduler = scheduler
        self.host = host
        self.settings = settings
        self.logger = logger
        cgroups = try? CgroupHost.probe()
    }

    /// Measures and decides every `settings.interval` until `stop()`.
    public func start() {
        guard loop == nil else { return }
        if cgroups == nil { logger.warning("cgroups cannot be read: auto scaling has no metrics") }
        let interval = settings.interval
        loop = Task { [weak self] in
            while !Task.isCancelled {
                await self?.tick()
                try? await Task.sleep(nanoseconds: UInt64(interval * 1e9))
            }
        }
    }

    public func stop() {
        loop?.cancel()
        loop = nil
    }

    /// Drops every service's datapoints (the moto test reset, which deletes the targets).
    public func forgetAll() {
        meters = [:]
    }

    func tick() async {
        let now = Date()
        let targets: [ControlPlaneStore.StoredScalableTarget]
        let policies: [AAS.ScalingPolicy]
        do {
            targets = try store.scalableTargets(namespace: ECSAPI.ecsNamespace)
            policies = try store.scalingPolicies(namespace: ECSAPI.ecsNamespace)
        } catch {
            logger.error("cannot read the scalable targets", metadata: ["error": "\(error)"])
            return
        }
        meters = meters.filter { id, _ in targets.contains { $0.target.resourceId == id } }
        for t in targets {
            await evaluate(t, policies: policies.filter { $0.resourceId == t.target.resourceId }, now: now)
        }
    }

    func evaluate(_ stored: ControlPlaneStore.StoredScalableTarget, policies: [AAS.ScalingPolicy], now: Date) async {
        let t = stored.target
        let parts = t.resourceId.split(separator: "/").map(String.init)
        guard parts.count == 3, let arn = try? store.serviceArn(parts[2], in: parts[1]), let service = await scheduler.record(arn),
              service.status == "ACTIVE" else { return }
        var meter = meters[t.resourceId] ?? UtilizationMeter()
        meter.add(await readings(service), at: now, period: settings.period)
        meters[t.resourceId] = meter

        let tracking = policies.compactMap { p in p.targetTrackingScalingPolicyConfiguration.flatMap { try? ECSAPI.trackingPolicy(p.policyName, $0) } }
        let situation = TargetTracking.Situation(
            current: service.desiredCount, minCapacity: t.minCapacity, maxCapacity: t.maxCapacity,
            scaleInSuspended: t.suspendedState?.dynamicScalingInSuspended ?? false,
            scaleOutSuspended: t.suspendedState?.dynamicScalingOutSuspended ?? false,
            // ECS suspends scale-in while a deployment rolls (a new service's first one too).
            deploying: service.deployments.count > 1 || service.primary?.rolloutState == "IN_PROGRESS",
            lastScaleOut: stored.lastScaleOut, lastScaleIn: stored.lastScaleIn)
        guard case .success(let decision) = TargetTracking.decide(situation, policies: tracking, datapoints: meter.datapoints, now: now) else { return }
        await apply(decision, to: t, service: arn, from: service.desiredCount, policies: policies, now: now)
    }

    /// The cgroup counters of the service's running tasks, now.
    func readings(_ service: ServiceRecord) async -> [UtilizationMeter.Reading] {
        guard let cgroups else { return [] }
        var out: [UtilizationMeter.Reading] = []
        for record in service.tasks where record.stopReason == nil {
            guard let task = await host.describe(record.id), task.lastStatus == "RUNNING",
                  let units = task.cpu.flatMap(Double.init), let mib = task.memory.flatMap(Double.init),
                  let state = host.recorded(record.id), let cgroup = Cgroup.recorded(state.cgroupDirectories, on: cgroups) else { continue }
            let stats = cgroup.stats()
            out.append(UtilizationMeter.Reading(task: record.id, time: Date(), cpuNanos: stats.cpuUsageNanos, memoryBytes: stats.memoryWorkingSet,
                                                cpuUnits: units, memoryMiB: mib))
        }
        return out
    }

    /// Sets the service's desired count as UpdateService does and records the activity.
    func apply(_ d: TargetTracking.Decision, to t: AAS.ScalableTarget, service arn: String, from current: Int, policies: [AAS.ScalingPolicy],
               now: Date) async {
        do {
            guard try await scheduler.update(arn, { s in
                s.desiredCount = d.capacity
                return false
            }) != nil else { return }
        } catch {
            logger.error("cannot change the desired count", metadata: ["resource": "\(t.resourceId)", "error": "\(error)"])
            return
        }
        let activity = AAS.ScalingActivity(
            activityId: UUID().uuidString.lowercased(), serviceNamespace: t.serviceNamespace, resourceId: t.resourceId,
            scalableDimension: t.scalableDimension, description: "Setting desired count to \(d.capacity).",
            cause: ServiceAutoScaler.cause(d, policies: policies), startTime: now, endTime: Date(), statusCode: "Successful",
            statusMessage: "Successfully set desired count to \(d.capacity). Change successfully fulfilled by ecs.")
        do { try store.recordScaling(activity, out: d.direction == .out) } catch {
            logger.error("cannot record a scaling activity", metadata: ["resource": "\(t.resourceId)", "error": "\(error)"])
        }
        logger.notice("scaled", metadata: ["resource": "\(t.resourceId)", "from": "\(current)", "to": "\(d.capacity)", "cause": "\(activity.cause)"])
    }

    /// The activity's Cause, worded as Application Auto Scaling words it: the alarm (high for
    /// out, low for in) in state ALARM and the policy it triggered, or the bound that moved.
    static func cause(_ d: TargetTracking.Decision, policies: [AAS.ScalingPolicy]) -> String {
        switch d.reason {
        case .alarm(let name, _, _):
            let kind = d.direction == .out ? "-AlarmHigh-" : "-AlarmLow-"
            let alarm = policies.first { $0.policyName == name }?.alarms.first { $0.alarmName.contains(kind) }?.alarmName ?? name
            return "monitor alarm \(alarm) in state ALARM triggered policy \(name)"
        case .belowMinimum(let n): return "minimum capacity was set to \(n)"
        case .aboveMaximum(let n): return "maximum capacity was set to \(n)"
        }
    }
}

extension ControlPlaneStore {
    /// The ARN of the service named in `cluster`, unless deleted.
    func serviceArn(_ name: String, in cluster: String) throws -> String? {
        try read { db in
            try String.fetchOne(db, sql: "SELECT arn FROM services WHERE cluster = ? AND name = ? AND status != 'INACTIVE'", arguments: [cluster, name])
        }
    }
}
