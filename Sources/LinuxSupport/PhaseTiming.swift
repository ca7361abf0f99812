#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// FARGATE_RUN_TIMING=1 prints, on stderr, when each phase of a run ended, in milliseconds
/// since the process started: what the start-latency benchmark looks at. The start comes from
/// /proc/self/stat, in clock ticks (10 ms); FARGATE_RUN_TIMING=<ns since the epoch>, taken by
/// the caller just before it starts us (`$(date +%s%N)`), gives a start to the microsecond,
/// and a last mark at exit.
public enum PhaseTiming {
    static let setting = ProcessEnvironment.value("FARGATE_RUN_TIMING")
    public static let enabled = setting == "1" || given != nil
    static let given: Double? = setting.flatMap { $0.count > 12 ? Double($0) : nil }.map { $0 / 1e9 }
    static let clock = given == nil ? CLOCK_BOOTTIME : CLOCK_REALTIME

    static let processStart: Double = {
        if let given {
            atexit { PhaseTiming.mark("exit") }
            return given
        }
        let now = PhaseTiming.now()
        guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return now }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let ticks = Double(fields[19]) else { return now }
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }()

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    public static func mark(_ what: String) {
        guard enabled else { return }
        let ms = (now() - processStart) * 1000
        FileHandle.standardError.write(Data(String(format: "timing %7.2f ms %@\n", ms, what).utf8))
    }
}
