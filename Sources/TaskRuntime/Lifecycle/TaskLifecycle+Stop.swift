import Foundation

/// Exits, restarts and stopping.
extension TaskLifecycle {
    mutating func exited(_ name: String, exitCode: Int32, killedBySignal: Bool, oomKilled: Bool, now: Date,
                         into out: inout [LifecycleAction]) {
        guard let i = index(name), containers[i].status == .running else { return }
        containers[i].status = .stopped
        containers[i].exitCode = exitCode
        containers[i].finishedAt = now
        if containers[i].healthPolicy != nil { out.append(.stopHealthChecks(name)) }
        if sharedPidNamespace { out.append(.killRemaining(name)) }
        if oomKilled && killedBySignal {
            containers[i].reason = "OutOfMemoryError: Container killed due to memory usage"
        }
        if let rule = containers[i].restartRule,
           rule.decide(exitCode: exitCode, startedAt: containers[i].startedAt ?? now, now: now, taskStopping: stopping).restart {
            containers[i].restartCount += 1
            containers[i].reason = nil
            containers[i].health = HealthPolicy.State()
            containers[i].signalled = false
            out.append(.restart(name, exitCode: exitCode, count: containers[i].restartCount))
            return
        }
        if containers[i].essential {
            essentialExits.append(exitCode)
            if executionStoppedAt == nil { executionStoppedAt = now }
            if !stopping {
                beginStop(code: .essentialContainerExited, reason: "Essential container in task exited", now: now, into: &out)
            }
        }
        out.append(.publish)
        if stopping {
            signalNextWave(into: &out)
        } else {
            startNext(now: now, into: &out)
        }
    }

    /// The task stops: nothing more starts, health checks end, and the containers get their
    /// stop signal in reverse dependency order.
    mutating func beginStop(code: StopCode, reason: String, now: Date, into out: inout [LifecycleAction]) {
        guard !stopping else { return }
        stopping = true
        stopCode = code
        if stoppedReason == nil { stoppedReason = reason }
        stoppingAt = now
        for i in containers.indices {
            if containers[i].status == .pending { containers[i].status = .stopped }
            if containers[i].status == .running && containers[i].healthPolicy != nil { out.append(.stopHealthChecks(containers[i].name)) }
        }
        for s in [TaskStatus.deactivating, .stopping] where advance(to: s) { out.append(.statusChanged(s)) }
        out.append(.publish)
        signalNextWave(into: &out)
    }

    /// A running container gets its stop signal once no running container depends on it,
    /// and SIGKILL after its stopTimeout.
    mutating func signalNextWave(into out: inout [LifecycleAction]) {
        let running = containers.filter { $0.status == .running }
        for i in containers.indices where containers[i].status == .running && !containers[i].signalled {
            let name = containers[i].name
            let neededBy = running.contains { other in other.name != name && other.dependsOn.contains { $0.container == name } }
            if neededBy { continue }
            containers[i].signalled = true
            out.append(.stop(name))
            out.append(.scheduleKillTimeout(name, seconds: containers[i].stopTimeout))
        }
    }
}
