import Foundation

/// A service's CPU and memory utilization as CloudWatch's `ECSServiceAverageCPUUtilization` and
/// `ECSServiceAverageMemoryUtilization` count them (CPU units used by the service's running
/// tasks × 100 / (task CPU units × tasks); the same for memory), turned into one datapoint per
/// period from readings of the tasks' cgroups.
///
/// CPU is exact over a period: it is the cgroup's CPU time consumed between readings against
/// the CPU time the tasks' units allow in that time. Memory is the time-weighted mean of the
/// readings. A period in which no task was read twice has no datapoint (nil), as CloudWatch
/// has none for a service without running tasks.
public struct UtilizationMeter: Sendable {
    /// One task's cgroup counters at one moment, with its size from its task definition.
    public struct Reading: Sendable, Equatable {
        public var task: String
        public var time: Date
        /// The task cgroup's total CPU time.
        public var cpuNanos: UInt64
        /// Memory in use without the page cache it could give back.
        public var memoryBytes: UInt64
        /// The task's CPU units (1024 = one vCPU) and memory (MiB).
        public var cpuUnits: Double
        public var memoryMiB: Double

        public init(task: String, time: Date, cpuNanos: UInt64, memoryBytes: UInt64, cpuUnits: Double, memoryMiB: Double) {
            self.task = task
            self.time = time
            self.cpuNanos = cpuNanos
            self.memoryBytes = memoryBytes
            self.cpuUnits = cpuUnits
            self.memoryMiB = memoryMiB
        }
    }

    /// Datapoints kept per metric: as many as the longest alarm looks at.
    public static let kept = TargetTracking.lowDatapoints

    public private(set) var datapoints: [TargetTracking.Metric: [Double?]] = [:]
    var previous: [String: Reading] = [:]
    var periodStart: Date?
    var cpuUsed = 0.0, cpuAllowed = 0.0, memoryUsed = 0.0, memoryAllowed = 0.0

    public init() {}

    /// Adds the readings of the service's running tasks taken at `now`; closes a datapoint once
    /// `period` has passed since the last one closed. Returns whether one closed.
    @discardableResult
    public mutating func add(_ readings: [Reading], at now: Date, period: TimeInterval) -> Bool {
        if periodStart == nil { periodStart = now }
        var seen: [String: Reading] = [:]
        for r in readings {
            seen[r.task] = r
            // A task read once so far has no interval to measure yet.
            guard let before = previous[r.task], r.cpuNanos >= before.cpuNanos else { continue }
            let seconds = r.time.timeIntervalSince(before.time)
            guard seconds > 0 else { continue }
            cpuUsed += Double(r.cpuNanos - before.cpuNanos)
            cpuAllowed += seconds * r.cpuUnits / 1024 * 1e9
            memoryUsed += Double(r.memoryBytes) * seconds
            memoryAllowed += r.memoryMiB * 1_048_576 * seconds
        }
        previous = seen
        guard let start = periodStart, now.timeIntervalSince(start) >= period else { return false }
        append(.cpu, cpuAllowed > 0 ? cpuUsed / cpuAllowed * 100 : nil)
        append(.memory, memoryAllowed > 0 ? memoryUsed / memoryAllowed * 100 : nil)
        cpuUsed = 0; cpuAllowed = 0; memoryUsed = 0; memoryAllowed = 0
        periodStart = now
        return true
    }

    mutating func append(_ metric: TargetTracking.Metric, _ value: Double?) {
        var points = datapoints[metric] ?? []
        points.append(value)
        if points.count > UtilizationMeter.kept { points.removeFirst(points.count - UtilizationMeter.kept) }
        datapoints[metric] = points
    }
}
