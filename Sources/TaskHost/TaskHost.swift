#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import LinuxSupport
import Logging
import Metering
import Sandbox
import TaskRuntime

/// The long-running owner of a state root's tasks (`fargate-run serve`): it starts them, keeps
/// their runners, stops them on request, and on start takes over the tasks a host before it
/// left running. Each task's containers are kept by the task's monitor, so the host may die or
/// be restarted without losing one.
public actor TaskHost {
    /// What every task of the host shares: state root, network, prices, registry, cgroup parent.
    public let base: RunConfiguration
    let store: TaskStore
    let logger: Logger
    var runners: [String: TaskRunner] = [:]
    /// How tasks ended, for those asking after their runner is gone (newest last, bounded).
    var results: [(id: String, result: TaskResult)] = []
    /// Who waits for a task to end, by a number of their own (to drop one whose client left).
    var endWaiters: [String: [(number: Int, continuation: CheckedContinuation<TaskResult, any Error>)]] = [:]
    var waitersMade = 0
    /// The registered revision a task definition file run here is (`ECSAPI.revision(ofFile:)`);
    /// without it, a file's tasks name `family:1`, as a foreground run's.
    var fileRevisions: (@Sendable (ECS.TaskDefinition) throws -> (arn: String, revision: Int))?

    /// A host over `base.root`, with the shared ledger and fargate-monitor sealed once.
    public init(base: RunConfiguration, logger: Logger) throws {
        var config = base
        config.ledger = try base.ledger ?? Ledger(path: base.root.ledgerPath)
        config.monitorExecutable = try base.monitorExecutable ?? SealedExecutable.fargateMonitor()
        // One sampling loop for all the host's tasks.
        config.usageSampler = base.usageSampler ?? UsageSampler(logger: logger)
        self.base = config
        store = TaskStore(root: base.root)
        self.logger = logger
    }

    public var taskIds: [String] { Array(runners.keys) }

    /// Names each task definition file run here by a registered revision (`fileRevisions`).
    public func registerFiles(with revision: @escaping @Sendable (ECS.TaskDefinition) throws -> (arn: String, revision: Int)) {
        fileRevisions = revision
    }

    /// What to run: a task definition file and what RunTask adds to it.
    public struct RunRequest: Codable, Sendable {
        /// The task definition file (absolute, or relative to `workingDirectory`).
        public var definitionPath: String
        /// RunTask overrides (TaskOverride JSON, or a file).
        public var overrides: String?
        /// A secrets file (Docs/TASK-DEFINITION.md).
        public var secretsPath: String?
        /// Where relative paths (the definition, oci:DIR images, environment files) start.
        public var workingDirectory: String
        public var count: Int
        public var cluster: String?
        public var startedBy: String?
        public var group: String?
        public var tags: [ECS.Tag]?
        /// What the file leaves unsaid (a template's resource and parameters, task members).
        public var definitionOptions: TaskDefinitionLoader.Options?
        /// A registered definition (the ECS API's RunTask) instead of the file; `definitionPath`
        /// then only names it in messages.
        public var definition: ECS.TaskDefinition?
        /// The account in the task's ARNs (the caller's); nil: the host's.
        public var account: String?
        /// The local security groups the task joins (RunTask's awsvpcConfiguration); nil: the host's.
        public var securityGroups: [String]?
        /// Return once each copy is RUNNING or stopped (the CLI); false returns the tasks as
        /// they are created, PROVISIONING, as ECS's RunTask does.
        public var waitUntilStarted: Bool?
        /// FARGATE_SPOT when RunTask's capacityProviderStrategy chose it; nil: FARGATE.
        public var capacityProvider: String?
        /// Publish the first copy's portMappings on the host (the CLI's `run -d`); tasks of the
        /// ECS API are reached at their own address, as on ECS (services through their listener).
        public var publishPorts: Bool?
        /// Remove the task's directory once it has stopped (the CLI's `run -d --rm`).
        public var removeWhenStopped: Bool?

        public init(definitionPath: String, overrides: String? = nil, secretsPath: String? = nil, workingDirectory: String,
                    count: Int = 1, cluster: String? = nil, startedBy: String? = nil, group: String? = nil, tags: [ECS.Tag]? = nil,
                    definitionOptions: TaskDefinitionLoader.Options? = nil, definition: ECS.TaskDefinition? = nil,
                    account: String? = nil, securityGroups: [String]? = nil, waitUntilStarted: Bool? = nil, capacityProvider: String? = nil, publishPorts: Bool? = nil,
                    removeWhenStopped: Bool? = nil) {
            self.removeWhenStopped = removeWhenStopped
            self.capacityProvider = capacityProvider
            self.publishPorts = publishPorts
            self.definition = definition
            self.account = account
            self.securityGroups = securityGroups
            self.waitUntilStarted = waitUntilStarted
            self.definitionOptions = definitionOptions
            self.definitionPath = definitionPath
            self.overrides = overrides
            self.secretsPath = secretsPath
            self.workingDirectory = workingDirectory
            self.count = count
            self.cluster = cluster
            self.startedBy = startedBy
            self.group = group
            self.tags = tags
        }
    }

    /// Starts `request.count` copies and returns once each is RUNNING or has stopped without
    /// getting there, as `aws ecs run-task` followed by `wait tasks-running` would (or at
    /// once, PROVISIONING, unless `waitUntilStarted`).
    public func run(_ request: RunRequest) async throws -> [ECS.Task] {
        guard (1...10).contains(request.count) else {
            throw TaskRuntimeError(.invalidState, "count \(request.count): RunTask runs 1 to 10 copies")
        }
        let path = request.definitionPath.hasPrefix("/") ? request.definitionPath : request.workingDirectory + "/" + request.definitionPath
        var prepared: PreparedTask
        if let definition = request.definition {
            prepared = try TaskInputs.prepare(LoadedTaskDefinition(definition: definition), source: path, overrides: request.overrides,
                                              secrets: request.secretsPath, region: base.region, account: request.account ?? base.account,
                                              running: true)
        } else {
            let loaded = try TaskInputs.load(path, definition: request.definitionOptions ?? .init(), region: base.region)
            prepared = try TaskInputs.prepare(loaded, source: path, overrides: request.overrides, secrets: request.secretsPath,
                                              region: base.region, account: TaskInputs.fileAccount, running: true)
            // As registered (the file as it is, without RunTask's overrides), once it is known to run.
            if let fileRevisions {
                do {
                    (prepared.plan.taskDefinitionArn, prepared.plan.revision) = try fileRevisions(loaded.definition)
                } catch {
                    logger.warning("the task definition file was not registered; its tasks name family:1", metadata: ["file": "\(path)", "error": "\(error)"])
                }
            }
        }
        var runners: [TaskRunner] = []
        for n in 1...request.count {
            var config = base
            config.workingDirectory = request.workingDirectory
            config.publishPorts = n == 1 && request.publishPorts ?? true
            if let cluster = request.cluster { config.cluster = cluster }
            if let account = request.account { config.account = account }
            if let groups = request.securityGroups, !groups.isEmpty { config.network.securityGroups = groups }
            let identity = TaskIdentity(taskId: TaskIdentity.newTaskId(), region: config.region, account: config.account,
                                        cluster: config.cluster, startedBy: request.startedBy ?? "fargate-run", group: request.group,
                                        tags: request.tags, capacityProvider: request.capacityProvider)
            try keep(prepared.plan, for: identity.taskId, removeWhenStopped: request.removeWhenStopped == true)
            let runner = TaskRunner(plan: prepared.plan, config: config, sink: NullSink(), observer: HostObserver(logger: logger, taskId: identity.taskId),
                                    identity: identity, logger: logger)
            adopt(runner) { await runner.run() }
            runners.append(runner)
        }
        var out: [ECS.Task] = []
        for r in runners { out.append(request.waitUntilStarted ?? true ? await r.started() : await r.describe()) }
        return out
    }

    /// A task this host runs, as DescribeTasks shows it now; nil if it runs no such task.
    public func describe(_ id: String) async -> ECS.Task? {
        guard let runner = runners[id] else { return nil }
        return await runner.describe()
    }

    /// Asks a task this host runs to stop (StopTask; a service's scheduler).
    public func stop(_ id: String, reason: String, code: StopCode = .userInitiated) throws -> String {
        guard let runner = runners[id] else {
            if let state = try? store.state(id), state.isStopped { throw TaskRuntimeError(.invalidState, "task \(id) is already STOPPED") }
            throw TaskRuntimeError(.notFound, "task \(id) is not run by this host")
        }
        runner.requestStop(code: code, reason: reason)
        return runner.taskArn
    }

    /// The tasks this host runs, as DescribeTasks shows them.
    public func describe() async -> [ECS.Task] {
        var out: [ECS.Task] = []
        for r in runners.values { out.append(await r.describe()) }
        return out
    }

    /// A task of this state root as last recorded (a stopped one too); nil if there is none.
    public nonisolated func recorded(_ id: String) -> TaskState? {
        guard TaskStore.isTaskId(id) else { return nil }
        return try? store.state(id)
    }

    /// The tasks of this state root whose record changed since `date` (the stopped ones a
    /// listing shows): found by their state files' times, so only those are read.
    public nonisolated func recorded(since date: Date) -> [TaskState] {
        store.ids().compactMap { id in
            var st = stat()
            guard stat(store.statePath(id), &st) == 0, Double(st.st_mtim.tv_sec) >= date.timeIntervalSince1970 else { return nil }
            return try? store.state(id)
        }
    }

    /// Takes over every task a host before this one left under its monitor. Returns their ids.
    @discardableResult
    public func resumeTasks() async -> [String] {
        var resumed: [String] = []
        for id in store.activeIds() where runners[id] == nil {
            if store.discardUnstartedHostedTask(id) {
                logger.notice("removed a task its host was killed while starting", metadata: ["task": "\(id)"])
                continue
            }
            guard let state = try? store.state(id), state.isHosted, !state.isStopped else { continue }
            do {
                let plan = try JSONDecoder().decode(TaskPlan.self, from: Data(contentsOf: URL(fileURLWithPath: planPath(id))))
                var config = base
                config.cluster = state.identity?.cluster ?? config.cluster
                // Images were pulled when the task started: the local copies are used.
                config.pullPolicy = .missing
                let backend = try SandboxTaskBackend(resuming: state, plan: plan, config: config, taskId: id)
                let runner = try TaskRunner(resuming: state, plan: plan, config: config, backend: backend,
                                            observer: HostObserver(logger: logger, taskId: id), logger: logger)
                // This host keeps it now (`OrphanSweep` asks whether the recorded one lives).
                store.recordOnMachine(id)
                adopt(runner) { await runner.resume() }
                resumed.append(id)
            } catch {
                logger.error("cannot resume task", metadata: ["task": "\(id)", "error": "\(error)"])
            }
        }
        return resumed
    }

    /// Keeps the runner until its task has ended, and how it ended.
    func adopt(_ runner: TaskRunner, _ body: @escaping @Sendable () async -> TaskResult) {
        let id = runner.taskId
        runners[id] = runner
        Task {
            let result = await body()
            self.ended(id, result)
        }
    }

    func ended(_ id: String, _ result: TaskResult) {
        runners[id] = nil
        for w in endWaiters.removeValue(forKey: id) ?? [] { w.continuation.resume(returning: result) }
        results.append((id, result))
        if results.count > 1000 { results.removeFirst(results.count - 1000) }
        try? FileManager.default.removeItem(atPath: planPath(id))
        logger.info("task stopped", metadata: ["task": "\(id)", "exitCode": "\(result.exitCode)"])
        // (Its waiters have their answer, and `wait` asks this host for the result.)
        if FileSystem.exists(base.root.removeWhenStoppedPath(id)) { removeInBackground(id) }
    }

    /// Removes a stopped task's directory off Swift's concurrency threads (removing its logs
    /// is blocking I/O).
    nonisolated func removeInBackground(_ id: String) {
        let (store, logger) = (store, logger)
        DispatchQueue.global().async {
            do { try TaskRemoval.remove(id, store: store) } catch is TaskRemoval.Gone {} catch {
                logger.warning("cannot remove the stopped task", metadata: ["task": "\(id)", "error": "\(error)"])
            }
        }
    }

    /// Removes the stopped tasks `run -d --rm` asked to remove that a host died before removing
    /// (it retires a task's marker, then removes its directory). At a host's start.
    public nonisolated func finishRemovals() {
        let active = Set(store.activeIds())
        for id in store.ids() where !active.contains(id) && FileSystem.exists(base.root.removeWhenStoppedPath(id)) {
            guard (try? store.state(id))?.isStopped == true else { continue }
            removeInBackground(id)
        }
    }

    /// How a task ended, if it did while this host ran it.
    public func result(_ id: String) -> TaskResult? { results.last { $0.id == id }?.result }

    /// Returns once a task this host runs (or ran) has stopped: how it ended. Cancelled (its
    /// client went away), it throws `CancellationError` and the host forgets it.
    public func wait(_ id: String) async throws -> TaskResult {
        if let done = result(id) { return done }
        guard runners[id] != nil else { throw TaskRuntimeError(.notFound, "task \(id) is not run by this host") }
        waitersMade += 1
        let number = waitersMade
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { c in
                if Task.isCancelled { return c.resume(throwing: CancellationError()) }
                endWaiters[id, default: []].append((number, c))
            }
        } onCancel: {
            Task { await self.dropWaiter(number, of: id) }
        }
    }

    /// Clients waiting for a task to end.
    public var waiting: Int { endWaiters.values.reduce(0) { $0 + $1.count } }

    func dropWaiter(_ number: Int, of id: String) {
        guard let i = endWaiters[id]?.firstIndex(where: { $0.number == number }) else { return }
        let w = endWaiters[id]!.remove(at: i)
        if endWaiters[id]!.isEmpty { endWaiters[id] = nil }
        w.continuation.resume(throwing: CancellationError())
        logger.debug("a client waiting for the task left", metadata: ["task": "\(id)"])
    }

    /// The plan a task was started with, root's only: a host that takes the task over later
    /// needs it (its secrets' values included, as its containers' environments hold them).
    func planPath(_ id: String) -> String { base.root.hostedPlanPath(id) }

    /// Makes a new task's active marker, then its directory with its plan, whole (made aside
    /// and renamed into place): a host killed at any point of this leaves what the next host
    /// finds and removes (`TaskStore.discardUnstartedHostedTask`), never a bare directory.
    func keep(_ plan: TaskPlan, for id: String, removeWhenStopped: Bool = false) throws {
        let staging = base.root.stagingDirectory(id)
        try store.markActive(id)
        do {
            try FileSystem.makeDirectories(staging + "/logs", mode: 0o700)
            try FileSystem.createFile(staging + "/plan.json", Array(try JSONEncoder().encode(plan)), mode: 0o600)
            if removeWhenStopped { try FileSystem.createFile(staging + "/remove-when-stopped", [], mode: 0o600) }
            let directory = base.root.taskDirectory(id)
            try syscallRetrying("rename", path: directory) { rename(staging, directory) }
        } catch {
            try? FileSystem.removeTree(staging)
            store.retire(id)
            throw error
        }
    }
}

/// A hosted task's output goes only to its log files (its monitor writes them).
struct NullSink: LogSink {
    func line(container: String, stream: LogStream, text: String) {}
}

/// What a hosted task reports goes to the host's log.
struct HostObserver: TaskObserver {
    let logger: Logger
    let taskId: String

    func imageProgress(_ event: ImageProgress) {}
    func statusChanged(_ task: ECS.Task) {}
    func warning(_ message: String) {
        logger.warning("\(message)", metadata: ["task": "\(taskId.prefix(12))"])
    }
    func healthChanged(container: String, status: HealthStatus, detail: String) {
        logger.info("health changed", metadata: ["task": "\(taskId.prefix(12))", "container": "\(container)", "status": "\(status.rawValue)"])
    }
    func containerRestarted(container: String, exitCode: Int32, count: Int) {
        logger.info("container restarted", metadata: ["task": "\(taskId.prefix(12))", "container": "\(container)", "restarts": "\(count)"])
    }
}
