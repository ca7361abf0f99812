#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Sandbox

/// Carrying out the lifecycle's actions.
extension TaskRunner {
    /// Feeds `event` to the lifecycle and does what it answers, in order; a start's outcome is
    /// fed back at once, so its consequences come before the actions after it.
    func apply(_ event: LifecycleEvent, at time: Date = Date()) {
        for action in lifecycle.handle(event, now: time) { perform(action) }
    }

    func perform(_ action: LifecycleAction) {
        switch action {
        case .start(let name):
            start(name)
        case .restart(let name, let exitCode, let count):
            logger.info("restarting container", metadata: ["container": "\(name)", "exitCode": "\(exitCode)", "restarts": "\(count)"])
            observer.containerRestarted(container: name, exitCode: exitCode, count: count)
            backend.resetForRestart(name)
            start(name)
        case .stop(let name):
            logger.debug("stopping container", metadata: ["container": "\(name)"])
            backend.stop(name)
        case .kill(let name):
            backend.kill(name)
        case .killRemaining(let name):
            backend.killRemaining(name)
        case .scheduleKillTimeout(let name, let seconds):
            schedule(after: seconds, .killTimeout(name))
        case .scheduleStartTimeout(let name, let seconds):
            schedule(after: seconds, .startTimeout(name))
        case .startHealthChecks(let name):
            startHealthChecks(name)
        case .stopHealthChecks(let name):
            healthCheckers.removeValue(forKey: name)?.cancel()
        case .statusChanged(let status):
            // Several steps may be taken at once (DEACTIVATING, then STOPPING): each is shown.
            publish(showing: status)
        case .healthChanged(let name, let status, let detail):
            observer.healthChanged(container: name, status: status, detail: detail)
        case .publish:
            publish()
        }
    }

    /// Starts a container and feeds the lifecycle what came of it.
    func start(_ name: String) {
        do {
            try backend.start(name)
            apply(.started(name))
        } catch {
            // A command that cannot be run is the container's fault (126, 127, as a shell
            // says); anything else is the runtime's (125).
            var code: Int32 = 125
            if case SandboxError.spawn(let stage, _, let errno) = error, stage == "exec" { code = errno == ENOENT ? 127 : 126 }
            logger.error("container failed to start", metadata: ["container": "\(name)", "error": "\(error)"])
            apply(.failedToStart(name, exitCode: code, reason: "CannotStartContainerError: \(error)",
                                 failure: code == 125 ? "container \(name): \(error)" : nil))
        }
    }

    /// Feeds `event` to the event loop after `seconds`, unless the task has ended by then.
    func schedule(after seconds: Int, _ event: LifecycleEvent) {
        let input = self.input
        timers.append(Task {
            try? await Task.sleep(for: .seconds(seconds))
            if Task.isCancelled { return }
            input.yield(.event(event))
        })
    }

    /// Runs the container's health check every `interval` seconds (the first after one
    /// interval, as Docker does) until it stops, feeding the results to the event loop.
    func startHealthChecks(_ name: String) {
        guard let policy = lifecycle.container(name)?.healthPolicy else { return }
        let input = self.input, backend = self.backend
        healthCheckers[name]?.cancel()
        healthCheckers[name] = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(policy.interval))
                if Task.isCancelled { return }
                let result = await backend.healthCheck(name, policy)
                if Task.isCancelled { return }
                input.yield(.event(.healthChecked(name, passed: result.passed, exitCode: result.exitCode, output: result.output)))
            }
        }
    }
}
