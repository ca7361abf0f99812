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
import TaskNetwork

/// How a task ended, for the CLI.
public struct TaskResult: Sendable {
    /// The final task description, shaped like `aws ecs describe-tasks` output.
    public var task: ECS.Task
    /// 0 when every essential container exited 0; else the first non-zero exit code of an
    /// essential container, in the order they stopped; 125 when fargate-run itself failed.
    public var exitCode: Int32
    /// Set when fargate-run itself failed (not the containers): a one-line message.
    public var failure: String?
}

/// Runs one task through the ECS lifecycle, in this order:
/// PROVISIONING (cgroup, network namespace, the network attaching) → PENDING (once the network
/// is attached; images) → ACTIVATING (containers, in dependency order) → RUNNING →
/// DEACTIVATING → STOPPING (reverse dependency order, stop signal then SIGKILL after
/// stopTimeout) → DEPROVISIONING (everything removed) → STOPPED, billed.
///
/// The rules are `TaskLifecycle`'s; the runner feeds it events (exits, stop requests, timers,
/// health checks) and carries out its actions through a `TaskBackend`.
public actor TaskRunner {
    enum Input: Sendable {
        case exited(String, TerminationStatus)
        case event(LifecycleEvent)
    }

    public let plan: TaskPlan
    public let config: RunConfiguration
    public nonisolated let identity: TaskIdentity
    public nonisolated var taskId: String { identity.taskId }
    public nonisolated var taskArn: String { identity.taskArn }
    let backend: any TaskBackend
    let observer: any TaskObserver
    let logger: Logger
    let inputs: AsyncStream<Input>
    let input: AsyncStream<Input>.Continuation

    var lifecycle: TaskLifecycle
    var times: TaskTimes
    var attachment: TaskNetworkAttachment?
    /// Manifest digests of the containers' images, by container.
    var imageDigests: [String: String] = [:]
    /// Config digests of the containers' images (their ImageID), by container.
    var imageIds: [String: String] = [:]
    /// Scale-in protection, set through the task's endpoint.
    var protection = TaskProtection(enabled: false, expiresAt: nil)
    /// Whether the task's endpoint was handed to `config.endpoints` (and must be taken back).
    var endpointServed = false
    var layers: [String] = []
    /// Opening the ledger and recording that billing started (an fdatasync) runs beside the
    /// pull and the container starts; it only has to finish before the bill is written. nil
    /// in the task when its network never attached (not billed: on ECS the pull comes after).
    var ledgerOpening: Task<Ledger?, any Error>?
    /// Kill and start timeouts; all cancelled once the task has stopped.
    var timers: [Task<Void, Never>] = []
    var healthCheckers: [String: Task<Void, Never>] = [:]
    let stateWriter: StateFileWriter
    var stateFinal = false
    /// Who waits for the task to have started (or ended without).
    var startWaiters: [CheckedContinuation<ECS.Task, Never>] = []
    /// The task's registration with the usage sampler (TaskRunner+Usage): true once sampled.
    var usageRegistration: Task<Bool, Never>?

    /// A task with the real backend: namespaces, cgroups, overlay, the network.
    public init(plan: TaskPlan, config: RunConfiguration, sink: any LogSink, observer: any TaskObserver,
                identity: TaskIdentity? = nil, logger: Logger? = nil) {
        var identity = identity ?? TaskIdentity(taskId: TaskIdentity.newTaskId(), region: config.region, account: config.account,
                                                cluster: config.cluster)
        // A new task: its credentials id (when its containers get task-role credentials) and
        // zone are decided once, and recorded with it.
        if identity.credentialsId == nil, TaskRunner.servesCredentials(plan, config) { identity.credentialsId = TaskIdentity.newCredentialsId() }
        if identity.availabilityZone == nil { identity.availabilityZone = config.endpoint.availabilityZone }
        self.init(plan: plan, config: config, identity: identity,
                  backend: SandboxTaskBackend(plan: plan, config: config, taskId: identity.taskId, credentialsId: identity.credentialsId, sink: sink),
                  observer: observer, logger: logger)
    }

    /// A task on the given backend; `restoring` a recorded state resumes that task
    /// (`init(resuming:)`).
    public init(plan: TaskPlan, config: RunConfiguration, identity: TaskIdentity, backend: any TaskBackend,
                observer: any TaskObserver, logger: Logger? = nil, restoring recorded: TaskState? = nil) {
        self.plan = plan
        self.config = config
        self.identity = identity
        self.backend = backend
        self.observer = observer
        stateWriter = StateFileWriter(path: config.root.taskDirectory(identity.taskId) + "/state.json")
        var l = logger ?? Logger(label: "fargate-run.task")
        l[metadataKey: "task"] = .string(String(identity.taskId.prefix(12)))
        self.logger = l
        (inputs, input) = AsyncStream.makeStream(of: Input.self)
        lifecycle = recorded?.lifecycle ?? TaskLifecycle(containers: plan.containers.map(TaskLifecycle.Container.init),
                                                         sharedPidNamespace: plan.sharedPidNamespace)
        times = recorded?.times ?? TaskTimes(createdAt: Date())
        attachment = recorded?.network
        imageDigests = recorded?.imageDigests ?? [:]
        imageIds = recorded?.imageIds ?? [:]
        if let p = recorded?.protection { protection = p }
        layers = recorded?.layers ?? []
        let input = self.input
        backend.connect(exit: { name, status in input.yield(.exited(name, status)) },
                        warning: { [observer] in observer.warning($0) },
                        lost: { why in input.yield(.event(.stopRequested(.terminationNotice, reason: why))) })
    }

    /// Asks the task to stop (SIGINT/SIGTERM to fargate-run, or StopTask). The stop signal
    /// goes to every container, SIGKILL after its stopTimeout.
    public nonisolated func requestStop(code: StopCode = .userInitiated, reason: String = "Task stopped by user") {
        input.yield(.event(.stopRequested(code, reason: reason)))
    }

    /// SIGKILLs every container now (a second ^C).
    public nonisolated func forceStop() {
        input.yield(.event(.forceKill))
    }

    /// Returns once the task is RUNNING, or has stopped without getting there: what RunTask's
    /// callers wait for.
    public func started() async -> ECS.Task {
        if hasStarted { return describe() }
        return await withCheckedContinuation { startWaiters.append($0) }
    }

    var hasStarted: Bool { lifecycle.startedAt != nil || lifecycle.status == .stopped }

    /// The task as DescribeTasks shows it now.
    public func describe() -> ECS.Task {
        TaskDescription.render(plan: plan, identity: identity, lifecycle: lifecycle, times: times, attachment: attachment,
                               imageDigests: imageDigests)
    }

    /// Runs the task to its end. Never throws: a failure is a stopped task with a reason.
    public func run() async -> TaskResult {
        times = TaskTimes(createdAt: Date())
        do {
            // The active marker first, so that gc finds whatever follows should this process
            // die (a host made it already, before the task's directory); claimed until the
            // task's first state says whose it is.
            let claim = try TaskStore(root: config.root).claimActive(taskId)
            // The task's directory next: its state file lives in it.
            try FileSystem.makeDirectories(config.root.logDirectory(taskId), mode: 0o700)
            try backend.nameResources()
            // On disk before anything of the task is made: a task whose state cannot be
            // written goes no further.
            publish()
            try stateWriter.flushOrThrow()
            claim.release()
            mark("start")
            try backend.provision()
            mark("provisioned")
            try await pullImages()
            try backend.seedVolumes()
            mark("images ready")
            // The containers that start at once are made ready while the network attaches;
            // they run only once it is attached, as on ECS.
            backend.prepareAhead(lifecycle.readyToStart)
            attachment = try await backend.network().get()
            if lifecycle.advance(to: .pending) { publish() }
            // Recorded at once for `gc`, but not waited for: what is made next (the containers'
            // processes) gc finds through the task's cgroups, already recorded.
            publish()
            try backend.finishProvisioning()
            apply(.begin)
            // Its listener was made before any container started (connections wait in it);
            // it is answered from now on.
            serveEndpoint()
            await backend.abandonPrepared()
            mark("containers started")
            await supervise()
            mark("containers exited")
        } catch {
            logger.error("task failed", metadata: ["error": "\(error)"])
            // Only what comes before its containers start throws. What kept the task from
            // starting is its stoppedReason, as ECS words it: all a client of the host sees.
            apply(.failed(reason: String("ResourceInitializationError: \(error)".prefix(1024)), failure: "\(error)"))
            for (name, status) in await backend.killEverything() { apply(exit(name, status)) }
        }
        await deprovision()
        return TaskResult(task: describe(), exitCode: lifecycle.exitCode, failure: lifecycle.failure)
    }

    /// Pulls (or imports) every distinct image of the task at once, as Fargate does. A
    /// registry is asked only once the network is attached, as on ECS: a task whose network
    /// fails pulls nothing. Images found here are resolved while the network attaches.
    func pullImages() async throws {
        var images: [String] = []
        for c in plan.containers where !images.contains(c.image) { images.append(c.image) }
        let attaches = config.network.mode == .awsvpc
        if attaches, backend.needsRegistry(images) {
            if case .failure(let error) = await backend.network() { throw error }
            if lifecycle.advance(to: .pending) { publish() }
        } else if !attaches, lifecycle.advance(to: .pending) {
            publish()
        }
        let start = Date()
        times.pullStartedAt = start
        openLedger(billingFrom: start, afterNetwork: attaches)
        publish()
        let observer = self.observer
        let results = try await backend.prepareImages(images) { observer.imageProgress($0) }
        times.pullStoppedAt = Date()
        var firstError: ImageError?
        for c in plan.containers {
            switch results[c.image] {
            case .success(let p)?:
                imageDigests[c.name] = p.manifestDigest.description
                if let id = p.configDigest { imageIds[c.name] = id.description }
                layers += p.layers
            case .failure(let e)?:
                apply(.imageFailed(c.name, reason: String("CannotPullContainerError: \(e)".prefix(1024))))
                if firstError == nil { firstError = e }
            case nil:
                break
            }
        }
        layers = Array(Set(layers)).sorted()
        publish()
        if let firstError { throw firstError }
    }

    /// Opens the ledger (or takes the shared one) and records the task's billing start, beside
    /// the pull; with a network, only once it is attached.
    func openLedger(billingFrom start: Date, afterNetwork: Bool) {
        let marker = OpenTask(taskArn: taskArn, family: plan.family, billingStartMicros: Billing.micros(start), pid: getpid())
        let path = config.root.ledgerPath, shared = config.ledger, backend = self.backend
        ledgerOpening = Task.detached {
            if afterNetwork, case .failure = await backend.network() { return nil }
            let ledger = try shared ?? Ledger(path: path)
            try ledger.open(marker)
            return ledger
        }
    }

    /// The event loop: container exits, stop requests, timers, health checks, until every
    /// container has stopped.
    func supervise() async {
        if lifecycle.isFinished { return }
        for await next in inputs {
            switch next {
            case .exited(let name, let status):
                logger.info("container exited", metadata: ["container": "\(name)", "exitCode": "\(status.code)"])
                apply(exit(name, status))
            case .event(let event):
                if case .killTimeout(let name) = event, lifecycle.container(name)?.status == .running {
                    logger.info("stop timeout reached, killing", metadata: ["container": "\(name)"])
                }
                apply(event)
            }
            if lifecycle.isFinished { return }
        }
    }

    /// The lifecycle's event for a container's exit: whether the OOM killer did it is read
    /// from its cgroup.
    func exit(_ name: String, _ status: TerminationStatus) -> LifecycleEvent {
        .exited(name, exitCode: status.code, killedBySignal: !status.exited, oomKilled: !status.exited && backend.oomKilled(name))
    }

    /// Removes everything the task made; runs whatever happened before. Problems are reported
    /// as warnings: the rest of the teardown still runs.
    func deprovision() async {
        for t in timers { t.cancel() }
        for t in healthCheckers.values { t.cancel() }
        if lifecycle.advance(to: .deprovisioning) { publish() }
        await backend.quiesce()
        if endpointServed, let endpoints = config.endpoints { await endpoints.stopServing(taskId) }
        attachment = backend.resources.network
        // The attachment is recorded before it is released, should this process die meanwhile;
        // the task's last usage sample is written before its cgroups go. Both while its
        // processes are swept and its usage read.
        publish()
        stateWriter.beginFlush()
        let (stateWriter, sampling) = (stateWriter, finishSampling())
        // Billed while the task's cgroups, network and directories go: it ended when its last
        // process did.
        let (billing, prices, arn, stopCode, opening, start) = (billing, config.prices, taskArn, lifecycle.stopCode?.rawValue,
                                                               ledgerOpening, times.pullStartedAt)
        var billingError: (any Error)?, usageError: (any Error)?
        var end: Date?
        let released = await backend.release(beforeReleasing: {
            stateWriter.flush()
            usageError = await sampling?.value
        }, meanwhile: { usage in
            let now = Date()
            end = now
            guard let opening, let start else { return }
            do {
                let record = try billing.record(taskArn: arn, start: start, end: now, prices: prices, stopCode: stopCode,
                                                cpuUsageNanos: usage.cpuUsageNanos, memoryPeakBytes: usage.memoryPeakBytes)
                // A resumed task may have been billed by the host before, which died just after.
                guard let ledger = try await opening.value else { return }
                _ = try ledger.closeOnce(record)
            } catch { billingError = error }
        })
        if let usageError { observer.warning("usage samples: \(usageError)") }
        mark("released")
        for p in released.problems { observer.warning(p) }
        if !released.problems.isEmpty { observer.warning("what the teardown left stays on the machine's task list: fargate-run gc tries again") }
        if let billingError {
            observer.warning("\(billingError)")
            apply(.failed(reason: nil, failure: "\(billingError)"))
        }
        let stoppedAt = end ?? Date()
        times.stoppedAt = stoppedAt
        // STOPPED once nothing of the task is left but its logs and state.
        lifecycle.stopped(at: stoppedAt)
        publishNow()
        stateFinal = true
        stateWriter.finish()
        TaskStore(root: config.root).retire(taskId, leftovers: released.problems)
        mark("billed")
    }

    var billing: BillableTask {
        BillableTask(family: plan.family, revision: plan.revision, cpu: plan.size.cpu, memory: plan.size.memory,
                     ephemeralStorageGiB: plan.ephemeralStorageGiB, architecture: plan.cpuArchitecture,
                     attribution: identity.attribution(family: plan.family), capacityProvider: identity.capacityProvider)
    }

    // MARK: State

    /// Tells the observer, and has the state file rewritten on the writer's thread: the runner
    /// goes on meanwhile, and several changes in a row make one write.
    func publish(showing status: TaskStatus? = nil) {
        var task = describe()
        if let status { task.lastStatus = status.rawValue }
        observer.statusChanged(task)
        if !stateFinal { stateWriter.submit(stateSnapshot(task)) }
        if !startWaiters.isEmpty && hasStarted {
            // Whoever is told the task started may read its state file next (`run -d`, then
            // `ps` or `inspect`): the write is not left to the writer's coalescing.
            stateWriter.flush()
            for w in startWaiters { w.resume(returning: task) }
            startWaiters = []
        }
        sampleOnceRunning()
    }

    /// As `publish`, with the state file written before it returns: what must be on disk
    /// before a resource is made (so `fargate-run gc` finds it should this process die), and
    /// the task's last state.
    func publishNow() {
        publish()
        stateWriter.flush()
    }

    func stateSnapshot(_ task: ECS.Task) -> TaskState {
        let r = backend.resources
        var state = TaskState(task: task, pids: backend.pids(), networkNamespace: r.networkNamespace, cgroupDirectories: r.cgroupDirectories,
                              ownerPid: getpid(), owner: TaskRunner.owner, network: attachment ?? r.network, billing: billing,
                              containerDirectories: r.containerDirectories, layers: layers, lifecycle: lifecycle)
        state.identity = identity
        state.times = times
        state.imageDigests = imageDigests
        state.monitor = backend.keeper
        state.execProfiles = backend.execProfiles()
        state.protection = protection
        state.imageIds = imageIds
        return state
    }

    nonisolated func mark(_ what: String) { PhaseTiming.mark(what) }

    nonisolated static let owner = ProcessIdentity.current
}

extension TaskLifecycle.Container {
    /// A plan's container under ECS's rules.
    public init(_ c: TaskPlan.Container) {
        self.init(name: c.name, essential: c.essential,
                  dependsOn: c.dependsOn,
                  stopTimeout: c.stopTimeout, startTimeout: c.startTimeout,
                  healthPolicy: HealthPolicy(c.definition.healthCheck), restartRule: RestartRule(c.definition.restartPolicy))
    }
}
