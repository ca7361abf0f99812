#if canImport(Glibc)
import Glibc
#endif

/// A process identified by pid *and* start time, so a recycled pid is never mistaken for the
/// process that recorded it (task owners, port reservations).
public struct ProcessIdentity: Codable, Sendable, Equatable {
    public var pid: Int32
    /// Field 22 of /proc/PID/stat: start time in clock ticks after boot.
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    public static var current: ProcessIdentity {
        let pid = getpid()
        return ProcessIdentity(pid: pid, startTime: startTime(of: pid) ?? 0)
    }

    public static func startTime(of pid: Int32) -> UInt64? {
        stat(pid)?.startTime
    }

    /// The parent of `pid` (field 4 of /proc/PID/stat).
    public static func parent(of pid: Int32) -> Int32? {
        stat(pid)?.parent
    }

    /// State letter, parent and start time from /proc/PID/stat.
    static func stat(_ pid: Int32) -> (state: Character, parent: Int32, startTime: UInt64)? {
        guard let text = try? FileSystem.readString("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        // After the comm field: state is field 3 (index 0), ppid field 4, start time field 22 (index 19).
        guard fields.count > 19, let st = fields[0].first, let parent = Int32(fields[1]), let start = UInt64(fields[19]) else { return nil }
        return (st, parent, start)
    }

    /// The recorded process still runs: same pid, same start time, and not a zombie (a killed
    /// process whose parent has not reaped it yet is dead, whatever /proc still shows).
    public var isAlive: Bool {
        guard let s = ProcessIdentity.stat(pid) else { return false }
        return s.startTime == startTime && s.state != "Z" && s.state != "X"
    }
}
