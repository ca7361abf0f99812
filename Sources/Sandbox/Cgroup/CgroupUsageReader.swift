import LinuxSupport

/// Reads one cgroup's usage counters again and again, as a sampler does each second: its
/// files are opened once and read with pread (`CounterFile`), so a read costs a syscall per
/// file and no path lookup. Counts memory as `Cgroup.stats()` does (usage less inactive file
/// cache, as the ECS agent does); OOM kills are not read here (`oomKills` is 0).
///
/// A quick read takes only the CPU and memory counters (two preads; one when the CPU counter
/// has not moved); memory.stat (which the kernel formats from some forty counters: the
/// costliest file by far), the peak, pids and block I/O keep the values of the last full read.
public final class CgroupUsageReader {
    public let cgroup: Cgroup
    private let cpu: CounterFile?
    private let memory: CounterFile?
    private let memoryStat: CounterFile?
    private let memoryPeak: CounterFile?
    private let pids: CounterFile?
    private let io: CounterFile?
    private let v2: Bool
    /// What the last full read found.
    private var inactive: UInt64 = 0
    private var usageAtFull: UInt64 = 0
    private var last: CgroupStats?

    /// nil when the cgroup's memory and CPU files cannot be opened (it does not exist).
    public init?(_ cgroup: Cgroup) {
        self.cgroup = cgroup
        v2 = cgroup.host.version == .v2
        switch cgroup.host.version {
        case .v2:
            let d = cgroup.directories[0]
            cpu = CounterFile(d + "/cpu.stat")
            memory = CounterFile(d + "/memory.current", capacity: 64)
            memoryStat = CounterFile(d + "/memory.stat", capacity: 8192)
            memoryPeak = CounterFile(d + "/memory.peak", capacity: 64)
            pids = CounterFile(d + "/pids.current", capacity: 64)
            io = CounterFile(d + "/io.stat", capacity: 1024)
        case .v1:
            cpu = cgroup.directory(for: "cpuacct").flatMap { CounterFile($0 + "/cpuacct.usage", capacity: 64) }
            let m = cgroup.directory(for: "memory")
            memory = m.flatMap { CounterFile($0 + "/memory.usage_in_bytes", capacity: 64) }
            memoryStat = m.flatMap { CounterFile($0 + "/memory.stat", capacity: 8192) }
            memoryPeak = m.flatMap { CounterFile($0 + "/memory.max_usage_in_bytes", capacity: 64) }
            pids = cgroup.directory(for: "pids").flatMap { CounterFile($0 + "/pids.current", capacity: 64) }
            io = cgroup.directory(for: "blkio").flatMap { CounterFile($0 + "/blkio.throttle.io_service_bytes_recursive", capacity: 1024) }
        }
        guard cpu != nil, memory != nil else { return nil }
    }

    /// The counters now; nil once the cgroup is gone (its files answer ENODEV). `full: false`
    /// reads CPU and memory in use only (the inactive file cache as of the last full read).
    public func read(full: Bool = true) -> CgroupStats? {
        if !full, var quick = last {
            guard let cpuNanos = readCPU() else { return nil }
            // Nothing in the cgroup ran since the last read, so nothing in it touched memory:
            // memory in use is the last read's (one pread a second for an idle container).
            // What changes without its processes running (the kernel's per-CPU charge batch
            // drained, reclaim) shows at the next read after it runs, or the next full read.
            if cpuNanos == quick.cpuUsageNanos { return quick }
            guard let memory, memory.refresh() else { return nil }
            let usage = memory.number ?? 0
            // Memory that moved far since memory.stat was read (page cache read in comes onto
            // the inactive list first) makes the last inactive count stale: read it again now.
            if usage.distance(to: usageAtFull).magnitude <= CgroupUsageReader.staleAfterBytes {
                quick.cpuUsageNanos = cpuNanos
                quick.memoryUsage = usage
                quick.memoryWorkingSet = usage > inactive ? usage - inactive : 0
                last = quick
                return quick
            }
            return fullRead(cpuNanos: cpuNanos, usage: usage)
        }
        guard let cpuNanos = readCPU(), let memory, memory.refresh() else { return nil }
        return fullRead(cpuNanos: cpuNanos, usage: memory.number ?? 0)
    }

    /// How far memory usage may move from the last full read's before a quick read makes a
    /// full one.
    public static let staleAfterBytes: Int = 4 << 20

    private func fullRead(cpuNanos: UInt64, usage: UInt64) -> CgroupStats {
        usageAtFull = usage
        inactive = 0
        if let memoryStat, memoryStat.refresh() {
            inactive = memoryStat.value(of: v2 ? "inactive_file" : "total_inactive_file") ?? 0
        }
        var stats = CgroupStats(cpuUsageNanos: cpuNanos, memoryUsage: usage,
                                memoryWorkingSet: usage > inactive ? usage - inactive : 0,
                                memoryPeak: memoryPeak.flatMap { $0.refresh() ? $0.number : nil },
                                oomKills: 0, pids: pids.flatMap { $0.refresh() ? $0.number : nil } ?? 0)
        if let io, io.refresh() {
            if v2 {
                let sums = io.withBytes { CounterText.sumFields(["rbytes", "wbytes"], in: $0) }
                (stats.ioReadBytes, stats.ioWriteBytes) = (sums[0], sums[1])
            } else {
                (stats.ioReadBytes, stats.ioWriteBytes) = io.withBytes { CounterText.blkioReadWrite(in: $0) }
            }
        }
        last = stats
        return stats
    }

    private func readCPU() -> UInt64? {
        guard let cpu, cpu.refresh() else { return nil }
        return v2 ? (cpu.value(of: "usage_usec") ?? 0) &* 1000 : (cpu.number ?? 0)
    }
}
