#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport

/// What this process itself may do, read from /proc/self/status.
public enum HostCapabilities {
    /// The effective capability set of fargate-run.
    public static func effective(statusText: String? = nil) -> Set<Capability> {
        let text = statusText ?? ((try? FileSystem.readString("/proc/self/status")) ?? "")
        for line in text.split(separator: "\n") where line.hasPrefix("CapEff:") {
            let hex = line.dropFirst("CapEff:".count).trimmingCharacters(in: .whitespaces)
            guard let mask = UInt64(hex, radix: 16) else { return [] }
            return Set(Capability.allCases.filter { mask & (1 << UInt64($0.rawValue)) != 0 })
        }
        return []
    }

    /// Rlimits the container can really get. Raising a hard limit needs CAP_SYS_RESOURCE; when
    /// fargate-run runs without it (some sandboxes and CI runners), a limit above our own hard
    /// limit is lowered to it and a warning says so, rather than failing every start.
    public static func achievable(_ limits: [ContainerSpec.Rlimit],
                                  canRaise: Bool = effective().contains(.sysResource)) -> (limits: [ContainerSpec.Rlimit], warnings: [String]) {
        if canRaise { return (limits, []) }
        var out: [ContainerSpec.Rlimit] = []
        var warnings: [String] = []
        for var l in limits {
            var current = rlimit()
            guard getrlimit(__rlimit_resource_t(UInt32(l.resource)), &current) == 0 else { out.append(l); continue }
            let ownHard = UInt64(current.rlim_max)
            if l.hard > ownHard {
                warnings.append("rlimit \(rlimitName(l.resource)) lowered from \(l.hard) to \(ownHard): fargate-run lacks CAP_SYS_RESOURCE to raise it")
                l.hard = ownHard
                l.soft = min(l.soft, ownHard)
            }
            out.append(l)
        }
        return (out, warnings)
    }

    /// Whether the kernel (5.10 or later) mounts overlays with "volatile": no sync of the
    /// upper layer's filesystem, which an overlay otherwise does when it is unmounted, so at
    /// every container's exit.
    public static let overlayVolatile: Bool = kernelAtLeast(5, 10)

    static func kernelAtLeast(_ major: Int, _ minor: Int, release: String = kernelRelease()) -> Bool {
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return (parts[0], parts[1]) >= (major, minor)
    }

    /// uname's release, e.g. "6.1.0-18-amd64"; "" where uname fails.
    public static func kernelRelease() -> String {
        var u = utsname()
        guard uname(&u) == 0 else { return "" }
        return withUnsafeBytes(of: &u.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func rlimitName(_ r: Int32) -> String {
        switch r {
        case Int32(RLIMIT_NOFILE.rawValue): return "nofile"
        case Int32(RLIMIT_CORE.rawValue): return "core"
        case Int32(RLIMIT_STACK.rawValue): return "stack"
        default: return "resource \(r)"
        }
    }
}
