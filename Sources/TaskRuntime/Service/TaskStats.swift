#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox

/// A container's resource use at one moment, read from its cgroup and its task's network
/// namespace: what `fargate-run stats` shows (and Docker's stats would).
public struct ContainerUsage: Codable, Sendable {
    public var task: String
    public var container: String
    /// When it was read.
    public var time: Date
    public var cpuNanos: UInt64
    /// Memory in use without the page cache it could give back (as the ECS agent counts it).
    public var memoryBytes: UInt64
    /// The container's memory limit, else its task's.
    public var memoryLimitBytes: UInt64?
    public var pids: UInt64
    /// The task's network interfaces (loopback aside): the containers of a task share them.
    public var networkReceivedBytes: UInt64
    public var networkSentBytes: UInt64
    public var blockReadBytes: UInt64
    public var blockWrittenBytes: UInt64
}

public enum TaskStats {
    /// The running containers of task `id`, now.
    public static func read(_ id: String, state: TaskState, host: CgroupHost) -> [ContainerUsage] {
        guard state.isRunning, let task = Cgroup.recorded(state.cgroupDirectories, on: host) else { return [] }
        let now = Date()
        let taskLimit = task.effectiveLimits().memoryMax.map { UInt64($0) }
        let (rx, tx) = state.pids.values.first.map(network) ?? (0, 0)
        return (state.lifecycle?.containers ?? []).filter { $0.status == .running }.map { c in
            let cg = Cgroup(existing: task.host, relativePath: task.relativePath + "/" + c.name)
            let s = cg.stats()
            let io = cg.blockIO()
            let own = cg.effectiveLimits().memoryMax.map { UInt64($0) }
            return ContainerUsage(task: id, container: c.name, time: now, cpuNanos: s.cpuUsageNanos, memoryBytes: s.memoryWorkingSet,
                                  memoryLimitBytes: [own, taskLimit].compactMap { $0 }.filter { $0 < 1 << 62 }.min(), pids: s.pids,
                                  networkReceivedBytes: rx, networkSentBytes: tx, blockReadBytes: io.read, blockWrittenBytes: io.written)
        }
    }

    /// Bytes received and sent on every interface but loopback of the network namespace the
    /// process `pid` is in.
    public static func network(_ pid: Int32) -> (UInt64, UInt64) {
        guard let text = try? FileSystem.readString("/proc/\(pid)/net/dev") else { return (0, 0) }
        var rx: UInt64 = 0, tx: UInt64 = 0
        for line in text.split(separator: "\n").dropFirst(2) {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) != "lo" else { continue }
            let f = parts[1].split(separator: " ")
            guard f.count >= 9 else { continue }
            rx += UInt64(f[0]) ?? 0
            tx += UInt64(f[8]) ?? 0
        }
        return (rx, tx)
    }

    /// CPU use between two readings of the same container, in percent of one CPU.
    public static func cpuPercent(_ before: ContainerUsage, _ after: ContainerUsage) -> Double {
        let wall = after.time.timeIntervalSince(before.time) * 1e9
        guard wall > 0, after.cpuNanos >= before.cpuNanos else { return 0 }
        return Double(after.cpuNanos - before.cpuNanos) / wall * 100
    }
}
