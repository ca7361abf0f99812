#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Metering
import Sandbox
import TaskNetwork

/// Finds tasks whose fargate-run died (SIGKILL, OOM, a crash) and removes what they left
/// (`TaskResources.release`: processes, network, namespace, cgroups, directories). The task is
/// billed up to the moment its processes were killed here, and marked STOPPED.
public struct GarbageCollector: Sendable {
    public let root: StateRoot
    public let prices: PriceTable
    public let network: NetworkOptions

    public init(root: StateRoot, prices: PriceTable = .usEast1, network: NetworkOptions = NetworkOptions()) {
        self.root = root
        self.prices = prices
        self.network = network
    }

    public struct Collected: Sendable {
        public var taskId: String
        public var removed: [String]
        public var problems: [String]
    }

    /// Tasks of this root that have not finished but whose owner process is gone. A hosted
    /// task is its host's to take over, unless no host serves the root and its monitor is gone.
    public func abandonedTasks() -> [(String, TaskState)] {
        let store = TaskStore(root: root)
        let host = HostLock.state(of: root)
        let served = host.held
        // A host's own gc, at its start (before it makes any task).
        let servedHere = host.pid == getpid()
        return store.activeIds().compactMap { id in
            guard let state = try? store.state(id) else {
                sweepStateless(id, store: store, served: served, servedHere: servedHere)
                return nil
            }
            if state.isStopped {
                store.retire(id)
                return nil
            }
            return GarbageCollector.isAbandoned(state, served: served) ? (id, state) : nil
        }
    }

    /// Whether a task that has not stopped has lost its owner: a foreground run's process, or
    /// for a hosted task both a host serving the root (`served`) and its monitor.
    public static func isAbandoned(_ state: TaskState, served: Bool) -> Bool {
        if state.isHosted { return !served && state.monitor?.isAlive != true }
        return !state.ownerIsAlive
    }

    /// The tasks the ledger holds open, by what becomes of their bill: `running` are billed
    /// when they stop; `abandoned` lost their owner, and `gc` bills them; `unbillable` have
    /// stopped, or have no state, with their bill never written (a ledger write that failed
    /// as they stopped): nothing will bill them. Reads only: nothing is swept or retired.
    public func openTaskFates(_ open: [OpenTask]) -> (running: [OpenTask], abandoned: [OpenTask], unbillable: [OpenTask]) {
        let store = TaskStore(root: root)
        let served = HostLock.state(of: root).held
        var out: (running: [OpenTask], abandoned: [OpenTask], unbillable: [OpenTask]) = ([], [], [])
        for o in open {
            guard let state = try? store.state(ARN.resourceId(o.taskArn)), !state.isStopped else { out.unbillable.append(o); continue }
            if GarbageCollector.isAbandoned(state, served: served) { out.abandoned.append(o) } else { out.running.append(o) }
        }
        return out
    }

    /// A marker whose task has no state (or none that reads). A host died while making the
    /// task: removed, unless a host serves the root (checked again for one started since),
    /// which does that itself. A foreground run died before its first state: removed once no
    /// run claims the marker. A marker that never got a directory goes too, but a serving
    /// host's own are left to it, and a claimed one to its run: both make a task's marker a
    /// moment before its directory. (The staging directory is looked at first, as it is
    /// renamed into the other.)
    func sweepStateless(_ id: String, store: TaskStore, served: Bool, servedHere: Bool) {
        if !served, !HostLock.state(of: root).held, store.discardUnstartedHostedTask(id) { return }
        if store.discardUnstartedForegroundTask(id) { return }
        if !served || servedHere, !FileSystem.exists(root.stagingDirectory(id)), !FileSystem.exists(root.taskDirectory(id)) {
            store.retireUnclaimed(id)
        }
    }

    public func collect() async -> [Collected] {
        var out: [Collected] = []
        for (id, state) in abandonedTasks() { out.append(await collect(id: id, state: state)) }
        return out
    }

    func collect(id: String, state: TaskState) async -> Collected {
        let usageProblem = finalUsageSample(state)
        var released = await state.resources.release(taskId: id, stateRoot: root.path, taskDirectory: root.taskDirectory(id),
                                                     options: network, unrecorded: state.network == nil)
        let leftovers = released.problems
        // A host killed between starting the task's monitor and recording it left a monitor
        // no state names (a recorded one is alive only for a host to take over).
        if !state.isHosted {
            for pid in TaskMonitor.killUnrecorded(taskDirectory: root.taskDirectory(id)) { released.removed.append("monitor \(pid)") }
        }
        let end = Date()
        // Billed up to now: its containers ran until they were killed here.
        var task = state.task
        // Billed from its open marker, the ledger's own record of when billing started: a
        // runner may die after writing it and before its state file had `pullStartedAt`.
        if let billing = state.billing, FileSystem.exists(root.ledgerPath) {
            do {
                let ledger = try Ledger(path: root.ledgerPath)
                if let arn = task.taskArn, let open = try ledger.openTask(arn) {
                    task.pullStartedAt = task.pullStartedAt ?? ECS.Timestamp(open.billingStart)
                    let record = try billing.record(taskArn: open.taskArn, start: open.billingStart, end: end, prices: prices,
                                                    stopCode: StopCode.taskFailedToStart.rawValue,
                                                    cpuUsageNanos: released.cpuUsageNanos, memoryPeakBytes: released.memoryPeakBytes)
                    try ledger.close(record)
                    released.removed.append("billed \(record.billedSeconds) s")
                }
            } catch { released.problems.append("ledger: \(error)") }
        }
        if let usageProblem { released.problems.append(usageProblem) }
        // The task's state says what happened.
        let owner = state.owner.map { "\($0.pid)" } ?? "\(state.ownerPid)"
        task.lastStatus = TaskStatus.stopped.rawValue
        task.desiredStatus = "STOPPED"
        task.stoppedAt = ECS.Timestamp(end)
        task.stopCode = task.stopCode ?? ECS.TaskStopCode(rawValue: StopCode.taskFailedToStart.rawValue)
        task.stoppedReason = "fargate-run (pid \(owner)) ended without stopping the task; cleaned up by gc"
        for i in task.containers?.indices ?? [].indices where task.containers![i].lastStatus != ContainerStatus.stopped.rawValue {
            task.containers![i].lastStatus = ContainerStatus.stopped.rawValue
            task.containers![i].reason = "ContainerRuntimeTimeoutError: its runtime process died; killed by gc"
        }
        var newState = state
        newState.task = task
        let store = TaskStore(root: root)
        try? store.writeFinal(newState, id: id)
        store.retire(id, leftovers: leftovers)
        return Collected(taskId: id, removed: released.removed, problems: released.problems)
    }

    /// The last usage sample of a task whose sampler died with its fargate-run, taken from its
    /// cgroups before they go, so its samples cover what its bill does. A problem, or nil.
    func finalUsageSample(_ state: TaskState) -> String? {
        guard let arn = state.task.taskArn, state.billing != nil, !state.cgroupDirectories.isEmpty,
              let cgroup = TaskResources.cgroup(at: state.cgroupDirectories), FileSystem.exists(root.ledgerPath) else { return nil }
        do {
            let ledger = try Ledger(path: root.ledgerPath)
            try UsageSampler.finalSample(arn, ledger: ledger) { CgroupUsageSource(taskCgroup: cgroup, containers: $0) }
            return nil
        } catch { return "usage samples: \(error)" }
    }
}
