#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// One reading of a container cgroup's counters, as Docker's stats API takes them from each
/// cgroup version (moby `daemon/stats`, containerd's cgroups metrics): the raw values, in
/// Docker's units (nanoseconds, bytes), with what a version lacks left nil.
public struct CgroupDockerReading: Sendable, Equatable {
    public struct BlkioEntry: Sendable, Equatable {
        public var major: UInt64
        public var minor: UInt64
        public var op: String
        public var value: UInt64

        public init(major: UInt64, minor: UInt64, op: String, value: UInt64) {
            self.major = major
            self.minor = minor
            self.op = op
            self.value = value
        }
    }

    public var version: CgroupVersion
    /// CPU time, nanoseconds: in all, per CPU (v1 only), in the kernel, in user space.
    public var cpuTotal: UInt64 = 0
    public var cpuPerCPU: [UInt64]?
    public var cpuKernel: UInt64 = 0
    public var cpuUser: UInt64 = 0
    /// CFS bandwidth: periods, those throttled, nanoseconds throttled.
    public var throttlePeriods: UInt64 = 0
    public var throttledPeriods: UInt64 = 0
    public var throttledTime: UInt64 = 0
    public var memoryUsage: UInt64 = 0
    /// v1 only (memory.max_usage_in_bytes, memory.failcnt).
    public var memoryMaxUsage: UInt64?
    public var memoryFailcnt: UInt64?
    /// The cgroup's limit as the kernel gives it: 0x7FFFFFFFFFFFF000 unlimited on v1, 2^64-1
    /// ("max") on v2.
    public var memoryLimit: UInt64 = 0
    /// memory.stat, with the keys Docker reports for the version (`memoryStatKeysV1/V2`).
    public var memoryStats: [String: UInt64] = [:]
    /// v1: bytes and operations per device and op (blkio); v2: bytes read and written per
    /// device (io.stat), nil without the io controller.
    public var ioServiceBytes: [BlkioEntry]?
    public var ioServiced: [BlkioEntry]?
    public var pidsCurrent: UInt64 = 0
    /// nil when unlimited.
    public var pidsLimit: UInt64?

    public init(version: CgroupVersion) {
        self.version = version
    }

    /// The memory.stat keys Docker reports on cgroup v1 (what Fargate shows).
    public static let memoryStatKeysV1: [String] = {
        let own = ["cache", "rss", "rss_huge", "mapped_file", "dirty", "writeback", "pgpgin", "pgpgout", "pgfault", "pgmajfault",
                   "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable"]
        return own + ["hierarchical_memory_limit", "hierarchical_memsw_limit"] + own.map { "total_" + $0 }
    }()

    /// The memory.stat keys Docker reports on cgroup v2.
    public static let memoryStatKeysV2 = [
        "anon", "file", "kernel_stack", "slab", "sock", "shmem", "file_mapped", "file_dirty", "file_writeback", "anon_thp",
        "inactive_anon", "active_anon", "inactive_file", "active_file", "unevictable", "slab_reclaimable", "slab_unreclaimable",
        "pgfault", "pgmajfault", "workingset_refault", "workingset_activate", "workingset_nodereclaim", "pgrefill", "pgscan",
        "pgsteal", "pgactivate", "pgdeactivate", "pglazyfree", "pglazyfreed", "thp_fault_alloc", "thp_collapse_alloc",
    ]
}

extension Cgroup {
    /// The container cgroup's counters now, as Docker's stats take them. Missing files read
    /// as zero (or nil where Docker leaves the field out).
    public func dockerReading() -> CgroupDockerReading {
        var r = CgroupDockerReading(version: host.version)
        switch host.version {
        case .v2: readV2(into: &r)
        case .v1: readV1(into: &r)
        }
        return r
    }

    private func readV2(into r: inout CgroupDockerReading) {
        let dir = directories[0]
        let cpu = CgroupFiles.keyed(dir + "/cpu.stat")
        r.cpuTotal = (cpu["usage_usec"] ?? 0) * 1000
        r.cpuUser = (cpu["user_usec"] ?? 0) * 1000
        r.cpuKernel = (cpu["system_usec"] ?? 0) * 1000
        r.throttlePeriods = cpu["nr_periods"] ?? 0
        r.throttledPeriods = cpu["nr_throttled"] ?? 0
        r.throttledTime = (cpu["throttled_usec"] ?? 0) * 1000
        r.memoryUsage = CgroupFiles.number(dir + "/memory.current") ?? 0
        r.memoryLimit = CgroupFiles.number(dir + "/memory.max", max: UInt64.max) ?? UInt64.max
        let stat = CgroupFiles.keyed(dir + "/memory.stat")
        var stats: [String: UInt64] = [:]
        for key in CgroupDockerReading.memoryStatKeysV2 { stats[key] = stat[key] ?? 0 }
        // Kernels since 5.9 count refaults and activations per kind of page.
        for key in ["workingset_refault", "workingset_activate"] where stat[key] == nil {
            stats[key] = (stat[key + "_anon"] ?? 0) + (stat[key + "_file"] ?? 0)
        }
        r.memoryStats = stats
        if let io = try? FileSystem.readString(dir + "/io.stat") {
            var entries: [CgroupDockerReading.BlkioEntry] = []
            for line in io.split(separator: "\n") {
                let fields = line.split(separator: " ")
                guard let device = fields.first.map(CgroupFiles.device), let (major, minor) = device else { continue }
                var values: [Substring: UInt64] = [:]
                for f in fields.dropFirst() {
                    let kv = f.split(separator: "=")
                    if kv.count == 2, let v = UInt64(kv[1]) { values[kv[0]] = v }
                }
                entries.append(.init(major: major, minor: minor, op: "read", value: values["rbytes"] ?? 0))
                entries.append(.init(major: major, minor: minor, op: "write", value: values["wbytes"] ?? 0))
            }
            r.ioServiceBytes = entries.isEmpty ? nil : entries
        }
        r.pidsCurrent = CgroupFiles.number(dir + "/pids.current") ?? 0
        r.pidsLimit = CgroupFiles.number(dir + "/pids.max")
    }

    private func readV1(into r: inout CgroupDockerReading) {
        let acct = directory(for: "cpuacct"), cpu = directory(for: "cpu"), mem = directory(for: "memory")
        r.cpuTotal = acct.flatMap { CgroupFiles.number($0 + "/cpuacct.usage") } ?? 0
        if let text = acct.flatMap({ try? FileSystem.readString($0 + "/cpuacct.usage_percpu") }) {
            r.cpuPerCPU = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).compactMap { UInt64($0) }
        }
        // cpuacct.stat counts in USER_HZ ticks.
        let ticks = acct.map { CgroupFiles.keyed($0 + "/cpuacct.stat") } ?? [:]
        let hz = UInt64(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        r.cpuUser = (ticks["user"] ?? 0) * (1_000_000_000 / hz)
        r.cpuKernel = (ticks["system"] ?? 0) * (1_000_000_000 / hz)
        let throttling = cpu.map { CgroupFiles.keyed($0 + "/cpu.stat") } ?? [:]
        r.throttlePeriods = throttling["nr_periods"] ?? 0
        r.throttledPeriods = throttling["nr_throttled"] ?? 0
        r.throttledTime = throttling["throttled_time"] ?? 0
        if let mem {
            r.memoryUsage = CgroupFiles.number(mem + "/memory.usage_in_bytes") ?? 0
            r.memoryMaxUsage = CgroupFiles.number(mem + "/memory.max_usage_in_bytes") ?? 0
            r.memoryFailcnt = CgroupFiles.number(mem + "/memory.failcnt") ?? 0
            r.memoryLimit = CgroupFiles.number(mem + "/memory.limit_in_bytes") ?? 0
            let stat = CgroupFiles.keyed(mem + "/memory.stat")
            var stats: [String: UInt64] = [:]
            for key in CgroupDockerReading.memoryStatKeysV1 { stats[key] = stat[key] ?? 0 }
            r.memoryStats = stats
        }
        // Only where fargate-run's cgroups have a blkio hierarchy; empty lists otherwise, as
        // Docker gives a cgroup without I/O.
        r.ioServiceBytes = []
        r.ioServiced = []
        if host.hierarchies.contains(where: { $0.controllers.contains("blkio") }), let dir = directory(for: "blkio") {
            r.ioServiceBytes = CgroupFiles.blkio(dir, "io_service_bytes_recursive")
            r.ioServiced = CgroupFiles.blkio(dir, "io_serviced_recursive")
        }
        if let pids = directory(for: "pids") {
            r.pidsCurrent = CgroupFiles.number(pids + "/pids.current") ?? 0
            r.pidsLimit = CgroupFiles.number(pids + "/pids.max")
        }
    }
}

/// Reading cgroupfs's file formats.
enum CgroupFiles {
    /// A single number; "max" is `max` (nil by default: unlimited).
    static func number(_ path: String, max: UInt64? = nil) -> UInt64? {
        guard let s = try? FileSystem.readString(path) else { return nil }
        let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
        return t == "max" ? max : UInt64(t)
    }

    /// "key value" lines.
    static func keyed(_ path: String) -> [String: UInt64] {
        guard let s = try? FileSystem.readString(path) else { return [:] }
        var out: [String: UInt64] = [:]
        for line in s.split(separator: "\n") {
            let p = line.split(separator: " ")
            if p.count == 2, let v = UInt64(p[1]) { out[String(p[0])] = v }
        }
        return out
    }

    /// "MAJOR:MINOR".
    static func device(_ s: Substring) -> (UInt64, UInt64)? {
        let p = s.split(separator: ":")
        guard p.count == 2, let major = UInt64(p[0]), let minor = UInt64(p[1]) else { return nil }
        return (major, minor)
    }

    /// blkio's "MAJOR:MINOR Op value" lines (the CFQ file, else the throttling one, as
    /// containerd reads them); a "Total value" line has no device and is left out.
    static func blkio(_ dir: String, _ name: String) -> [CgroupDockerReading.BlkioEntry] {
        var text = (try? FileSystem.readString(dir + "/blkio." + name)) ?? ""
        if text.split(separator: "\n").count <= 1 { text = (try? FileSystem.readString(dir + "/blkio.throttle." + name)) ?? "" }
        var out: [CgroupDockerReading.BlkioEntry] = []
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count == 3, let (major, minor) = device(f[0]), let v = UInt64(f[2]) else { continue }
            out.append(.init(major: major, minor: minor, op: String(f[1]), value: v))
        }
        return out
    }
}
