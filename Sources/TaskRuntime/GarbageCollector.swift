#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Metering
import Sandbox
import TaskNetwork

/// Finds tasks whose fargate-run died (SIGKILL, OOM, a crash) and removes what they left:
/// container processes, network (security-group rules, CNI DEL, IPAM lease, port
/// reservations), the network namespace, cgroups and container directories. The task is billed
/// up to the moment its processes were killed here, and marked STOPPED.
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

    /// Tasks of this root that have not finished but whose owner process is gone.
    public func abandonedTasks() -> [(String, TaskState)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.activeDirectory)) ?? []
        // Task ids only: anything else (another process's file being made) is not ours to sweep.
        let ids = names.filter { $0.count == 32 && $0.allSatisfy(\.isHexDigit) }
        return ids.compactMap { id in
            guard let state = try? TaskInspector.state(id, root: root), state.task.lastStatus != "STOPPED" else {
                // Finished, or never got far enough to write a state: nothing to clean.
                if (try? TaskInspector.state(id, root: root))?.task.lastStatus == "STOPPED" || !FileSystem.exists(root.taskDirectory(id)) {
                    unlink(root.activeDirectory + "/" + id)
                }
                return nil
            }
            return state.ownerIsAlive ? nil : (id, state)
        }
    }

    public func collect() -> [Collected] {
        abandonedTasks().map { collect(id: $0.0, state: $0.1) }
    }

    func collect(id: String, state: TaskState) -> Collected {
        var removed: [String] = [], problems: [String] = []
        // 1. Processes: everything in the task's cgroups (the pause process too).
        let killed = Cgroup.killAll(in: state.cgroupDirectories)
        if killed > 0 { removed.append("\(killed) processes") }
        let end = Date()
        // 2. Network: groups, CNI DEL, leases, ports.
        if let a = state.network {
            var opts = network
            opts.subnet = a.subnet
            let p = TaskNetworking(options: opts).detach(a)
            problems += p
            removed.append("network \(a.ip)")
        }
        // A fargate-run that died while attaching recorded no attachment, but may have joined
        // the host policy and leased an address.
        if state.network == nil {
            let (swept, p) = TaskNetworking(options: network).sweepUnrecorded(taskId: id)
            removed += swept
            problems += p
        }
        // Reservations of this task even if the attachment never made it into the state.
        let registry = PortRegistry(directory: network.hostStateDirectory + "/ports")
        let stale = registry.held(root: root.path).filter { $0.1.taskId == id }.map(\.0)
        if !stale.isEmpty {
            registry.release(stale, taskId: id)
            removed.append("\(stale.count) port reservations")
        }
        if let ns = state.networkNamespace, FileSystem.exists(ns) {
            do {
                try NetworkNamespace(name: (ns as NSString).lastPathComponent).remove()
                removed.append("network namespace \(ns)")
            } catch { problems.append("\(error)") }
        }
        // 3. cgroups, deepest first, once the kernel has let go of the killed processes.
        let cgroups = state.cgroupDirectories.filter(FileSystem.isDirectory)
        do {
            try Cgroup.remove(directories: cgroups) { Cgroup.killAll(in: cgroups) }
            removed += cgroups.map { "cgroup \($0)" }
        } catch { problems.append("\(error)") }
        // 4. Container directories and task volumes.
        for (sub, what) in [("/containers", "container directories"), ("/volumes", "task volumes")] {
            let dir = root.taskDirectory(id) + sub
            guard FileSystem.exists(dir) else { continue }
            do {
                try FileSystem.removeTree(dir)
                removed.append(what)
            } catch { problems.append("\(error)") }
        }
        // 5. Bill it, up to now: its containers ran until we killed them.
        var task = state.task
        if let billing = state.billing, let start = task.pullStartedAt?.date {
            do {
                let ledger = try Ledger(path: root.ledgerPath)
                if try ledger.openTasks().contains(where: { $0.taskArn == task.taskArn }) {
                    let record = try billing.record(taskArn: task.taskArn ?? id, start: start, end: end, prices: prices, stopCode: "TaskFailedToStart")
                    try ledger.close(record)
                    removed.append("billed \(record.billedSeconds) s")
                }
            } catch { problems.append("ledger: \(error)") }
        }
        // 6. The task's state says what happened.
        let owner = state.owner.map { "\($0.pid)" } ?? "\(state.ownerPid)"
        task.lastStatus = "STOPPED"
        task.desiredStatus = "STOPPED"
        task.stoppedAt = ECS.Timestamp(end)
        task.stopCode = task.stopCode ?? ECS.TaskStopCode(rawValue: "TaskFailedToStart")
        task.stoppedReason = "fargate-run (pid \(owner)) ended without stopping the task; cleaned up by gc"
        for i in task.containers?.indices ?? [].indices where task.containers![i].lastStatus != "STOPPED" {
            task.containers![i].lastStatus = "STOPPED"
            task.containers![i].reason = "ContainerRuntimeTimeoutError: its runtime process died; killed by gc"
        }
        var newState = state
        newState.task = task
        if let data = try? TaskState.encoder.encode(newState) {
            let path = root.taskDirectory(id) + "/state.json"
            try? FileSystem.writeAtomically(path, Array(data), durable: false)
            unlink(StateFileWriter.spare(of: path))
        }
        unlink(root.activeDirectory + "/" + id)
        return Collected(taskId: id, removed: removed, problems: problems)
    }
}
