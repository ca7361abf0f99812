#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox
import TaskNetwork

/// What tasks of state roots that are gone left on the machine: a CI job's temporary root
/// removed after its fargate-run was killed leaves the task's processes, cgroups, network
/// namespace, address lease, host-policy membership and port reservations, which no root's
/// `gc` can find any more. `gc` goes through the machine's task records (`MachineTasks`) and
/// sweeps a recorded task whose root (or whose marker and directories in it) is certainly
/// gone (ENOENT), as it sweeps its own root's tasks whose fargate-run died: processes killed,
/// then cgroups, namespace, membership, leases and reservations removed, by the task's id.
///
/// Only recorded tasks are looked at, and only those recorded in this process's mount and pid
/// namespaces: a task of a fargate-run from before the records, or one whose root path or
/// owner pid would mean something else here, is never touched. Nor is
/// one still kept: its recorded fargate-run alive, or its processes the children of a live
/// fargate-run or task monitor. A user's own CNI conflist is not undone (its plugins need the
/// attachment the state recorded); the lease and rules of fargate-run's own network are.
///
/// A task whose own teardown could not remove everything (a namespace still mounted, a cgroup
/// still busy) is finished, and its record names the leftovers: it is swept the same way,
/// whether its root is there or not, with nothing to keep it.
public struct OrphanSweep: Sendable {
    /// The network options the machine's tasks use (where leases, the host policy and port
    /// reservations are).
    public let network: NetworkOptions
    /// The machine's task records.
    public let tasks: MachineTasks

    public init(network: NetworkOptions = NetworkOptions(), tasks: MachineTasks = MachineTasks()) {
        self.network = network
        self.tasks = tasks
    }

    /// What was done for one task.
    public struct Swept: Sendable {
        public var task: String
        /// The root the task's record names.
        public var root: String
        /// What went, as gc reports it.
        public var removed: [String] = []
        /// What could not go (the record stays, and the next gc tries again).
        public var problems: [String] = []
        /// What the task's own teardown left, when it had finished (its root may be there).
        public var leftovers: [String]?
    }

    /// What a record is, looked at now.
    enum Standing: Equatable {
        /// Its root has it (a marker, or a directory being made): its root's gc deals with it.
        case known
        /// Finished in its root (a directory, no marker): the record is left over.
        case finished
        /// Its root, or its marker and directories in it, are gone.
        case orphaned
        /// Cannot tell (an error other than ENOENT: an unreachable mount, say).
        case unknown
    }

    /// Sweeps every orphaned task; what was done, task by task.
    public func sweep() async -> [Swept] {
        var out: [Swept] = []
        let here = MachineTasks.namespaces()
        // Only records made in this process's mount and pid namespaces: elsewhere the root's
        // path and the owner's pid may name something else.
        for (id, record) in tasks.all() where record.namespaces != nil && record.namespaces == here {
            // Finished, with something its teardown could not remove.
            let hasLeftovers = record.leftovers != nil
            switch OrphanSweep.standing(of: id, in: record.root) {
            case .known, .unknown:
                continue
            case .finished where !hasLeftovers:
                tasks.remove(id)
                continue
            case .finished, .orphaned:
                break
            }
            guard let host = try? CgroupHost.probe() else {
                out.append(Swept(task: id, root: record.root,
                                 problems: ["cannot read this machine's cgroups (/proc/self/cgroup, /proc/self/mountinfo): not swept"]))
                continue
            }
            let cgroups = OrphanSweep.cgroups(of: id, on: host)
            if !hasLeftovers {
                if record.owner.isAlive || OrphanSweep.isKept(cgroups) { continue }
                // Looked at again just before: its root may be back (a path used again).
                guard OrphanSweep.standing(of: id, in: record.root) == .orphaned else { continue }
            }
            // The teardown gc gives its own root's dead tasks, from what the task's id names:
            // its state, which recorded the rest, is gone.
            let resources = TaskResources(networkNamespace: NetworkNamespace(name: SandboxTaskBackend.networkNamespaceName(id)).path,
                                          cgroupDirectories: cgroups, network: nil, containerDirectories: [])
            let released = await resources.release(taskId: id, stateRoot: record.root, taskDirectory: StateRoot(existing: record.root).taskDirectory(id),
                                                   options: network, unrecorded: true)
            // Kept while something is left, to be tried again.
            if released.problems.isEmpty { tasks.remove(id) }
            out.append(Swept(task: id, root: record.root, removed: released.removed, problems: released.problems, leftovers: record.leftovers))
        }
        return out
    }

    static func standing(of id: String, in rootPath: String) -> Standing {
        func gone(_ path: String) -> Bool? {
            var st = stat()
            if lstat(path, &st) == 0 { return false }
            return errno == ENOENT ? true : nil
        }
        guard let rootGone = gone(rootPath) else { return .unknown }
        if rootGone { return .orphaned }
        let root = StateRoot(existing: rootPath)
        guard let marker = gone(root.activeDirectory + "/" + id), let directory = gone(root.taskDirectory(id)),
              let staging = gone(root.stagingDirectory(id)) else { return .unknown }
        if !marker { return .known }
        if !directory { return .finished }
        return staging ? .orphaned : .known
    }

    /// The task's cgroup in each hierarchy, wherever it was nested (a task's cgroup is made
    /// under the cgroup of the fargate-run that made it, or `--cgroup-parent`).
    static func cgroups(of id: String, on host: CgroupHost) -> [String] {
        var out: [String] = []
        for mountPoint in Set(host.hierarchies.map(\.mountPoint)).sorted() {
            find(SandboxTaskBackend.cgroupName(id), under: mountPoint, depth: 16) { out.append($0) }
        }
        return out
    }

    static func find(_ name: String, under dir: String, depth: Int, _ found: (String) -> Void) {
        guard depth > 0 else { return }
        for entry in Cgroup.children(dir) {
            if entry == name {
                found(dir + "/" + entry)
            } else if !entry.hasPrefix("fargate-run-") {
                find(name, under: dir + "/" + entry, depth: depth - 1, found)
            }
        }
    }

    /// Whether a process in these cgroups (or beneath them) is the child of a live fargate-run
    /// or task monitor outside them. A task whose fargate-run died has its processes handed to
    /// init or to the nearest subreaper that is not one of ours.
    static func isKept(_ directories: [String]) -> Bool {
        var pids = Set<pid_t>()
        for dir in directories {
            for sub in Cgroup.subtree(dir) {
                guard let text = try? FileSystem.readString(sub + "/cgroup.procs") else { continue }
                pids.formUnion(text.split(separator: "\n").compactMap { pid_t($0) })
            }
        }
        return pids.contains { pid in
            guard let parent = ProcessIdentity.parent(of: pid), parent > 1, !pids.contains(parent) else { return false }
            let comm = (try? FileSystem.readString("/proc/\(parent)/comm"))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return comm == "fargate-run" || comm == "fargate-monitor" || sameExecutable(parent)
        }
    }

    /// Whether `pid` runs this binary (a fargate-run installed under another name).
    static func sameExecutable(_ pid: pid_t) -> Bool {
        var mine = stat(), theirs = stat()
        guard stat("/proc/self/exe", &mine) == 0, stat("/proc/\(pid)/exe", &theirs) == 0 else { return false }
        return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino
    }
}
