#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport
import Sandbox
import Synchronization

/// One interface's counters, from /proc/PID/net/dev.
struct InterfaceCounters: Sendable, Equatable {
    var rxBytes: UInt64 = 0, rxPackets: UInt64 = 0, rxErrors: UInt64 = 0, rxDropped: UInt64 = 0
    var txBytes: UInt64 = 0, txPackets: UInt64 = 0, txErrors: UInt64 = 0, txDropped: UInt64 = 0
}

/// One reading of a container: its cgroup, the host's CPU time, the task's interfaces.
struct ContainerSample: Sendable {
    var read: GoTime
    var cgroup: CgroupDockerReading
    /// Host-wide CPU time in nanoseconds, as Docker counts it (`system_cpu_usage`).
    var systemCPU: UInt64
    var onlineCPUs: UInt32
    /// Every interface of the task's namespace but loopback, by name.
    var networks: [String: InterfaceCounters]
}

/// The stats of a task's containers, read when asked (at most once a second per container):
/// each answer carries the latest reading and the one before it, as Docker's stats carry
/// `precpu_stats` and `preread`. Nothing is read for a task whose stats are never asked for.
final class StatsSampler: Sendable {
    /// Readings younger than this are given again rather than taken anew.
    let interval: Duration
    private let samples = Mutex<[String: (previous: ContainerSample?, latest: ContainerSample)]>([:])

    init(interval: Duration = .seconds(1)) {
        self.interval = interval
    }

    /// The latest reading of each container (and the one before), taking a new one where the
    /// latest is older than `interval`. `containers` are the running ones with their cgroups;
    /// `pid` is a process in the task's network namespace.
    func sample(_ containers: [(name: String, cgroup: Cgroup)], pid: Int32?) -> [String: (previous: ContainerSample?, latest: ContainerSample)] {
        let now = GoTime.now()
        let stale = samples.withLock { s in
            containers.filter { c in
                guard let latest = s[c.name]?.latest else { return true }
                return now.nanosecondsSinceEpoch - latest.read.nanosecondsSinceEpoch >= interval.nanoseconds
            }
        }
        var fresh: [String: ContainerSample] = [:]
        if !stale.isEmpty {
            let system = StatsSampler.systemCPU(), cpus = StatsSampler.onlineCPUs()
            let networks = pid.map(StatsSampler.networks) ?? [:]
            for c in stale {
                fresh[c.name] = ContainerSample(read: GoTime.now(), cgroup: c.cgroup.dockerReading(), systemCPU: system, onlineCPUs: cpus,
                                                networks: networks)
            }
        }
        return samples.withLock { s in
            for (name, sample) in fresh { s[name] = (s[name]?.latest, sample) }
            // Containers no longer running keep nothing.
            let running = Set(containers.map(\.name))
            for name in s.keys where !running.contains(name) { s[name] = nil }
            return s
        }
    }

    /// The first line of /proc/stat: user, nice, system, idle, iowait, irq and softirq ticks,
    /// in nanoseconds (moby's `getSystemCPUUsage`, which leaves steal out).
    static func systemCPU() -> UInt64 {
        guard let text = try? FileSystem.readString("/proc/stat"), let line = text.split(separator: "\n").first,
              line.hasPrefix("cpu ") else { return 0 }
        let ticks = line.split(separator: " ").dropFirst().prefix(7).compactMap { UInt64($0) }.reduce(0, +)
        let hz = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        return ticks * (1_000_000_000 / hz)
    }

    /// CPUs this process may run on (Docker's `online_cpus`).
    static func onlineCPUs() -> UInt32 {
        UInt32(max(fr_online_cpus(), 1))
    }

    /// The interfaces of the network namespace process `pid` is in, loopback aside.
    static func networks(_ pid: Int32) -> [String: InterfaceCounters] {
        guard let text = try? FileSystem.readString("/proc/\(pid)/net/dev") else { return [:] }
        var out: [String: InterfaceCounters] = [:]
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2 else { continue }
            let name = parts[0].trimmingCharacters(in: .whitespaces)
            let f = parts[1].split(separator: " ").compactMap { UInt64($0) }
            guard name != "lo", f.count >= 12 else { continue }
            out[name] = InterfaceCounters(rxBytes: f[0], rxPackets: f[1], rxErrors: f[2], rxDropped: f[3],
                                          txBytes: f[8], txPackets: f[9], txErrors: f[10], txDropped: f[11])
        }
        return out
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }
}
