#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox
import TaskNetwork

/// The isolation report of a running task: per container, its namespaces (and with whom each
/// is shared), cgroup and effective limits, capabilities, seccomp, no_new_privs, user and
/// read-only root, all read from /proc and cgroupfs.
public struct TaskIsolationReport: Codable, Sendable {
    public struct Container: Codable, Sendable {
        public var name: String
        public var pid: Int32
        public var isolation: ProcessIsolation
        /// For each namespace kind: "own", "host", or the other containers sharing it.
        public var sharing: [String: String]
        public var cgroupDirectory: String?
        public var limits: ResourceLimits?
    }

    public var taskArn: String
    public var lastStatus: String
    public var taskCgroupLimits: ResourceLimits?
    /// The task's IP, and the CNI plugins' CHECK of its interface: "ok" or what they found.
    public var ip: String?
    public var networkCheck: String?
    public var containers: [Container]
}

public enum TaskInspector {
    public static func report(task id: String, root: StateRoot) throws -> TaskIsolationReport {
        let st = try TaskStore(root: root).state(id)
        guard st.isRunning else {
            throw TaskStore.NotFound("task \(id) is not running (last status \(st.task.lastStatus ?? "unknown"))")
        }
        let host = ProcessInspector.namespaces("self")
        var containers: [(String, Int32, ProcessIsolation)] = []
        for (name, pid) in st.pids.sorted(by: { $0.key < $1.key }) {
            guard let iso = try? ProcessInspector.inspect(pid: pid) else { continue }
            containers.append((name, pid, iso))
        }
        let cgroupHost = try? CgroupHost.probe()
        let taskCgroup = st.cgroupDirectories.first.map { dir in cgroupFromDirectory(dir, host: cgroupHost) } ?? nil
        var check: String?
        if let a = st.network {
            var options = NetworkOptions()
            options.subnet = a.subnet
            do {
                try TaskNetworking(options: options).check(a)
                check = "ok"
            } catch {
                check = "\(error)"
            }
        }
        return TaskIsolationReport(
            taskArn: st.task.taskArn ?? id, lastStatus: st.task.lastStatus ?? "",
            taskCgroupLimits: taskCgroup?.effectiveLimits(), ip: st.network?.ip, networkCheck: check,
            containers: containers.map { name, pid, iso in
                var sharing: [String: String] = [:]
                for (kind, inode) in iso.namespaces {
                    if host[kind] == inode { sharing[kind] = "host"; continue }
                    let others = containers.filter { $0.0 != name && $0.2.namespaces[kind] == inode }.map(\.0)
                    sharing[kind] = others.isEmpty ? "own" : others.joined(separator: ",")
                }
                let dir = st.cgroupDirectories.first.map { $0 + "/" + name }
                return TaskIsolationReport.Container(
                    name: name, pid: pid, isolation: iso, sharing: sharing, cgroupDirectory: dir,
                    limits: taskCgroup.map { Cgroup(existing: $0.host, relativePath: $0.relativePath + "/" + name).effectiveLimits() })
            })
    }

    /// The Cgroup whose first directory is `dir`.
    static func cgroupFromDirectory(_ dir: String, host: CgroupHost?) -> Cgroup? {
        guard let host, let first = host.hierarchies.first, dir.hasPrefix(first.directory + "/") else { return nil }
        return Cgroup(existing: host, relativePath: String(dir.dropFirst(first.directory.count + 1)))
    }

    /// Human-readable report.
    public static func render(_ r: TaskIsolationReport) -> String {
        var out = "task \(r.taskArn) (\(r.lastStatus))\n"
        if let l = r.taskCgroupLimits { out += "  task cgroup: \(describe(l))\n" }
        if let ip = r.ip { out += "  network: \(ip), CNI CHECK \(r.networkCheck ?? "not run")\n" }
        for c in r.containers {
            let i = c.isolation
            out += "\ncontainer \(c.name) (host pid \(c.pid))\n"
            for kind in ProcessInspector.namespaceKinds {
                guard let ino = i.namespaces[kind] else { continue }
                let share = c.sharing[kind] ?? "own"
                let label = share == "own" ? "own" : (share == "host" ? "SHARED WITH HOST" : "shared with \(share)")
                out += "  ns \(kind.padding(toLength: 6, withPad: " ", startingAt: 0)) \(ino)  \(label)\n"
            }
            out += "  cgroup    \(c.cgroupDirectory ?? "?")\n"
            if let l = c.limits { out += "  limits    \(describe(l))\n" }
            out += "  caps      effective: \(i.capabilities["effective"]?.joined(separator: " ") ?? "")\n"
            out += "            bounding:  \(i.capabilities["bounding"]?.joined(separator: " ") ?? "")\n"
            out += "            inheritable: \(i.capabilities["inheritable"]?.isEmpty == false ? i.capabilities["inheritable"]!.joined(separator: " ") : "none"), ambient: \(i.capabilities["ambient"]?.isEmpty == false ? i.capabilities["ambient"]!.joined(separator: " ") : "none")\n"
            out += "  seccomp   \(i.seccomp)   no_new_privs \(i.noNewPrivileges ? "yes" : "NO")\n"
            out += "  user      uid \(i.uid) gid \(i.gid) groups \(i.groups.map(String.init).joined(separator: ","))\n"
            out += "  root      \(i.readonlyRoot ? "read-only" : "read-write")\n"
        }
        return out
    }

    static func describe(_ l: ResourceLimits) -> String {
        var parts: [String] = []
        if let q = l.cpuQuota { parts.append("cpu \(Double(q) / Double(l.cpuPeriod)) CPU") }
        if let s = l.cpuShares { parts.append("cpu weight \(s)") }
        if let m = l.memoryMax { parts.append("memory \(m >> 20) MiB") }
        if let m = l.memoryLow { parts.append("memory reserved \(m >> 20) MiB") }
        if let p = l.pidsMax { parts.append("pids \(p)") }
        if l.noSwap { parts.append("no swap") }
        return parts.isEmpty ? "none" : parts.joined(separator: ", ")
    }
}
