import Foundation
import LinuxSupport
import Metering
import Sandbox

/// A task's counters for the usage sampler (Metering knows no cgroups): its own cgroup, each
/// container's (a child cgroup named after the container), and its network namespace's
/// interfaces. Files are opened once and read with pread; a container's are opened again when
/// its cgroup is made anew (a restart). Used from the sampler's thread only.
final class CgroupUsageSource: UsageSource, @unchecked Sendable {
    let taskCgroup: Cgroup
    let containers: [String]
    private var task: CgroupUsageReader?
    private var readers: [String: CgroupUsageReader] = [:]
    private var net: CounterFile?
    /// Ticks until a missing container's cgroup is looked for again: a container that never
    /// starts (or has ended) costs no failed open() every second.
    private var retry: [String: Int] = [:]

    init(taskCgroup: Cgroup, containers: [String]) {
        self.taskCgroup = taskCgroup
        self.containers = containers
    }

    func read() -> [UsageReading] {
        var out: [UsageReading] = []
        if task == nil { task = CgroupUsageReader(taskCgroup) }
        if let t = task, let s = t.read() {
            var r = reading("", s)
            if net == nil { net = openNetworkCounters() }
            if let net, net.refresh() {
                let (rx, tx) = net.withBytes { CounterText.netDevTotals(in: $0) }
                (r.netRxBytes, r.netTxBytes) = (rx, tx)
            }
            out.append(r)
        } else {
            task = nil
        }
        for name in containers {
            if readers[name] == nil {
                if let wait = retry[name], wait > 0 { retry[name] = wait - 1; continue }
                guard let reader = CgroupUsageReader(Cgroup(existing: taskCgroup.host, relativePath: taskCgroup.relativePath + "/" + name)) else {
                    retry[name] = 4
                    continue
                }
                readers[name] = reader
            }
            if let s = readers[name]!.read() {
                out.append(reading(name, s))
            } else if let again = CgroupUsageReader(Cgroup(existing: taskCgroup.host, relativePath: taskCgroup.relativePath + "/" + name)),
                      let s = again.read() {
                // Removed and made again (a restarted container): its counters start from zero.
                readers[name] = again
                out.append(reading(name, s))
            } else {
                readers[name] = nil
            }
        }
        return out
    }

    func reading(_ container: String, _ s: CgroupStats) -> UsageReading {
        UsageReading(container: container, cpuNanos: s.cpuUsageNanos, memoryBytes: s.memoryWorkingSet, memoryPeakBytes: s.memoryPeak,
                     ioReadBytes: s.ioReadBytes, ioWriteBytes: s.ioWriteBytes, pids: s.pids)
    }

    /// /proc/PID/net/dev of a process of the task: it shows the task's network namespace, and
    /// the open file keeps showing it after that process is gone.
    func openNetworkCounters() -> CounterFile? {
        let cgroups = [taskCgroup] + containers.map { Cgroup(existing: taskCgroup.host, relativePath: taskCgroup.relativePath + "/" + $0) }
        for pid in cgroups.lazy.flatMap({ $0.processes() }) {
            if let f = CounterFile("/proc/\(pid)/net/dev") { return f }
        }
        return nil
    }
}
