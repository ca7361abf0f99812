import Foundation
import LinuxSupport
import Metering
import Sandbox

/// A task's counters for the usage sampler (Metering knows no cgroups): its own cgroup, each
/// container's (a child cgroup named after the container), and its network namespace's
/// interfaces. Files are opened once and read with pread; a container's are opened again when
/// its cgroup is made anew (a restart). Used from the sampler's thread only.
///
/// Each second every container's CPU and memory in use are read fresh (two preads; one while
/// its CPU time stands still); the containers' memory.stat, peak, pids and block I/O, the
/// task's own cgroup and the network every `fullEvery` reads, at an offset of the task's own
/// so a host's tasks take turns, and a container's again when its memory moved far
/// (`CgroupUsageReader.staleAfterBytes`; Docs/METERING.md).
///
/// Between the task cgroup's reads its reading is derived from its containers': CPU time is
/// the task's as last read plus what its containers used since, memory in use the task's own
/// remainder at that read (the pause process, a removed container's cache) plus the
/// containers' now. The task's cumulative counter corrects the sum at its next read, so
/// nothing is lost: CPU the containers' sum missed (the pause process, a container's last
/// moments before a restart) shows in that second. The derived count never runs ahead of the
/// kernel's: the task cgroup is read before its containers, so the containers' usage summed
/// between two reads of it happened between them too, and the task's counter holds all of
/// it (the reported count never goes back either way).
public final class CgroupUsageSource: UsageSource, @unchecked Sendable {
    let taskCgroup: Cgroup
    let containers: [String]
    private var task: CgroupUsageReader?
    /// The task cgroup's last full reading, and the task's CPU count last reported.
    private var taskFull: UsageReading?
    private var taskCPUReported: UInt64 = 0
    /// Memory in use of the task's cgroup beyond its containers' at its last read.
    private var taskMemoryRemainder: UInt64 = 0
    /// Per container, in `containers` order.
    private var slots: [Slot]
    private var net: CounterFile?
    private var lastNet: (rx: UInt64, tx: UInt64)?
    /// Reads until the next full one.
    private var untilFull = 0
    public static let fullEvery = 30

    struct Slot {
        var reader: CgroupUsageReader?
        /// Ticks until a missing container's cgroup is looked for again: a container that
        /// never starts (or has ended) costs no failed open() every second.
        var retry = 0
        /// CPU count of this reader when the task's was last read (or when it was first
        /// read, if later), its last reading, and what earlier readers of the slot (before a
        /// restart) used since the task's read: the container's part of the derived task CPU.
        var cpuBase: UInt64 = 0
        var cpuLast: UInt64 = 0
        var cpuCarried: UInt64 = 0
    }

    /// A task whose cgroup is `taskCgroup`, with these containers (child cgroups of the same names).
    public init(taskCgroup: Cgroup, containers: [String]) {
        self.taskCgroup = taskCgroup
        self.containers = containers
        slots = Array(repeating: Slot(), count: containers.count)
        var h: UInt32 = 2_166_136_261
        for b in taskCgroup.relativePath.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
        untilFull = Int(h % UInt32(CgroupUsageSource.fullEvery))
    }

    public func read(complete: Bool) -> [UsageReading] {
        var out: [UsageReading] = []
        read(complete: complete, into: &out)
        return out
    }

    public func read(complete: Bool, into out: inout [UsageReading]) {
        out.reserveCapacity(out.count + containers.count + 1)
        let full = complete || untilFull == 0 || taskFull == nil
        // The cadence keeps its phase whatever complete reads come between.
        untilFull = untilFull == 0 ? CgroupUsageSource.fullEvery - 1 : untilFull - 1
        // The task's cgroup first, then its containers' (see the type's comment).
        var taskReading: UsageReading?
        if full {
            if task == nil { task = CgroupUsageReader(taskCgroup) }
            if let t = task, let s = t.read(full: true) {
                var r = reading("", s)
                if net == nil { net = openNetworkCounters() }
                if let net, net.refresh() { lastNet = net.withBytes { CounterText.netDevTotals(in: $0) } }
                (r.netRxBytes, r.netTxBytes) = lastNet.map { ($0.rx, $0.tx) } ?? (nil, nil)
                taskReading = r
            } else {
                task = nil
            }
            taskFull = taskReading
        }
        var cpuSince: UInt64 = 0, memory: UInt64 = 0
        for i in slots.indices {
            var reading: UsageReading?
            var isNew = false
            if slots[i].reader == nil {
                if slots[i].retry > 0 { slots[i].retry -= 1; continue }
                guard let reader = CgroupUsageReader(containerCgroup(i)) else {
                    slots[i].retry = 4
                    continue
                }
                slots[i].reader = reader
                isNew = true
            }
            // A quick read repeats the peak, pids and block I/O of the last full one.
            if let s = slots[i].reader!.read(full: full || isNew) {
                reading = self.reading(containers[i], s)
            } else if let again = CgroupUsageReader(containerCgroup(i)), let s = again.read() {
                // Removed and made again (a restarted container): its counters start from zero.
                slots[i].reader = again
                isNew = true
                reading = self.reading(containers[i], s)
            } else {
                slots[i].reader = nil
            }
            guard let r = reading else { continue }
            if isNew {
                // What the slot's reader before counted since the task's read stays counted.
                slots[i].cpuCarried &+= slots[i].cpuLast &- slots[i].cpuBase
                slots[i].cpuBase = r.cpuNanos
            }
            if full {
                slots[i].cpuBase = r.cpuNanos
                slots[i].cpuCarried = 0
            }
            slots[i].cpuLast = r.cpuNanos
            cpuSince &+= slots[i].cpuCarried &+ (r.cpuNanos &- slots[i].cpuBase)
            memory &+= r.memoryBytes
            out.append(r)
        }
        if full {
            guard var t = taskReading else { return }
            taskMemoryRemainder = t.memoryBytes > memory ? t.memoryBytes - memory : 0
            t.cpuNanos = max(t.cpuNanos, taskCPUReported)
            taskCPUReported = t.cpuNanos
            out.append(t)
        } else if var t = taskFull {
            t.cpuNanos = max(t.cpuNanos &+ cpuSince, taskCPUReported)
            t.memoryBytes = taskMemoryRemainder &+ memory
            taskCPUReported = t.cpuNanos
            out.append(t)
        }
    }

    func containerCgroup(_ i: Int) -> Cgroup {
        Cgroup(existing: taskCgroup.host, relativePath: taskCgroup.relativePath + "/" + containers[i])
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
