#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// Target health as the scheduler checks it: a TCP connection to the task's address and
/// container port, every `interval`, healthy after `healthyThreshold` successes in a row and
/// unhealthy after `unhealthyThreshold` failures (ELB's checks are configured in the load
/// balancer, not in ECS; these are fargate-run's, shorter than ELB's 30 s × 5 defaults so that
/// local deployments take seconds; Docs/SERVICES.md).
public struct TargetHealthPolicy: Sendable {
    public var interval: TimeInterval = 2
    public var timeout: TimeInterval = 1
    public var healthyThreshold = 2
    public var unhealthyThreshold = 2
    /// How long a target that has never been healthy fails its checks before it is called
    /// unhealthy: as long as an ALB's defaults take (two failed checks 30 s apart), so that an
    /// application slow to listen (a JVM, a migration at start) is given the time ECS gives it,
    /// not the 4 s the short checks above would.
    public var initialFailureWindow: TimeInterval = 60

    public init() {}
}

/// Each target's recent results.
struct TargetHealthState {
    var successes = 0
    var failures = 0
    var healthy: Bool?
    var lastChecked = Date.distantPast
    var firstChecked: Date?

    mutating func record(_ ok: Bool, policy: TargetHealthPolicy, at now: Date) {
        if firstChecked == nil { firstChecked = now }
        if ok {
            successes += 1
            failures = 0
            if successes >= policy.healthyThreshold { healthy = true }
        } else {
            failures += 1
            successes = 0
            let initialOver = healthy != nil || now.timeIntervalSince(firstChecked ?? now) >= policy.initialFailureWindow
            if failures >= policy.unhealthyThreshold && initialOver { healthy = false }
        }
    }
}

enum TargetProbe {
    /// Whether a TCP connection to ip:port is accepted within `timeout`.
    static func connects(_ ip: String, _ port: Int, timeout: TimeInterval) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, ip, &addr.sin_addr) == 1 else { return false }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r == 0 { return true }
        guard errno == EINPROGRESS else { return false }
        var p = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        guard poll(&p, 1, Int32(timeout * 1000)) == 1 else { return false }
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0
    }
}
