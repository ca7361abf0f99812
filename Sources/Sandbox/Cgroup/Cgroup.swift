#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport

/// Resource limits for one cgroup, in runtime-neutral units. `nil` leaves the kernel default.
public struct ResourceLimits: Sendable, Equatable, Codable {
    /// Hard CPU ceiling: `quota` microseconds of CPU time per `period` microseconds.
    public var cpuQuota: Int64?
    public var cpuPeriod: Int64
    /// Relative CPU weight in v1 "shares" (2...262144, 1024 = one CPU's worth); v2 converts.
    public var cpuShares: Int64?
    /// Hard memory limit in bytes (the OOM killer acts above it).
    public var memoryMax: Int64?
    /// Memory protected from reclaim in bytes (v2 memory.low, v1 soft limit).
    public var memoryLow: Int64?
    /// Forbid swap (memory+swap limit equals memory limit).
    public var noSwap: Bool
    /// Maximum number of tasks (processes and threads).
    public var pidsMax: Int64?
    /// Device nodes that may be opened or created; nil leaves access as inherited.
    public var devices: [DeviceRule]?

    public init(cpuQuota: Int64? = nil, cpuPeriod: Int64 = 100_000, cpuShares: Int64? = nil, memoryMax: Int64? = nil,
                memoryLow: Int64? = nil, noSwap: Bool = false, pidsMax: Int64? = nil, devices: [DeviceRule]? = nil) {
        self.cpuQuota = cpuQuota
        self.cpuPeriod = cpuPeriod
        self.cpuShares = cpuShares
        self.memoryMax = memoryMax
        self.memoryLow = memoryLow
        self.noSwap = noSwap
        self.pidsMax = pidsMax
        self.devices = devices
    }

    /// v2 cpu.weight from v1 shares, as runc converts it (libcontainer/cgroups/utils.go):
    /// 2..262144 maps linearly onto 1..10000.
    public static func weight(fromShares shares: Int64) -> Int64 {
        let s = min(max(shares, 2), 262_144)
        return 1 + ((s - 2) * 9999) / 262_142
    }
}

/// Usage counters read from a cgroup.
public struct CgroupStats: Sendable, Equatable {
    /// Total CPU time consumed, nanoseconds.
    public var cpuUsageNanos: UInt64
    /// Current memory use in bytes (including page cache).
    public var memoryUsage: UInt64
    /// Memory use minus inactive file cache, as the ECS agent reports it.
    public var memoryWorkingSet: UInt64
    /// Peak memory use in bytes, where the kernel tracks it.
    public var memoryPeak: UInt64?
    /// OOM kills inside this cgroup, from the kernel's own counter.
    public var oomKills: UInt64
    /// Processes in the cgroup now.
    public var pids: UInt64
    /// Bytes read from and written to block devices, where the kernel accounts them to this
    /// cgroup (v2 with the io controller; v1 only with a blkio hierarchy); nil elsewhere.
    public var ioReadBytes: UInt64? = nil
    public var ioWriteBytes: UInt64? = nil
}

/// One cgroup created by fargate-run: a directory in each hierarchy (v1) or one directory (v2).
public struct Cgroup: Sendable {
    public let host: CgroupHost
    /// Path below the parent (e.g. "fargate-run-<task>/web").
    public let relativePath: String

    /// The directory of this cgroup in each hierarchy.
    public var directories: [String] { host.hierarchies.map { $0.directory + "/" + relativePath } }

    /// The cgroup path as processes see it in /proc/PID/cgroup (per hierarchy).
    public var paths: [String] {
        host.hierarchies.map { ($0.parentPath == "/" ? "" : $0.parentPath) + "/" + relativePath }
    }

    init(host: CgroupHost, relativePath: String) {
        self.host = host
        self.relativePath = relativePath
    }

    /// A cgroup that already exists (made by another process), for reading.
    public init(existing host: CgroupHost, relativePath: String) {
        self.init(host: host, relativePath: relativePath)
    }

    /// The cgroup whose directories (one per hierarchy of this host, as `directories` lists
    /// them) another process recorded, wherever that process ran: each hierarchy's parent is
    /// taken from its directory. nil when they do not fit this host's layout.
    public static func recorded(_ directories: [String], on probed: CgroupHost) -> Cgroup? {
        guard directories.count == probed.hierarchies.count, let first = directories.first,
              let name = first.split(separator: "/").last.map(String.init) else { return nil }
        var hierarchies: [CgroupHost.Hierarchy] = []
        for (dir, h) in zip(directories, probed.hierarchies) {
            guard dir.hasPrefix(h.mountPoint + "/"), dir.hasSuffix("/" + name) else { return nil }
            var h = h
            let parent = String(dir.dropFirst(h.mountPoint.count).dropLast(name.count + 1))
            h.parentPath = parent.isEmpty ? "/" : parent
            hierarchies.append(h)
        }
        return Cgroup(host: CgroupHost(version: probed.version, hierarchies: hierarchies), relativePath: name)
    }

    /// Creates the cgroup (failing if it exists, so two tasks never share one) and applies limits.
    /// On failure nothing of it is left behind.
    public static func create(host: CgroupHost, relativePath: String, limits: ResourceLimits,
                              delegateControllers: Bool = false) throws -> Cgroup {
        let cg = Cgroup(host: host, relativePath: relativePath)
        var made: [String] = []
        do {
            for (h, dir) in zip(host.hierarchies, cg.directories) {
                // A --cgroup-parent that does not exist yet is created (and left, like Docker's).
                try FileSystem.makeDirectories(FileSystem.parent(of: dir))
                if host.version == .v2 {
                    try enableControllers(in: FileSystem.parent(of: dir), stopAt: h.mountPoint)
                    enableOptionalControllers(in: FileSystem.parent(of: dir), stopAt: h.mountPoint)
                }
                try syscallRetrying("mkdir", path: dir) { mkdir(dir, 0o755) }
                made.append(dir)
            }
            try cg.apply(limits)
            if host.version == .v2 && delegateControllers {
                try FileSystem.writeString(cg.directories[0] + "/cgroup.subtree_control",
                                           CgroupHost.v2Controllers.map { "+" + $0 }.joined(separator: " "))
                enableOptionalControllers(in: cg.directories[0], stopAt: cg.directories[0])
            }
        } catch {
            for dir in made.reversed() { rmdir(dir) }
            throw error
        }
        return cg
    }

    /// v2: controllers must be enabled in every ancestor's subtree_control down to our parent.
    private static func enableControllers(in dir: String, stopAt mount: String) throws {
        let wanted = CgroupHost.v2Controllers
        let current = (try? FileSystem.readString(dir + "/cgroup.subtree_control")) ?? ""
        let have = Set(current.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        let missing = wanted.filter { !have.contains($0) }
        if missing.isEmpty { return }
        if dir != mount { try enableControllers(in: FileSystem.parent(of: dir), stopAt: mount) }
        let list = missing.joined(separator: ", ")
        let result = Result { () throws(SystemError) in
            try FileSystem.writeString(dir + "/cgroup.subtree_control", missing.map { "+" + $0 }.joined(separator: " "))
        }
        guard case .failure(let e) = result else { return }
        switch e.errno {
        case EBUSY:
            throw SandboxError.cgroup("cannot enable the \(list) controllers in \(dir): it holds processes (cgroup v2 allows controllers only in cgroups without their own processes). Start fargate-run in a cgroup of its own or pass --cgroup-parent with a cgroup that has no processes")
        case ENOENT, EINVAL:
            throw SandboxError.cgroup("the \(list) controllers are not available in \(dir) (cgroup.controllers lacks them)")
        default:
            throw e
        }
    }

    /// v2: controllers enabled where the kernel offers them, for accounting only: `io` gives
    /// each task and container its io.stat (block I/O in usage samples). Nothing depends on
    /// them, so a refusal is no error.
    private static func enableOptionalControllers(in dir: String, stopAt mount: String) {
        func controllers(_ file: String) -> Set<String> {
            Set(((try? FileSystem.readString(dir + "/" + file)) ?? "").split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
        }
        let missing = ["io"].filter { !controllers("cgroup.subtree_control").contains($0) }
        if missing.isEmpty { return }
        // Offered here only once the parent passes it down.
        if dir != mount, !missing.allSatisfy(controllers("cgroup.controllers").contains) {
            enableOptionalControllers(in: FileSystem.parent(of: dir), stopAt: mount)
        }
        let offered = controllers("cgroup.controllers")
        for c in missing where offered.contains(c) { try? FileSystem.writeString(dir + "/cgroup.subtree_control", "+" + c) }
    }

    /// Creates a child cgroup beneath this one.
    public func child(_ name: String, limits: ResourceLimits) throws -> Cgroup {
        try Cgroup.create(host: host, relativePath: relativePath + "/" + name, limits: limits)
    }

    /// Writes the limits into the cgroup's control files.
    public func apply(_ l: ResourceLimits) throws {
        switch host.version {
        case .v2:
            let dir = directories[0]
            if let q = l.cpuQuota { try FileSystem.writeString(dir + "/cpu.max", "\(q) \(l.cpuPeriod)") }
            if let s = l.cpuShares { try FileSystem.writeString(dir + "/cpu.weight", "\(ResourceLimits.weight(fromShares: s))") }
            if let m = l.memoryMax { try FileSystem.writeString(dir + "/memory.max", "\(m)") }
            if let m = l.memoryLow { try FileSystem.writeString(dir + "/memory.low", "\(m)") }
            if l.noSwap, FileSystem.exists(dir + "/memory.swap.max") { try FileSystem.writeString(dir + "/memory.swap.max", "0") }
            if let p = l.pidsMax { try FileSystem.writeString(dir + "/pids.max", "\(p)") }
            if let rules = l.devices { try attachDeviceFilter(dir, rules) }
        case .v1:
            if let q = l.cpuQuota, let d = directory(for: "cpu") {
                try FileSystem.writeString(d + "/cpu.cfs_period_us", "\(l.cpuPeriod)")
                try FileSystem.writeString(d + "/cpu.cfs_quota_us", "\(q)")
            }
            if let s = l.cpuShares, let d = directory(for: "cpu") { try FileSystem.writeString(d + "/cpu.shares", "\(min(max(s, 2), 262_144))") }
            if let d = directory(for: "memory") {
                if let m = l.memoryMax {
                    try FileSystem.writeString(d + "/memory.limit_in_bytes", "\(m)")
                    // memsw exists only with swap accounting; without it there is no swap to limit.
                    if l.noSwap, FileSystem.exists(d + "/memory.memsw.limit_in_bytes") {
                        try FileSystem.writeString(d + "/memory.memsw.limit_in_bytes", "\(m)")
                    }
                }
                if let m = l.memoryLow { try FileSystem.writeString(d + "/memory.soft_limit_in_bytes", "\(m)") }
                if l.noSwap, FileSystem.exists(d + "/memory.swappiness") { try? FileSystem.writeString(d + "/memory.swappiness", "0") }
            }
            if let p = l.pidsMax, let d = directory(for: "pids") { try FileSystem.writeString(d + "/pids.max", "\(p)") }
            if let rules = l.devices, let d = directory(for: "devices") {
                try FileSystem.writeString(d + "/devices.deny", "a")
                for r in rules { try FileSystem.writeString(d + "/devices.allow", r.description) }
            }
        }
    }

    /// v2: devices are controlled by an eBPF program attached to the cgroup.
    private func attachDeviceFilter(_ dir: String, _ rules: [DeviceRule]) throws {
        let fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: dir) }
        defer { close(fd) }
        var c = rules.map(\.cRule)
        var log = [CChar](repeating: 0, count: 65536)
        if fr_device_filter_attach(fd, &c, c.count, &log, log.count) != 0 {
            let e = errno
            let verifier = String(String(cString: log).suffix(400))
            throw SandboxError.cgroup("attaching the device filter to \(dir): \(SystemError("bpf", errno: e).description.dropFirst(5))\(verifier.isEmpty ? "" : " (verifier: \(verifier))")")
        }
    }

    /// The directory of the hierarchy holding `controller` (v1), or the only one (v2).
    public func directory(for controller: String) -> String? {
        if host.version == .v2 { return directories[0] }
        for (h, d) in zip(host.hierarchies, directories) where h.controllers.contains(controller) { return d }
        return nil
    }

    /// Moves a process into this cgroup (in every hierarchy).
    public func add(pid: pid_t) throws {
        for dir in directories { try FileSystem.writeString(dir + "/cgroup.procs", "\(pid)") }
    }

    /// Pids currently in the cgroup (from the first hierarchy; all hold the same processes).
    public func processes() -> [pid_t] {
        guard let text = try? FileSystem.readString(directories[0] + "/cgroup.procs") else { return [] }
        return text.split(separator: "\n").compactMap { pid_t($0) }
    }

    /// Reads the limits back from the kernel, for reports and tests.
    public func effectiveLimits() -> ResourceLimits {
        var l = ResourceLimits()
        func int(_ path: String?) -> Int64? {
            guard let path, let s = try? FileSystem.readString(path) else { return nil }
            let t = s.trimmingCharacters(in: .whitespacesAndNewlines)
            return t == "max" ? nil : Int64(t)
        }
        switch host.version {
        case .v2:
            let dir = directories[0]
            if let s = try? FileSystem.readString(dir + "/cpu.max") {
                let p = s.split(separator: " ").map { String($0).trimmingCharacters(in: .whitespacesAndNewlines) }
                if p.count == 2 { l.cpuQuota = Int64(p[0]); l.cpuPeriod = Int64(p[1]) ?? 100_000 }
            }
            l.memoryMax = int(dir + "/memory.max")
            l.memoryLow = int(dir + "/memory.low")
            l.pidsMax = int(dir + "/pids.max")
            l.noSwap = int(dir + "/memory.swap.max") == 0
            if let w = int(dir + "/cpu.weight") { l.cpuShares = w }
        case .v1:
            let cpu = directory(for: "cpu"), mem = directory(for: "memory")
            let q = int(cpu.map { $0 + "/cpu.cfs_quota_us" })
            l.cpuQuota = (q ?? -1) < 0 ? nil : q
            l.cpuPeriod = int(cpu.map { $0 + "/cpu.cfs_period_us" }) ?? 100_000
            l.cpuShares = int(cpu.map { $0 + "/cpu.shares" })
            let unlimited: Int64 = 0x7FFF_FFFF_FFFF_F000
            if let m = int(mem.map { $0 + "/memory.limit_in_bytes" }), m < unlimited { l.memoryMax = m }
            if let m = int(mem.map { $0 + "/memory.soft_limit_in_bytes" }), m < unlimited { l.memoryLow = m }
            if let sw = int(mem.map { $0 + "/memory.memsw.limit_in_bytes" }) { l.noSwap = sw == l.memoryMax }
            l.pidsMax = int(directory(for: "pids").map { $0 + "/pids.max" })
        }
        return l
    }

    /// Reads usage counters; missing files read as zero.
    public func stats() -> CgroupStats {
        func kv(_ path: String?) -> [String: UInt64] {
            guard let path, let s = try? FileSystem.readString(path) else { return [:] }
            var out: [String: UInt64] = [:]
            for line in s.split(separator: "\n") {
                let p = line.split(separator: " ")
                if p.count == 2, let v = UInt64(p[1]) { out[String(p[0])] = v }
            }
            return out
        }
        func num(_ path: String?) -> UInt64? {
            guard let path, let s = try? FileSystem.readString(path) else { return nil }
            return UInt64(s.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        switch host.version {
        case .v2:
            let dir = directories[0]
            let cpu = kv(dir + "/cpu.stat")
            let mem = kv(dir + "/memory.stat")
            let usage = num(dir + "/memory.current") ?? 0
            let inactive = mem["inactive_file"] ?? 0
            var stats = CgroupStats(cpuUsageNanos: (cpu["usage_usec"] ?? 0) * 1000, memoryUsage: usage,
                                    memoryWorkingSet: usage > inactive ? usage - inactive : 0,
                                    memoryPeak: num(dir + "/memory.peak"),
                                    oomKills: kv(dir + "/memory.events")["oom_kill"] ?? 0,
                                    pids: num(dir + "/pids.current") ?? 0)
            if let io = CounterFile(dir + "/io.stat"), io.refresh() {
                let sums = io.withBytes { CounterText.sumFields(["rbytes", "wbytes"], in: $0) }
                (stats.ioReadBytes, stats.ioWriteBytes) = (sums[0], sums[1])
            }
            return stats
        case .v1:
            let mem = directory(for: "memory")
            let stat = kv(mem.map { $0 + "/memory.stat" })
            let usage = num(mem.map { $0 + "/memory.usage_in_bytes" }) ?? 0
            let inactive = stat["total_inactive_file"] ?? 0
            var stats = CgroupStats(cpuUsageNanos: num(directory(for: "cpuacct").map { $0 + "/cpuacct.usage" }) ?? 0,
                                    memoryUsage: usage,
                                    memoryWorkingSet: usage > inactive ? usage - inactive : 0,
                                    memoryPeak: num(mem.map { $0 + "/memory.max_usage_in_bytes" }),
                                    oomKills: kv(mem.map { $0 + "/memory.oom_control" })["oom_kill"] ?? 0,
                                    pids: num(directory(for: "pids").map { $0 + "/pids.current" }) ?? 0)
            if let d = directory(for: "blkio"), let io = CounterFile(d + "/blkio.throttle.io_service_bytes_recursive"), io.refresh() {
                (stats.ioReadBytes, stats.ioWriteBytes) = io.withBytes { CounterText.blkioReadWrite(in: $0) }
            }
            return stats
        }
    }

    /// SIGKILLs every process in the cgroup and its children (cgroup.kill on v2 when present).
    public func killAll() {
        if host.version == .v2, FileSystem.exists(directories[0] + "/cgroup.kill") {
            try? FileSystem.writeString(directories[0] + "/cgroup.kill", "1")
            return
        }
        Cgroup.killAll(in: directories)
    }

    /// Removes the cgroup and any children, deepest first. Processes still inside are killed;
    /// rmdir is retried briefly because the kernel frees a cgroup only after its last task is
    /// reaped.
    public func remove() throws {
        try Cgroup.remove(directories: directories, killing: killAll)
    }

    /// SIGKILLs every process in these cgroup directories and beneath them, in any hierarchy
    /// (what `gc` has of a task whose fargate-run died). Returns how many were signalled.
    @discardableResult
    public static func killAll(in directories: [String]) -> Int {
        var killed = Set<pid_t>()
        for dir in directories {
            for sub in subtree(dir) {
                guard let text = try? FileSystem.readString(sub + "/cgroup.procs") else { continue }
                for pid in text.split(separator: "\n").compactMap({ pid_t($0) }) where !killed.contains(pid) && kill(pid, SIGKILL) == 0 {
                    killed.insert(pid)
                }
            }
        }
        return killed.count
    }

    /// Removes these cgroup directories and their children, deepest first; `killing` is called
    /// once if one is still busy.
    public static func remove(directories: [String], killing: () -> Void) throws {
        for dir in directories where FileSystem.exists(dir) {
            for sub in subtree(dir).reversed() {
                var attempts = 0
                while rmdir(sub) != 0 {
                    let e = errno
                    if e == ENOENT { break }
                    attempts += 1
                    if e != EBUSY || attempts > 200 { throw SystemError("rmdir", path: sub, errno: e) }
                    if attempts == 1 { killing() }
                    usleep(10_000)
                }
            }
        }
    }

    /// `dir` and every cgroup directory beneath it, parents before children.
    public static func subtree(_ dir: String) -> [String] {
        [dir] + children(dir).flatMap { subtree(dir + "/" + $0) }
    }

    /// The names of the cgroups directly beneath `dir` (its subdirectories; cgroupfs gives
    /// d_type, so its many files cost no stat).
    public static func children(_ dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let ent = readdir(d) {
            guard ent.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: ent.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}
