import Foundation
import LinuxSupport
import Metering
import Sandbox

/// A task's counters for the usage sampler (Metering knows no cgroups): its own cgroup, each
/// container's (a child cgroup named after the container), and its network namespace's
/// interfaces. Files are opened once and read with pread; a container's are opened again when
/// its cgroup is made anew (a restart). Used from the sampler's thread only.
///
/// Each second CPU and memory in use are read fresh; memory.stat, the peak, pids, block I/O
/// and the network every `fullEvery` reads, at an offset of the task's own so a host's tasks
/// take turns (Docs/METERING.md).
public final class CgroupUsageSource: UsageSource, @unchecked Sendable {
    let taskCgroup: Cgroup
    let containers: [String]
    private var task: CgroupUsageReader?
    private var readers: [String: CgroupUsageReader] = [:]
    private var net: CounterFile?
    private var lastNet: (rx: UInt64, tx: UInt64)?
    /// Ticks until a missing container's cgroup is looked for again: a container that never
    /// starts (or has ended) costs no failed open() every second.
    private var retry: [String: Int] = [:]
    /// Reads until the next full one.
    private var untilFull = 0
    public static let fullEvery = 10

    /// A task whose cgroup is `taskCgroup`, with these containers (child cgroups of the same names).
    public init(taskCgroup: Cgroup, containers: [String]) {
        self.taskCgroup = taskCgroup
        self.containers = containers
        var h: UInt32 = 2_166_136_261
        for b in taskCgroup.relativePath.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        untilFull = Int(h % UInt32(CgroupUsageSource.fullEvery))
    }

    public func read(complete: Bool) -> [UsageReading] {
        var out: [UsageReading] = []
        let full = complete || untilFull == 0
        // The cadence keeps its phase whatever complete reads come between.
        untilFull = untilFull == 0 ? CgroupUsageSource.fullEvery - 1 : untilFull - 1
        if task == nil { task = CgroupUsageReader(taskCgroup) }
        if let t = task, let s = t.read(full: full) {
            var r = reading("", s)
            if net == nil { net = openNetworkCounters() }
            if let net {
                if (full || lastNet == nil) && net.refresh() { lastNet = net.withBytes { CounterText.netDevTotals(in: $0) } }
                (r.netRxBytes, r.netTxBytes) = lastNet.map { ($0.rx, $0.tx) } ?? (nil, nil)
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
            if let s = readers[name]!.read(full: full) {
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
