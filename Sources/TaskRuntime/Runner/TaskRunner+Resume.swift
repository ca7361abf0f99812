#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Logging
import Metering

/// Taking over a task another host ran: it was left running under its monitor when that host
/// died or was stopped. The lifecycle resumes from the state file, and what the monitor says
/// happened meanwhile is fed to it as it happened.
extension TaskRunner {
    /// A runner for a recorded task: its plan, identity, times and lifecycle from its files.
    public init(resuming state: TaskState, plan: TaskPlan, config: RunConfiguration, backend: any TaskBackend,
                observer: any TaskObserver, logger: Logger? = nil) throws {
        guard let identity = state.identity, state.lifecycle != nil, state.times != nil else {
            throw TaskRuntimeError(.invalidState, "the state of task \(state.task.taskArn ?? "?") lacks what resuming it needs")
        }
        self.init(plan: plan, config: config, identity: identity, backend: backend, observer: observer, logger: logger, restoring: state)
    }

    /// Runs a resumed task to its end, as `run` does a new one.
    public func resume() async -> TaskResult {
        logger.info("resuming task", metadata: ["status": "\(lifecycle.status.rawValue)"])
        resumeBilling()
        do {
            if lifecycle.status >= .activating && lifecycle.status < .deprovisioning {
                try await resumeContainers()
                await supervise()
            } else {
                // Connected all the same, so the monitor can be told to leave at the end.
                _ = try backend.recover()
                if lifecycle.status < .activating {
                    // No container had started; what provisioning was under way died with the host.
                    apply(.failed(reason: "Task failed to start: fargate-run's host restarted while the task was provisioned",
                                  failure: "the host restarted while the task was provisioned"))
                    for (name, status) in await backend.killEverything() { apply(exit(name, status)) }
                }
            }
        } catch {
            // The monitor is gone as well: its record of exits is all that is left.
            logger.error("task's monitor is gone", metadata: ["error": "\(error)"])
            let now = Date()
            for r in backend.recordedExits().sorted(by: { ($0.endedAt ?? now) < ($1.endedAt ?? now) }) {
                guard let status = r.status, lifecycle.container(r.container)?.status == .running else { continue }
                apply(exit(r.container, status), at: r.endedAt ?? now)
            }
            if lifecycle.status < .running {
                apply(.failed(reason: "Task failed to start: its monitor process ended while no fargate-run host ran",
                              failure: "the task's monitor is gone"))
            } else {
                apply(.stopRequested(.terminationNotice, reason: "The task's monitor process ended while no fargate-run host ran"))
            }
            // Nothing keeps what still runs: it is killed with the task's cgroups.
            for c in lifecycle.containers where c.status == .running {
                apply(.exited(c.name, exitCode: 128 + SIGKILL, killedBySignal: true, oomKilled: false))
            }
        }
        await deprovision()
        return TaskResult(task: describe(), exitCode: lifecycle.exitCode, failure: lifecycle.failure)
    }

    /// The images (from the local store: they were pulled before), then the containers as the
    /// monitor knows them: what started or ended while no state was written is fed to the
    /// lifecycle, then its timers and health checks run again.
    func resumeContainers() async throws {
        var images: [String] = []
        for c in plan.containers where !images.contains(c.image) { images.append(c.image) }
        let observer = self.observer
        let prepared = try await backend.prepareImages(images, progress: { observer.imageProgress($0) })
        for (ref, result) in prepared {
            if case .failure(let e) = result { logger.warning("image of a resumed task not found", metadata: ["image": "\(ref)", "error": "\(e)"]) }
        }
        for c in plan.containers where imageIds[c.name] == nil {
            if case .success(let p)? = prepared[c.image], let id = p.configDigest { imageIds[c.name] = id.description }
        }
        let now = Date()
        let recovered = try backend.recover()
        // Its listener came back from its monitor (or was made again): answered from now on.
        serveEndpoint()
        for r in recovered.sorted(by: { ($0.endedAt ?? now) < ($1.endedAt ?? now) }) {
            let was = lifecycle.container(r.container)?.status
            // Started, or restarted, after the last state written.
            if was == .pending || (was == .stopped && r.status == nil) { apply(.started(r.container)) }
            if let status = r.status, lifecycle.container(r.container)?.status == .running {
                apply(exit(r.container, status), at: r.endedAt ?? now)
            }
        }
        // What waited on timers: a stop in progress kills on time; a startTimeout runs out
        // when it would have.
        for c in lifecycle.containers where c.status == .running {
            if c.healthPolicy != nil { startHealthChecks(c.name) }
            if c.signalled {
                let since = lifecycle.stoppingAt.map { now.timeIntervalSince($0) } ?? 0
                schedule(after: max(0, c.stopTimeout - Int(since)), .killTimeout(c.name))
            }
            if let t = c.startTimeout, let started = c.startedAt {
                schedule(after: max(0, t - Int(now.timeIntervalSince(started))), .startTimeout(c.name))
            }
        }
        publish()
        // Containers still waiting for their dependencies may start now.
        if !lifecycle.stopping { apply(.begin) }
    }

    /// The ledger records the task's billing start if the host before did not get that far;
    /// its bill is written at the end unless it was already.
    func resumeBilling() {
        // The host before may have died between recording the start in the ledger and in the
        // task's state file (whose writer waits a few milliseconds).
        if times.pullStartedAt == nil {
            times.pullStartedAt = Ledger.openedBillingStart(of: taskArn, at: config.root.ledgerPath, shared: config.ledger)
        }
        guard let start = times.pullStartedAt else { return }
        let marker = OpenTask(taskArn: taskArn, family: plan.family, billingStartMicros: Billing.micros(start), pid: getpid())
        let path = config.root.ledgerPath, shared = config.ledger
        ledgerOpening = Task.detached {
            let ledger = try shared ?? Ledger(path: path)
            try ledger.ensureOpen(marker)
            return ledger
        }
    }
}
