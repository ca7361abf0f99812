#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Sandbox

/// Turns a container definition's security members into sandbox terms.
public enum ContainerSecurity {
    public struct Error: Swift.Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Docker's default set, then `linuxParameters.capabilities.drop` ("ALL" drops every one),
    /// then `.add`, as Docker applies them.
    public static func capabilities(_ lp: ECS.LinuxParameters?) throws -> Set<Capability> {
        var caps = Capability.dockerDefault
        for name in lp?.capabilities?.drop ?? [] {
            if name.uppercased() == "ALL" { caps = []; continue }
            guard let c = Capability(name: name) else { throw Error(description: "linuxParameters.capabilities.drop: unknown capability \"\(name)\"") }
            caps.remove(c)
        }
        for name in lp?.capabilities?.add ?? [] {
            guard let c = Capability(name: name) else { throw Error(description: "linuxParameters.capabilities.add: unknown capability \"\(name)\"") }
            caps.insert(c)
        }
        return caps
    }

    /// ECS ulimit names to RLIMIT_* numbers (Linux generic values, the same on x86_64 and arm64).
    public static let rlimitNumbers: [String: Int32] = [
        "cpu": 0, "fsize": 1, "data": 2, "stack": 3, "core": 4, "rss": 5, "nproc": 6, "nofile": 7, "memlock": 8,
        "locks": 10, "sigpending": 11, "msgqueue": 12, "nice": 13, "rtprio": 14, "rttime": 15,
    ]

    /// The definition's ulimits over Fargate's default of nofile 65535/65535.
    public static func rlimits(_ ulimits: [ECS.Ulimit]?) throws -> [ContainerSpec.Rlimit] {
        var out: [Int32: ContainerSpec.Rlimit] = [7: ContainerSpec.Rlimit(resource: 7, soft: 65535, hard: 65535)]
        for (i, u) in (ulimits ?? []).enumerated() {
            guard let name = u.name?.rawValue, let r = rlimitNumbers[name] else {
                throw Error(description: "ulimits[\(i)].name: \"\(u.name?.rawValue ?? "")\" is not a ulimit name")
            }
            guard let soft = u.softLimit, let hard = u.hardLimit, soft >= 0, hard >= 0 else {
                throw Error(description: "ulimits[\(i)]: softLimit and hardLimit are required and not negative")
            }
            guard soft <= hard else { throw Error(description: "ulimits[\(i)]: softLimit \(soft) exceeds hardLimit \(hard)") }
            out[r] = ContainerSpec.Rlimit(resource: r, soft: UInt64(soft), hard: UInt64(hard))
        }
        return out.keys.sorted().map { out[$0]! }
    }
}
