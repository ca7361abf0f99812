import Foundation

/// The ECS task lifecycle as rules and nothing else: which container starts when (dependsOn,
/// startTimeout), what an exit means (essential containers, restartPolicy, the exit code), how
/// a task stops (stop waves in reverse dependency order, SIGKILL after stopTimeout) and how
/// health checks move a container's health.
///
/// It is fed events (`handle`) and answers with actions for its driver (`TaskRunner`) to carry
/// out; it does no I/O, reads no clock and holds no process, so every rule has a plain unit
/// test. It is Codable: the state file carries it, and a host that restarts resumes from it.
public struct TaskLifecycle: Sendable, Codable {
    public struct Dependency: Sendable, Codable, Equatable {
        public var container: String
        public var condition: DependencyCondition

        public init(container: String, condition: DependencyCondition) {
            self.container = container
            self.condition = condition
        }
    }

    /// One container's rules, and where it stands.
    public struct Container: Sendable, Codable {
        public let name: String
        public let essential: Bool
        public let dependsOn: [Dependency]
        /// Seconds between the stop signal and SIGKILL.
        public let stopTimeout: Int
        /// Seconds after its start within which it must reach what its dependents wait for
        /// (COMPLETE, SUCCESS or HEALTHY).
        public let startTimeout: Int?
        public let healthPolicy: HealthPolicy?
        public let restartRule: RestartRule?

        public internal(set) var status: ContainerStatus = .pending
        public internal(set) var exitCode: Int32?
        /// `<ErrorName>: <message>`, as ECS reports a container's reason.
        public internal(set) var reason: String?
        public internal(set) var health = HealthPolicy.State()
        public internal(set) var startedAt: Date?
        /// When its last process ended (or it failed to start).
        public internal(set) var finishedAt: Date?
        public internal(set) var restartCount = 0
        /// Whether a process of it ever ran (a container stopped before it ran never started).
        public internal(set) var hasRun = false
        /// Whether its stop signal was sent.
        public internal(set) var signalled = false

        public init(name: String, essential: Bool, dependsOn: [Dependency] = [], stopTimeout: Int = 30,
                    startTimeout: Int? = nil, healthPolicy: HealthPolicy? = nil, restartRule: RestartRule? = nil) {
            self.name = name
            self.essential = essential
            self.dependsOn = dependsOn
            self.stopTimeout = stopTimeout
            self.startTimeout = startTimeout
            self.healthPolicy = healthPolicy
            self.restartRule = restartRule
        }
    }

    public internal(set) var containers: [Container]
    public internal(set) var status: TaskStatus = .provisioning
    /// Set once the task is asked to stop (or fails): from then on nothing starts.
    public internal(set) var stopping = false
    public internal(set) var stopCode: StopCode?
    public internal(set) var stoppedReason: String?
    /// Exit codes of the essential containers, in the order they stopped.
    public internal(set) var essentialExits: [Int32] = []
    /// Set when the runtime itself failed (not the containers): a one-line message.
    public internal(set) var failure: String?
    public internal(set) var startedAt: Date?
    public internal(set) var stoppingAt: Date?
    public internal(set) var executionStoppedAt: Date?
    /// pidMode "task": a container's other processes outlive its main one, and are killed
    /// with it.
    public let sharedPidNamespace: Bool

    public init(containers: [Container], sharedPidNamespace: Bool = false) {
        self.containers = containers
        self.sharedPidNamespace = sharedPidNamespace
    }

    public func container(_ name: String) -> Container? { containers.first { $0.name == name } }

    func index(_ name: String) -> Int? { containers.firstIndex { $0.name == name } }

    /// Every container has stopped (or will never start, the task stopping): the task can be
    /// torn down.
    public var isFinished: Bool {
        containers.allSatisfy { $0.status == .stopped || ($0.status == .pending && stopping) }
    }

    public var desiredStatus: String { stopping || status == .stopped ? "STOPPED" : "RUNNING" }

    /// The task's health: from its essential containers that have a health check.
    public var health: HealthStatus {
        HealthPolicy.taskStatus(containers.map { ($0.essential, $0.healthPolicy != nil, $0.health.status) })
    }

    /// What the task's end means for a caller waiting on it, as `docker run` answers: 125 when
    /// the runtime failed; else the first non-zero exit code of an essential container, in the
    /// order they stopped; 1 when an essential container never ran (a dependency failed or
    /// timed out); else 0.
    public var exitCode: Int32 {
        if failure != nil { return 125 }
        if let nonzero = essentialExits.first(where: { $0 != 0 }) { return nonzero }
        if containers.contains(where: { $0.essential && !$0.hasRun && $0.exitCode == nil }) { return 1 }
        return 0
    }

    /// Moves the task to `next` if that is forward; the driver reports the statuses it owns
    /// (PENDING, DEPROVISIONING, STOPPED) through this. Returns whether it moved.
    @discardableResult
    public mutating func advance(to next: TaskStatus) -> Bool {
        guard status.canMove(to: next) else { return false }
        status = next
        return true
    }

    /// The task has been torn down at `now`: STOPPED. A task none of whose essential
    /// containers stopped on its own (it failed to start) stopped executing then too.
    public mutating func stopped(at now: Date) {
        if executionStoppedAt == nil { executionStoppedAt = now }
        stopping = true
        advance(to: .stopped)
    }

    /// Handles one event at time `now` and returns what the driver must do, in order.
    public mutating func handle(_ event: LifecycleEvent, now: Date) -> [LifecycleAction] {
        var out: [LifecycleAction] = []
        switch event {
        case .begin:
            guard !stopping else { break }
            if advance(to: .activating) { out.append(.statusChanged(.activating)) }
            startNext(now: now, into: &out)
        case .started(let name):
            started(name, now: now, into: &out)
        case .failedToStart(let name, let exitCode, let reason, let failure):
            failedToStart(name, exitCode: exitCode, reason: reason, failure: failure, now: now, into: &out)
        case .exited(let name, let exitCode, let killedBySignal, let oomKilled):
            exited(name, exitCode: exitCode, killedBySignal: killedBySignal, oomKilled: oomKilled, now: now, into: &out)
        case .stopRequested(let code, let reason):
            beginStop(code: code, reason: reason, now: now, into: &out)
        case .forceKill:
            for c in containers where c.status == .running { out.append(.kill(c.name)) }
        case .killTimeout(let name):
            if let c = container(name), c.status == .running { out.append(.kill(name)) }
        case .startTimeout(let name):
            startTimedOut(name, now: now, into: &out)
        case .healthChecked(let name, let passed, let exitCode, let output):
            healthChecked(name, passed: passed, exitCode: exitCode, output: output, now: now, into: &out)
        case .failed(let reason, let failure):
            failed(reason: reason, failure: failure)
        case .imageFailed(let name, let reason):
            if let i = index(name) {
                containers[i].status = .stopped
                containers[i].reason = reason
                if stoppedReason == nil { stoppedReason = reason }
            }
        }
        return out
    }

    /// The task itself failed (provisioning, an image): nothing more starts; stopCode
    /// TaskFailedToStart unless it was already stopping for another reason.
    mutating func failed(reason: String?, failure: String) {
        if self.failure == nil { self.failure = failure }
        if stopCode == nil {
            stopCode = .taskFailedToStart
            stoppedReason = stoppedReason ?? reason ?? "Task failed to start"
        }
        stopping = true
    }
}

/// What happens to a task, for `TaskLifecycle.handle`.
public enum LifecycleEvent: Sendable, Equatable {
    /// Provisioned and its images ready: start what can start.
    case begin
    /// A container's process runs (after a `.start` or `.restart` action).
    case started(String)
    /// A container could not be started: its exit code as a shell gives it (125 when the
    /// runtime failed, 126/127 when the command cannot run), its reason, and for 125 what failed.
    case failedToStart(String, exitCode: Int32, reason: String, failure: String?)
    /// A container's main process ended: its exit code (128 + N when killed by signal N).
    case exited(String, exitCode: Int32, killedBySignal: Bool, oomKilled: Bool)
    case stopRequested(StopCode, reason: String)
    /// Kill every running container now (a second ^C).
    case forceKill
    /// A container's stopTimeout has passed since its stop signal.
    case killTimeout(String)
    /// A container's startTimeout has passed since its start.
    case startTimeout(String)
    case healthChecked(String, passed: Bool, exitCode: Int32?, output: String)
    /// A container's image could not be pulled (`CannotPullContainerError: ...`).
    case imageFailed(String, reason: String)
    /// The task could not be provisioned or started: `reason` for stoppedReason (nil: "Task
    /// failed to start"), `failure` the runtime's one-line error.
    case failed(reason: String?, failure: String)
}

/// What the driver must do, in order, after an event.
public enum LifecycleAction: Sendable, Equatable {
    /// Start the container; answer with `.started` or `.failedToStart`.
    case start(String)
    /// Start the exited container again in place (a restartPolicy): a fresh cgroup, the same
    /// writable layer; answer with `.started` or `.failedToStart`.
    case restart(String, exitCode: Int32, count: Int)
    /// Send the container its stop signal (the image's STOPSIGNAL, else SIGTERM).
    case stop(String)
    /// SIGKILL the container.
    case kill(String)
    /// Kill what is left in the container's cgroup (a shared pid namespace keeps its other
    /// processes alive after its main one).
    case killRemaining(String)
    case scheduleKillTimeout(String, seconds: Int)
    case scheduleStartTimeout(String, seconds: Int)
    case startHealthChecks(String)
    case stopHealthChecks(String)
    case statusChanged(TaskStatus)
    case healthChanged(String, HealthStatus, detail: String)
    /// Something in the description changed: render and record it.
    case publish
}
