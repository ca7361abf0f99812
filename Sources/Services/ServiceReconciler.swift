import Foundation

/// One step of ECS's REPLICA scheduler for one service, as a pure function of the service's
/// record and what is seen of its tasks: it updates the record (deployments, events, the
/// tasks' health and drains) and says which tasks to start and stop. The scheduler calls it
/// about every second; tests call it with made-up observations.
public enum ServiceReconciler {
    public static func step(_ s: inout ServiceRecord, observed: [String: ObservedTask], now: Date,
                            settings: SchedulerSettings) -> [ServiceAction] {
        guard s.status != "INACTIVE" else { return [] }
        var actions: [ServiceAction] = []
        forgetStopped(&s, observed, now)
        judgeHealth(&s, observed, now, settings, &actions)
        tripCircuitBreaker(&s, now)
        scale(&s, observed, now, settings, &actions)
        stopDueTasks(&s, now, &actions)
        finishDeployments(&s, observed, now)
        assessTargets(&s, observed)
        return actions
    }

    /// Tasks seen STOPPED leave the record. One the scheduler did not stop failed: it counts
    /// against its deployment (the circuit breaker) and, with others before it, delays starts.
    static func forgetStopped(_ s: inout ServiceRecord, _ observed: [String: ObservedTask], _ now: Date) {
        var kept: [ServiceTaskRecord] = []
        for t in s.tasks {
            guard let o = observed[t.id], o.isGone else {
                kept.append(t)
                continue
            }
            guard t.stopReason == nil else { continue }
            var userStopped = false
            if case .stopped(_, let code) = o.phase { userStopped = code == "UserInitiated" }
            if !userStopped {
                if let i = s.deployments.firstIndex(where: { $0.id == t.deployment }), !s.deployments[i].hadHealthyTask {
                    s.deployments[i].failedTasks += 1
                    s.deployments[i].updatedAt = now
                }
                if t.healthyAt == nil {
                    s.startFailures += 1
                    if let delay = DeploymentRules.startDelay(failures: s.startFailures) {
                        s.nextStartAt = now.addingTimeInterval(delay)
                        if s.startFailures == 3 { s.event(ServiceEvents.throttled(s.name), at: now) }
                    }
                }
            }
        }
        s.tasks = kept
    }

    /// Marks tasks healthy as ECS counts them (RUNNING, and HEALTHY when an essential container
    /// has a health check or else 40 s after RUNNING, and healthy in its target groups), puts
    /// them in their target groups, and stops those that failed their health checks (container
    /// or target) once the grace period is over. A registered target that turns unhealthy
    /// within the grace period stays registered but gets no new connections (`publish` leaves
    /// out targets whose `target` state is unhealthy), as an ALB routes around it.
    static func judgeHealth(_ s: inout ServiceRecord, _ observed: [String: ObservedTask], _ now: Date,
                            _ settings: SchedulerSettings, _ actions: inout [ServiceAction]) {
        let balanced = !s.loadBalancers.isEmpty
        var registered = 0
        for i in s.tasks.indices where s.tasks[i].stopReason == nil {
            guard let o = observed[s.tasks[i].id], let since = o.runningSince else { continue }
            let graceOver = now.timeIntervalSince(since) >= TimeInterval(s.healthCheckGracePeriodSeconds)
            if o.health == "UNHEALTHY" && graceOver {
                s.event(ServiceEvents.failedHealthChecks(s.name, s.tasks[i].id), at: now)
                markFailed(&s, i, reason: ServiceEvents.failedContainerHealthChecks, now: now, settings: settings)
                continue
            }
            if balanced {
                if o.targetHealthy == true && !s.tasks[i].registered {
                    s.tasks[i].registered = true
                    registered += 1
                } else if o.targetHealthy == false && graceOver {
                    // Registered or still in its initial checks: ECS stops a task whose target
                    // ELB reports unhealthy once the grace period is over.
                    let lb = s.loadBalancers[0]
                    s.event(ServiceEvents.targetUnhealthy(s.name, s.tasks[i].id, lb.containerPort ?? 0, lb.targetGroupArn ?? ""), at: now)
                    markFailed(&s, i, reason: ServiceEvents.failedTargetHealthChecks(lb.targetGroupArn ?? ""), now: now, settings: settings)
                    continue
                }
            }
            let containerOK = o.hasHealthCheck ? o.health == "HEALTHY" : now.timeIntervalSince(since) >= settings.healthyAfter
            if s.tasks[i].healthyAt == nil && containerOK && (!balanced || s.tasks[i].registered) {
                s.tasks[i].healthyAt = now
                s.startFailures = 0
                s.nextStartAt = nil
                if let d = s.deployments.firstIndex(where: { $0.id == s.tasks[i].deployment }) {
                    s.deployments[d].hadHealthyTask = true
                    s.deployments[d].failedTasks = 0
                }
            }
        }
        if registered > 0 {
            for lb in s.loadBalancers { s.event(ServiceEvents.registered(s.name, registered, lb.targetGroupArn ?? ""), at: now) }
        }
    }

    /// A task that failed its health checks: it counts against its deployment, and is stopped.
    static func markFailed(_ s: inout ServiceRecord, _ i: Int, reason: String, now: Date, settings: SchedulerSettings) {
        if let d = s.deployments.firstIndex(where: { $0.id == s.tasks[i].deployment }), !s.deployments[d].hadHealthyTask {
            s.deployments[d].failedTasks += 1
        }
        if s.tasks[i].healthyAt == nil { s.startFailures += 1 }
        beginStop(&s, [i], reason: reason, now: now, settings: settings)
    }

    /// The PRIMARY deployment failed as many tasks in a row as the threshold: it is FAILED and,
    /// with rollback, the last completed deployment becomes PRIMARY again.
    static func tripCircuitBreaker(_ s: inout ServiceRecord, _ now: Date) {
        guard s.circuitBreaker?.enable == true, var p = s.primary, p.rolloutState == "IN_PROGRESS", !p.hadHealthyTask,
              p.failedTasks >= DeploymentRules.circuitBreakerThreshold(desired: s.desiredCount) else { return }
        p.rolloutState = "FAILED"
        p.rolloutStateReason = "ECS deployment circuit breaker: tasks failed to start."
        p.updatedAt = now
        s.deployments[0] = p
        s.event(ServiceEvents.deploymentFailed(s.name, p.id), at: now)
        guard s.circuitBreaker?.rollback == true,
              let back = s.deployments.firstIndex(where: { $0.id != p.id && $0.rolloutState == "COMPLETED" }) else { return }
        var d = s.deployments.remove(at: back)
        s.deployments[0].status = "ACTIVE"
        d.status = "PRIMARY"
        d.rolloutState = "IN_PROGRESS"
        d.rolloutStateReason = "ECS deployment circuit breaker: rolling back to deployment \(d.id)."
        d.updatedAt = now
        s.deployments.insert(d, at: 0)
        s.taskDefinition = d.taskDefinition
        s.startFailures = 0
        s.nextStartAt = nil
        s.event(ServiceEvents.rollingBack(s.name, d.id), at: now)
    }

    /// Starts PRIMARY tasks up to the desired count within maximumPercent, and stops tasks of
    /// older deployments (and extra ones) as far as minimumHealthyPercent allows.
    static func scale(_ s: inout ServiceRecord, _ observed: [String: ObservedTask], _ now: Date,
                      _ settings: SchedulerSettings, _ actions: inout [ServiceAction]) {
        guard let primary = s.primary else { return }
        let desired = s.status == "DRAINING" ? 0 : s.desiredCount
        let maxTasks = DeploymentRules.maximumTasks(desired: desired, maximumPercent: s.maximumPercent)
        let minHealthy = DeploymentRules.minimumHealthy(desired: desired, minimumHealthyPercent: s.minimumHealthyPercent)
        let live = s.tasks.indices.filter { s.tasks[$0].stopReason == nil }
        var primaryLive = live.filter { s.tasks[$0].deployment == primary.id }
        var started = 0
        if desired > primaryLive.count, primary.rolloutState != "FAILED", s.status == "ACTIVE" {
            let room = maxTasks - s.tasks.count
            let n = min(desired - primaryLive.count, room)
            if n > 0 && (s.nextStartAt.map { now >= $0 } ?? true) {
                actions.append(.start(deployment: primary.id, taskDefinition: primary.taskDefinition, count: n))
                started = n
            }
        }
        // Stops: what counts least first (not healthy, then the newest).
        var healthy = live.filter { s.tasks[$0].healthyAt != nil }.count
        var stopping: [Int] = []
        func order(_ a: Int, _ b: Int) -> Bool {
            let ha = s.tasks[a].healthyAt != nil, hb = s.tasks[b].healthyAt != nil
            return ha != hb ? !ha : (s.tasks[a].healthyAt ?? .distantFuture) > (s.tasks[b].healthyAt ?? .distantFuture)
        }
        let old = live.filter { s.tasks[$0].deployment != primary.id }.sorted(by: order)
        primaryLive.sort(by: order)
        let extra = primaryLive.count > desired ? Array(primaryLive.prefix(primaryLive.count - desired)) : []
        for i in extra + old {
            let isHealthy = s.tasks[i].healthyAt != nil
            if isHealthy && healthy - 1 < minHealthy && desired > 0 { continue }
            stopping.append(i)
            if isHealthy { healthy -= 1 }
        }
        if !stopping.isEmpty {
            let reason = ServiceEvents.scalingActivity(primary.id)
            beginStop(&s, stopping, reason: reason, now: now, settings: settings)
        } else if started == 0, desired > primaryLive.count || !old.isEmpty, primary.rolloutState != "FAILED",
                  s.nextStartAt == nil, s.status == "ACTIVE",
                  !s.tasks.contains(where: { t in t.stopReason != nil || t.healthyAt == nil }) {
            // Nothing may start and nothing may stop, and nothing is on its way: the deployment
            // configuration forbids progress.
            let message = ServiceEvents.stuck(s.name)
            if s.events.first?.message != message { s.event(message, at: now) }
        }
    }

    /// Decides to stop tasks: out of their target groups at once, stopped after the
    /// deregistration delay (at once without a load balancer).
    static func beginStop(_ s: inout ServiceRecord, _ indices: [Int], reason: String, now: Date, settings: SchedulerSettings) {
        var deregistered = 0
        for i in indices {
            s.tasks[i].stopReason = reason
            if s.tasks[i].registered {
                s.tasks[i].registered = false
                deregistered += 1
                s.tasks[i].stopAt = now.addingTimeInterval(settings.deregistrationDelay)
            } else {
                s.tasks[i].stopAt = now
            }
        }
        if deregistered > 0 {
            for lb in s.loadBalancers { s.event(ServiceEvents.deregistered(s.name, deregistered, lb.targetGroupArn ?? ""), at: now) }
            if let d = s.primary?.id { s.event(ServiceEvents.draining(s.name, d, deregistered), at: now) }
        }
    }

    /// Asks for the stops whose drain is over.
    static func stopDueTasks(_ s: inout ServiceRecord, _ now: Date, _ actions: inout [ServiceAction]) {
        var stopped: [String] = []
        for i in s.tasks.indices where !s.tasks[i].stopRequested {
            guard let reason = s.tasks[i].stopReason, let at = s.tasks[i].stopAt, now >= at else { continue }
            s.tasks[i].stopRequested = true
            actions.append(.stop(taskId: s.tasks[i].id, reason: reason))
            stopped.append(s.tasks[i].id)
        }
        if !stopped.isEmpty { s.event(ServiceEvents.stopped(s.name, stopped), at: now) }
    }

    /// Older deployments whose tasks are all gone leave; the PRIMARY one completes once it has
    /// the desired count healthy and is alone; a service at that point is steady. A DRAINING
    /// service with no tasks left is INACTIVE.
    static func finishDeployments(_ s: inout ServiceRecord, _ observed: [String: ObservedTask], _ now: Date) {
        guard let primary = s.primary else { return }
        let withTasks = Set(s.tasks.map(\.deployment))
        s.deployments.removeAll { $0.id != primary.id && !withTasks.contains($0.id) }
        if s.status == "DRAINING" {
            if s.tasks.isEmpty { s.status = "INACTIVE" }
            return
        }
        let healthyPrimary = s.tasks.filter { $0.deployment == primary.id && $0.stopReason == nil && $0.healthyAt != nil }.count
        if primary.rolloutState == "IN_PROGRESS", s.deployments.count == 1, healthyPrimary >= s.desiredCount,
           !s.tasks.contains(where: { $0.stopReason != nil }) {
            s.deployments[0].rolloutState = "COMPLETED"
            s.deployments[0].rolloutStateReason = "ECS deployment \(primary.id) completed."
            s.deployments[0].updatedAt = now
            s.event(ServiceEvents.deploymentCompleted(s.name, primary.id), at: now)
        }
        let running = s.tasks.filter { t in observed[t.id]?.runningSince != nil }.count
        let steady = s.deployments.count == 1 && running == s.desiredCount && s.tasks.count == s.desiredCount
            && s.tasks.allSatisfy { $0.healthyAt != nil }
        if steady && !s.steady { s.event(ServiceEvents.steadyState(s.name), at: now) }
        s.steady = steady
    }
}
