#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox
import TaskNetwork

/// What tasks of state roots that are gone left on the machine: a CI job's temporary root
/// removed after its fargate-run was killed leaves the task's cgroups, network namespace,
/// address lease, host-policy membership and port reservations, which no root's `gc` can find
/// any more. `gc` looks for them by the names tasks give them (the task id) and removes those
/// of tasks no listed root (`MachineRoots`) knows and no live fargate-run or monitor keeps,
/// their processes included, as `gc` does for its own root's tasks whose fargate-run died.
///
/// A task is known to a root by its active marker, its directory or its staging directory,
/// one of which exists before anything of the task is made outside the root; each task is
/// looked up again just before it is swept, so one started meanwhile is left alone. A task
/// whose processes are children of a live fargate-run or monitor (one of a root a fargate-run
/// from before the list made, say) is left alone too. A user's own CNI conflist is not
/// undone (its plugins need the attachment the state recorded): the lease and rules of
/// fargate-run's own network are.
public struct OrphanSweep: Sendable {
    public let network: NetworkOptions
    public let roots: MachineRoots
    /// Where tasks' network namespace files are.
    public let namespaceDirectory: String

    public init(network: NetworkOptions = NetworkOptions(), roots: MachineRoots = MachineRoots(), namespaceDirectory: String = "/run/netns") {
        self.network = network
        self.roots = roots
        self.namespaceDirectory = namespaceDirectory
    }

    /// What was found of one task (by id, or by the 16 characters a namespace name keeps).
    public struct Swept: Sendable {
        public var task: String
        public var removed: [String] = []
        public var problems: [String] = []
    }

    public func sweep() -> [Swept] {
        let cgroups = taskCgroups()
        let ports = PortRegistry(directory: network.hostStateDirectory + "/ports")
        var ids = Set(cgroups.keys)
        ids.formUnion(TaskNetworking(options: network).holders())
        ids.formUnion(ports.held().map(\.1.taskId))
        ids = ids.filter(TaskStore.isTaskId)
        let known = knownIds()
        var out: [Swept] = []
        for id in ids.sorted() where !known.contains(id) && !isKnown(id) {
            let directories = cgroups[id] ?? []
            // A live fargate-run or monitor keeping it: a task of a root not listed (one whose
            // runner was started by a fargate-run from before the list), not an orphan.
            if OrphanSweep.isKept(directories) { continue }
            var s = Swept(task: id)
            // As gc does for its own root's task whose fargate-run died: its processes go too.
            let killed = Cgroup.killAll(in: directories)
            if killed > 0 { s.removed.append("\(killed) processes") }
            do {
                try Cgroup.remove(directories: directories) { Cgroup.killAll(in: directories) }
                s.removed += directories.map { "cgroup \($0)" }
            } catch { s.problems.append("removing its cgroups: \(error)") }
            removeNamespace(String(id.prefix(16)), into: &s)
            let (swept, problems) = TaskNetworking(options: network).sweepUnrecorded(taskId: id)
            s.removed += swept
            s.problems += problems
            let held = ports.held().filter { $0.1.taskId == id }.map(\.0)
            if !held.isEmpty {
                ports.release(held, taskId: id)
                s.removed.append("\(held.count) port reservations")
            }
            if !s.removed.isEmpty || !s.problems.isEmpty { out.append(s) }
        }
        // A namespace is named by the first 16 characters of its task's id: one whose task left
        // nothing else behind.
        for prefix in namespacePrefixes() where !ids.contains(where: { $0.hasPrefix(prefix) }) {
            guard !known.contains(where: { $0.hasPrefix(prefix) }), !knownIds().contains(where: { $0.hasPrefix(prefix) }) else { continue }
            var s = Swept(task: prefix)
            removeNamespace(prefix, into: &s)
            if !s.removed.isEmpty || !s.problems.isEmpty { out.append(s) }
        }
        for root in roots.roots() where !FileSystem.isDirectory(root) { roots.forget(root) }
        return out
    }

    func removeNamespace(_ prefix: String, into s: inout Swept) {
        let namespace = NetworkNamespace(name: "fr-" + prefix)
        guard namespace.exists else { return }
        do {
            try namespace.remove()
            s.removed.append("network namespace \(namespace.path)")
        } catch { s.problems.append("removing network namespace \(namespace.path): \(error)") }
    }

    /// The tasks the listed roots know: their active markers, directories and staging ones.
    func knownIds() -> Set<String> {
        var ids = Set<String>()
        for root in roots.roots().map(StateRoot.init(existing:)) {
            for directory in [root.activeDirectory, root.tasksDirectory] {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] {
                    // ".<id>.new" (staging) and ".<id>.rm" (a removal) as well as "<id>".
                    ids.insert(name.hasPrefix(".") ? String(name.dropFirst().prefix(32)) : name)
                }
            }
        }
        return ids
    }

    func isKnown(_ id: String) -> Bool {
        roots.roots().contains { root in
            let r = StateRoot(existing: root)
            return FileSystem.exists(r.activeDirectory + "/" + id) || FileSystem.exists(r.taskDirectory(id)) || FileSystem.exists(r.stagingDirectory(id))
        }
    }

    /// The 16-character id prefixes of the tasks' namespace files ("fr-" and the prefix).
    func namespacePrefixes() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: namespaceDirectory)) ?? []).compactMap { name in
            let prefix = name.dropFirst(3)
            return name.hasPrefix("fr-") && prefix.count == 16 && prefix.allSatisfy(\.isHexDigit) ? String(prefix) : nil
        }
    }

    /// Task cgroups by task id, in every hierarchy fargate-run uses, wherever they were nested
    /// (a task's cgroup is made under the cgroup of the fargate-run that made it).
    func taskCgroups() -> [String: [String]] {
        guard let host = try? CgroupHost.probe() else { return [:] }
        var out: [String: [String]] = [:]
        for mountPoint in Set(host.hierarchies.map(\.mountPoint)) {
            OrphanSweep.findTaskCgroups(under: mountPoint, depth: 8) { id, dir in out[id, default: []].append(dir) }
        }
        return out
    }

    static func findTaskCgroups(under dir: String, depth: Int, _ found: (String, String) -> Void) {
        guard depth > 0, let d = opendir(dir) else { return }
        var subdirs: [String] = []
        while let ent = readdir(d) {
            guard ent.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            subdirs.append(name)
        }
        closedir(d)
        for name in subdirs {
            let id = name.dropFirst("fargate-run-".count)
            if name.hasPrefix("fargate-run-"), TaskStore.isTaskId(String(id)) {
                found(String(id), dir + "/" + name)
            } else {
                findTaskCgroups(under: dir + "/" + name, depth: depth - 1, found)
            }
        }
    }

    /// Whether a process in these cgroups (or beneath them) is the child of a live fargate-run
    /// or task monitor outside them: the processes of a task whose runner died are the
    /// children of init (or of a subreaper, which is not taken for a keeper).
    static func isKept(_ directories: [String]) -> Bool {
        var pids = Set<pid_t>()
        for dir in directories {
            for sub in Cgroup.subtree(dir) {
                guard let text = try? FileSystem.readString(sub + "/cgroup.procs") else { continue }
                pids.formUnion(text.split(separator: "\n").compactMap { pid_t($0) })
            }
        }
        return pids.contains { pid in
            guard let parent = parentPid(pid), parent > 1, !pids.contains(parent) else { return false }
            let comm = (try? FileSystem.readString("/proc/\(parent)/comm"))?.trimmingCharacters(in: .whitespacesAndNewlines)
            return comm == "fargate-run" || comm == "fargate-monitor" || sameExecutable(parent)
        }
    }

    /// The parent in /proc/PID/stat (after the command's closing parenthesis: it may hold spaces).
    static func parentPid(_ pid: pid_t) -> pid_t? {
        guard let stat = try? FileSystem.readString("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    /// Whether `pid` runs this binary (a fargate-run installed under another name).
    static func sameExecutable(_ pid: pid_t) -> Bool {
        var mine = stat(), theirs = stat()
        guard stat("/proc/self/exe", &mine) == 0, stat("/proc/\(pid)/exe", &theirs) == 0 else { return false }
        return mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino
    }
}
