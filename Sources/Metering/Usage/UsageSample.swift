/// Cumulative counters of one cgroup of a task at one moment, as a `UsageSource` reads them:
/// the task's own cgroup (`container` ""), or one container's.
public struct UsageReading: Sendable, Equatable {
    /// The container's name; "" for the task as a whole (its cgroup holds every container).
    public var container: String
    /// CPU time since the cgroup was made, nanoseconds.
    public var cpuNanos: UInt64
    /// Memory in use without page cache (usage − inactive_file on v2, usage − total_inactive_file
    /// on v1), as the ECS agent counts it.
    public var memoryBytes: UInt64
    /// The kernel's own peak of the cgroup's memory (memory.peak, memory.max_usage_in_bytes;
    /// page cache included), where it keeps one.
    public var memoryPeakBytes: UInt64?
    /// Bytes received and sent on the task's interfaces (loopback left out): the task's only.
    public var netRxBytes: UInt64?
    public var netTxBytes: UInt64?
    /// Block I/O, where the kernel accounts it to the cgroup.
    public var ioReadBytes: UInt64?
    public var ioWriteBytes: UInt64?
    /// Processes and threads now.
    public var pids: UInt64

    public init(container: String, cpuNanos: UInt64, memoryBytes: UInt64, memoryPeakBytes: UInt64? = nil,
                netRxBytes: UInt64? = nil, netTxBytes: UInt64? = nil, ioReadBytes: UInt64? = nil, ioWriteBytes: UInt64? = nil,
                pids: UInt64 = 0) {
        self.container = container
        self.cpuNanos = cpuNanos
        self.memoryBytes = memoryBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.netRxBytes = netRxBytes
        self.netTxBytes = netTxBytes
        self.ioReadBytes = ioReadBytes
        self.ioWriteBytes = ioWriteBytes
        self.pids = pids
    }
}

/// Where a task's counters come from: its cgroups and network namespace (TaskRuntime's adapter
/// over the sandbox), or a test's numbers. Called from the sampler's thread only.
public protocol UsageSource: AnyObject, Sendable {
    /// Reads the task's cgroup and every container's that exists now. `complete` (a task's
    /// first and last samples) asks for every counter fresh; otherwise a source may read the
    /// costly ones (memory.stat, network, block I/O) only every few calls and repeat the rest:
    /// cumulative counters lose nothing by it, only when their growth shows.
    func read(complete: Bool) -> [UsageReading]

    /// The same, appended to `readings` (the sampler's buffer, kept from second to second).
    func read(complete: Bool, into readings: inout [UsageReading])
}

extension UsageSource {
    public func read(complete: Bool, into readings: inout [UsageReading]) {
        readings.append(contentsOf: read(complete: complete))
    }
}

/// A task as the usage tables know it: what it requested, task and containers, so usage can be
/// set against the request before the task is billed.
public struct UsageTask: Codable, Sendable, Equatable {
    public struct Container: Codable, Sendable, Equatable {
        public var name: String
        /// The container definition's cpu units, hard memory limit and soft reservation (MiB).
        public var cpu: Int?
        public var memory: Int?
        public var memoryReservation: Int?

        public init(name: String, cpu: Int? = nil, memory: Int? = nil, memoryReservation: Int? = nil) {
            self.name = name
            self.cpu = cpu
            self.memory = memory
            self.memoryReservation = memoryReservation
        }
    }

    public var taskArn: String
    public var family: String
    public var revision: Int
    /// Task cpu units and memory MiB.
    public var cpu: Int
    public var memory: Int
    /// Billing start (the pull's), microseconds since the epoch: the first sample covers from
    /// here, so no CPU second before sampling began goes missing.
    public var startMicros: Int64
    public var containers: [Container]
    public var attribution: TaskAttribution?

    public init(taskArn: String, family: String, revision: Int, cpu: Int, memory: Int, startMicros: Int64,
                containers: [Container], attribution: TaskAttribution? = nil) {
        self.taskArn = taskArn
        self.family = family
        self.revision = revision
        self.cpu = cpu
        self.memory = memory
        self.startMicros = startMicros
        self.containers = containers
        self.attribution = attribution
    }

    /// The ECS service, from the group ("service:NAME").
    public var service: String? {
        guard let g = attribution?.group, g.hasPrefix("service:") else { return nil }
        return String(g.dropFirst("service:".count))
    }
}

/// One stored sample: what a task (container "") or container used over `spanMillis`
/// milliseconds (measured between readings) ending at second `time`.
public struct UsageSample: Sendable, Equatable, Codable {
    public var container: String
    /// Unix second at which the interval ends.
    public var time: Int64
    /// Milliseconds the interval covers, as measured: about 1000 for per-second samples, more
    /// after a gap or once downsampled.
    public var spanMillis: Int64
    /// CPU time used in the interval, nanoseconds.
    public var cpuNanos: Int64
    /// Memory in use (no page cache): at the sample, or the time-weighted mean once downsampled.
    public var memoryBytes: Int64
    /// The most memory in use at any sample in the interval.
    public var memoryMaxBytes: Int64
    /// The kernel's peak counter as last read (page cache included), where it keeps one.
    public var memoryPeakBytes: Int64?
    public var netRxBytes: Int64
    public var netTxBytes: Int64
    /// nil where the kernel does not account block I/O to the cgroup.
    public var ioReadBytes: Int64?
    public var ioWriteBytes: Int64?
    public var pids: Int64

    /// The interval in seconds.
    public var seconds: Double { Double(spanMillis) / 1000 }

    public init(container: String, time: Int64, spanMillis: Int64, cpuNanos: Int64, memoryBytes: Int64, memoryMaxBytes: Int64? = nil,
                memoryPeakBytes: Int64? = nil, netRxBytes: Int64 = 0, netTxBytes: Int64 = 0, ioReadBytes: Int64? = nil,
                ioWriteBytes: Int64? = nil, pids: Int64 = 0) {
        self.container = container
        self.time = time
        self.spanMillis = spanMillis
        self.cpuNanos = cpuNanos
        self.memoryBytes = memoryBytes
        self.memoryMaxBytes = memoryMaxBytes ?? memoryBytes
        self.memoryPeakBytes = memoryPeakBytes
        self.netRxBytes = netRxBytes
        self.netTxBytes = netTxBytes
        self.ioReadBytes = ioReadBytes
        self.ioWriteBytes = ioWriteBytes
        self.pids = pids
    }
}
