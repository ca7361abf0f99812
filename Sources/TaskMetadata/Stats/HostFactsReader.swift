#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport
import Synchronization

/// Reads what a task's v4 document says of the host: the clock's synchronisation (adjtimex),
/// the task's disk use (its writable layers and volumes, walked at most every 10 s), its
/// name servers.
final class HostFactsReader: Sendable {
    let taskDirectory: String
    private let storage = Mutex<(at: ContinuousClock.Instant, mib: Int64)?>(nil)
    private let names = Mutex<(servers: [String], search: [String])?>(nil)

    init(taskDirectory: String) {
        self.taskDirectory = taskDirectory
    }

    func read() -> HostFacts {
        var facts = HostFacts()
        facts.clockDrift = HostFactsReader.clockDrift()
        facts.storageUsedMiB = storageUsed()
        let (servers, search) = nameServers()
        facts.nameServers = servers
        facts.searchDomains = search
        return facts
    }

    /// The kernel's view of the clock (what chrony or ntpd keep): its maximum error, in
    /// milliseconds, and whether it is synchronised.
    static func clockDrift() -> HostFacts.ClockDrift? {
        var maxError = 0, synchronized: Int32 = 0
        guard fr_clock_state(&maxError, &synchronized) == 0 else { return nil }
        var now = GoTime.now()
        now.nanoseconds = 0
        return HostFacts.ClockDrift(errorBound: Double(maxError) / 1000, reference: now, synchronized: synchronized != 0)
    }

    /// MiB of the task's writable layers and volumes (blocks allocated), cached for 10 s.
    func storageUsed() -> Int64 {
        let now = ContinuousClock.now
        if let cached = storage.withLock({ $0 }), now - cached.at < .seconds(10) { return cached.mib }
        var budget = 200_000
        let bytes = HostFactsReader.usage(taskDirectory + "/containers", budget: &budget)
            + HostFactsReader.usage(taskDirectory + "/volumes", budget: &budget)
        let mib = Int64(bytes >> 20)
        storage.withLock { $0 = (now, mib) }
        return mib
    }

    /// Bytes allocated beneath `path`, counting at most `budget` entries (a task with millions
    /// of files is not walked whole on every request), never crossing into other file systems.
    static func usage(_ path: String, budget: inout Int) -> UInt64 {
        var root = stat()
        guard lstat(path, &root) == 0 else { return 0 }
        var total: UInt64 = 0
        var pending = [path]
        while let dir = pending.popLast(), budget > 0 {
            guard let d = opendir(dir) else { continue }
            defer { closedir(d) }
            let fd = dirfd(d)
            while budget > 0, let entry = readdir(d) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name == "." || name == ".." { continue }
                budget -= 1
                var st = stat()
                guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
                total += UInt64(max(st.st_blocks, 0)) * 512
                if (st.st_mode & S_IFMT) == S_IFDIR, st.st_dev == root.st_dev { pending.append(dir + "/" + name) }
            }
        }
        return total
    }

    /// The task's resolv.conf, read once: its name servers and search domains.
    func nameServers() -> ([String], [String]) {
        if let known = names.withLock({ $0 }) { return known }
        guard let text = try? FileSystem.readString(taskDirectory + "/etc/resolv.conf") else { return ([], []) }
        var servers: [String] = [], search: [String] = []
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard f.count >= 2 else { continue }
            if f[0] == "nameserver" { servers.append(String(f[1])) }
            if f[0] == "search" { search = f.dropFirst().map(String.init) }
        }
        names.withLock { $0 = (servers, search) }
        return (servers, search)
    }
}
