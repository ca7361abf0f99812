import Foundation

/// Starting: dependsOn conditions, startTimeout, health checks.
extension TaskLifecycle {
    public enum Readiness: Sendable, Equatable {
        case ready
        case wait
        /// Its dependencies can no longer be met, and why.
        case never(String)
    }

    /// Whether `c`'s dependsOn conditions hold, may still hold, or never will.
    public func readiness(_ c: Container) -> Readiness {
        for dep in c.dependsOn {
            guard let d = container(dep.container) else { return .never("\(dep.container) does not exist") }
            let stoppedWithoutRunning = d.status == .stopped && d.exitCode == nil
            switch dep.condition {
            case .start:
                if stoppedWithoutRunning { return .never("dependency \(d.name) never started") }
                if d.status == .pending { return .wait }
            case .complete:
                if stoppedWithoutRunning { return .never("dependency \(d.name) never started") }
                if d.status != .stopped { return .wait }
            case .success:
                if stoppedWithoutRunning { return .never("dependency \(d.name) never started") }
                if d.status != .stopped { return .wait }
                if d.exitCode != 0 { return .never("dependency \(d.name) exited with \(d.exitCode ?? -1), SUCCESS needs 0") }
            case .healthy:
                if d.status == .stopped { return .never("dependency \(d.name) stopped before it was healthy") }
                if d.health.status != .healthy { return .wait }
            }
        }
        return .ready
    }

    /// The pending containers that could start now, in definition order: what a driver may
    /// make ready ahead of time while the task is still being provisioned.
    public var readyToStart: [String] {
        stopping ? [] : containers.filter { $0.status == .pending && readiness($0) == .ready }.map(\.name)
    }

    /// Gives up on pending containers whose dependencies can no longer be met, then asks for
    /// the first one that can start (the driver answers, and the next follows); once none is
    /// pending among the essential ones and one runs, the task is RUNNING.
    mutating func startNext(now: Date, into out: inout [LifecycleAction]) {
        guard !stopping else { return }
        for i in containers.indices where containers[i].status == .pending {
            switch readiness(containers[i]) {
            case .wait:
                continue
            case .never(let why):
                containers[i].status = .stopped
                containers[i].reason = "DependencyFailed: \(why)"
                if containers[i].essential {
                    beginStop(code: .taskFailedToStart, reason: "Essential container \(containers[i].name) did not start: \(why)",
                              now: now, into: &out)
                    return
                }
                out.append(.publish)
            case .ready:
                out.append(.start(containers[i].name))
                return
            }
        }
        if startedAt == nil, status < .running,
           containers.allSatisfy({ !$0.essential || $0.status != .pending }),
           containers.contains(where: { $0.status == .running }) {
            startedAt = now
            if advance(to: .running) { out.append(.statusChanged(.running)) }
        }
    }

    mutating func started(_ name: String, now: Date, into out: inout [LifecycleAction]) {
        guard let i = index(name) else { return }
        containers[i].status = .running
        containers[i].hasRun = true
        containers[i].startedAt = now
        containers[i].finishedAt = nil
        containers[i].exitCode = nil
        if containers[i].healthPolicy?.probes == true { out.append(.startHealthChecks(name)) }
        // Its startTimeout matters only to containers waiting on it for more than START.
        if let t = containers[i].startTimeout,
           containers.contains(where: { $0.dependsOn.contains { $0.container == name && $0.condition != .start } }) {
            out.append(.scheduleStartTimeout(name, seconds: t))
        }
        out.append(.publish)
        if stopping {
            // Started while the task began to stop (a restart racing a stop request): it
            // joins the stop at once.
            signalNextWave(into: &out)
        } else {
            startNext(now: now, into: &out)
        }
    }

    mutating func failedToStart(_ name: String, exitCode: Int32, reason: String, failure: String?, now: Date,
                                into out: inout [LifecycleAction]) {
        guard let i = index(name) else { return }
        containers[i].status = .stopped
        containers[i].exitCode = exitCode
        containers[i].finishedAt = now
        containers[i].reason = String(reason.prefix(1024))
        if containers[i].essential {
            if self.failure == nil, let failure { self.failure = failure }
            essentialExits.append(exitCode)
            beginStop(code: .taskFailedToStart, reason: containers[i].reason!, now: now, into: &out)
        } else {
            startNext(now: now, into: &out)
        }
        out.append(.publish)
    }

    /// `name`'s startTimeout has passed: whoever still waits on it for more than START gives up.
    mutating func startTimedOut(_ name: String, now: Date, into out: inout [LifecycleAction]) {
        guard !stopping, let d = container(name) else { return }
        for i in containers.indices where containers[i].status == .pending {
            guard let dep = containers[i].dependsOn.first(where: { $0.container == name && $0.condition != .start }) else { continue }
            let met: Bool
            switch dep.condition {
            case .healthy: met = d.health.status == .healthy
            case .success: met = d.status == .stopped && d.exitCode == 0
            case .complete, .start: met = d.status == .stopped
            }
            if met { continue }
            containers[i].status = .stopped
            let reason = "ContainerRuntimeTimeoutError: \(name) did not reach \(dep.condition.rawValue) within its startTimeout of \(d.startTimeout ?? 0) s"
            containers[i].reason = reason
            if containers[i].essential {
                beginStop(code: .taskFailedToStart, reason: reason, now: now, into: &out)
                break
            }
        }
        out.append(.publish)
    }

    mutating func healthChecked(_ name: String, passed: Bool, exitCode: Int32?, output: String, now: Date,
                                into out: inout [LifecycleAction]) {
        guard let i = index(name), containers[i].status == .running, let policy = containers[i].healthPolicy else { return }
        let before = containers[i].health.status
        containers[i].health = policy.next(containers[i].health, passed: passed,
                                           secondsSinceStart: now.timeIntervalSince(containers[i].startedAt ?? now))
        let after = containers[i].health.status
        // The last check's result, and since when the status is what it is (the metadata
        // endpoint's Health).
        containers[i].health.lastExitCode = exitCode
        containers[i].health.lastOutput = String(output.suffix(1024))
        if after != before || containers[i].health.since == nil { containers[i].health.since = now }
        guard after != before else { return }
        let trimmed = output.trimmingCharacters(in: .whitespacesAndNewlines)
        let detail = passed ? "" : (exitCode.map { "exit \($0)" } ?? "") + (trimmed.isEmpty ? "" : ": " + trimmed.suffix(300))
        out.append(.healthChanged(name, after, detail: detail))
        out.append(.publish)
        startNext(now: now, into: &out)
    }
}
