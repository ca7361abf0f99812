#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox
import TaskNetwork

/// What a task holds on the machine, as its state file records it: its network namespace and
/// network, cgroups and container directories. `release` removes them all; the runner calls it
/// when a task ends, and `gc` (or a host resuming tasks) for a task whose runner died, so a
/// task is torn down one way whoever does it.
public struct TaskResources: Sendable {
    public var networkNamespace: String?
    public var cgroupDirectories: [String]
    public var network: TaskNetworkAttachment?
    public var containerDirectories: [String]

    public init(networkNamespace: String?, cgroupDirectories: [String], network: TaskNetworkAttachment?, containerDirectories: [String]) {
        self.networkNamespace = networkNamespace
        self.cgroupDirectories = cgroupDirectories
        self.network = network
        self.containerDirectories = containerDirectories
    }

    /// What `release` did.
    public struct Released: Sendable {
        public var removed: [String] = []
        public var problems: [String] = []
        /// The task cgroup's CPU time and memory peak, read before it went.
        public var cpuUsageNanos: Int64?
        public var memoryPeakBytes: Int64?
    }

    /// Removes everything the task made, whatever happened before; a failure is reported and
    /// the rest still goes. Processes still in the task's cgroups are killed first.
    ///
    /// - Parameters:
    ///   - taskId: the task's id (its name in the address pool, host policy and port registry).
    ///   - stateRoot: the state root's path (port reservations name it).
    ///   - taskDirectory: the task's directory; its `containers` and `volumes` go.
    ///   - cgroup: the task cgroup, when the caller has it (else found from the directories).
    ///   - options: the network options the task was attached with.
    ///   - unrecorded: the runner may have died while attaching, before recording the network:
    ///     its host-policy membership, address lease and port reservations are looked for.
    ///   - beforeReleasing: what must be done before anything is released (the runner's state
    ///     file recording what is released, the last usage sample, which reads the cgroups):
    ///     awaited once the task's processes are sent SIGKILL and its usage is read; begun
    ///     before this is called, it overlaps them.
    ///   - meanwhile: what to do (billing, an fsync) after `beforeReleasing`, while the task's
    ///     cgroups, network and directories are removed. What it
    ///     is given holds the usage, not yet what the removal did.
    public func release(taskId: String, stateRoot: String, taskDirectory: String, cgroup: Cgroup? = nil, options: NetworkOptions,
                        unrecorded: Bool = false, beforeReleasing: () async -> Void = {},
                        meanwhile: (Released) async -> Void = { _ in }) async -> Released {
        var out = Released()
        let killed = Cgroup.killAll(in: cgroupDirectories)
        if killed > 0 { out.removed.append("\(killed) processes") }
        let cg = cgroup ?? TaskResources.cgroup(at: cgroupDirectories)
        if let cg {
            let s = cg.stats()
            out.cpuUsageNanos = Int64(s.cpuUsageNanos)
            out.memoryPeakBytes = s.memoryPeak.map { Int64($0) }
        }
        await beforeReleasing()
        PhaseTiming.mark("network detach start")
        let namespace = networkNamespace.map { NetworkNamespace(name: ($0 as NSString).lastPathComponent) }
        // The network's teardown (netlink, the nft leave, CNI DEL for a user's conflist) runs on
        // its own thread: cgroups and directories go meanwhile.
        var detaching: Task<[String], Never>?
        if let a = network {
            var o = options
            o.subnet = a.subnet
            let attached = o
            detaching = startOnOwnThread { TaskNetworking(options: attached).detach(a, namespace: namespace) }
            out.removed.append("network \(a.ip)")
        } else if unrecorded {
            let (swept, problems) = TaskNetworking(options: options).sweepUnrecorded(taskId: taskId)
            out.removed += swept
            out.problems += problems
            let registry = PortRegistry(directory: options.hostStateDirectory + "/ports")
            let stale = registry.held(root: stateRoot).filter { $0.1.taskId == taskId }.map(\.0)
            if !stale.isEmpty {
                registry.release(stale, taskId: taskId)
                out.removed.append("\(stale.count) port reservations")
            }
        }
        // The cgroups go, and only then (no process of the task left to use them) its
        // directories, on a thread of their own while the task is billed here.
        let (live, directories) = (cgroupDirectories.filter(FileSystem.isDirectory), containerDirectories)
        let removing = startOnOwnThread { () -> ([String], [String]) in
            var removed: [String] = [], problems: [String] = []
            do {
                try Cgroup.remove(directories: live) { Cgroup.killAll(in: live) }
                removed += live.map { "cgroup \($0)" }
            } catch { problems.append("removing cgroup: \(error)") }
            for d in directories {
                do { try FileSystem.removeTree(d) } catch { problems.append("removing \(d): \(error)") }
            }
            // Task volumes end with the task, as bind mounts do on Fargate (EFS ones stay).
            for (sub, what) in [("/containers", "container directories"), ("/volumes", "task volumes")] {
                let dir = taskDirectory + sub
                guard FileSystem.exists(dir) else { continue }
                do {
                    try FileSystem.removeTree(dir)
                    removed.append(what)
                } catch { problems.append("removing \(what): \(error)") }
            }
            return (removed, problems)
        }
        // No process of the task is left and its usage is read: it has ended, and is billed
        // (an fsync) while its cgroups, network and directories go.
        await meanwhile(out)
        if let detaching {
            out.problems += await detaching.value.map { "network teardown: \($0)" }
        }
        if let namespace, network == nil, namespace.exists {
            do {
                try namespace.remove()
                out.removed.append("network namespace \(namespace.path)")
            } catch { out.problems.append("removing network namespace \(namespace.path): \(error)") }
        }
        let (removed, problems) = await removing.value
        out.removed += removed
        out.problems += problems
        return out
    }

    /// The task cgroup whose directories these are, on this host's layout.
    public static func cgroup(at directories: [String]) -> Cgroup? {
        guard let host = try? CgroupHost.probe() else { return nil }
        return Cgroup.recorded(directories, on: host)
    }
}
