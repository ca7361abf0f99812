#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Sandbox
import Synchronization

/// A container's healthCheck with ECS's defaults, and the state machine Docker (and so ECS)
/// applies to its results.
public struct HealthPolicy: Sendable, Equatable {
    /// The command as run: CMD's arguments, or `/bin/sh -c` with CMD-SHELL's string.
    public var arguments: [String]
    public var interval: Int
    public var timeout: Int
    public var retries: Int
    public var startPeriod: Int

    public init?(_ hc: ECS.HealthCheck?) {
        guard let cmd = hc?.command, cmd.count >= 2 else { return nil }
        switch cmd[0] {
        case "CMD": arguments = Array(cmd.dropFirst())
        // ECS joins the rest with spaces; one string is the usual form.
        case "CMD-SHELL": arguments = ["/bin/sh", "-c", cmd.dropFirst().joined(separator: " ")]
        default: return nil
        }
        interval = hc?.interval ?? 30
        timeout = hc?.timeout ?? 5
        retries = hc?.retries ?? 3
        startPeriod = hc?.startPeriod ?? 0
    }

    /// Where a container's health stands, fed one check result at a time.
    public struct State: Sendable, Equatable {
        /// UNKNOWN until a check passes or enough fail; then HEALTHY or UNHEALTHY.
        public var status = "UNKNOWN"
        public var consecutiveFailures = 0
        /// Set by the first success: failures in the start period count from then on.
        public var startPeriodOver = false

        public init() {}
    }

    /// Applies one result: a success makes the container HEALTHY; failures during the start
    /// period (before any success) do not count; `retries` consecutive failures after it make
    /// it UNHEALTHY.
    public func next(_ s: State, passed: Bool, secondsSinceStart: Double) -> State {
        var s = s
        if passed {
            s.status = "HEALTHY"
            s.consecutiveFailures = 0
            s.startPeriodOver = true
            return s
        }
        if !s.startPeriodOver && secondsSinceStart < Double(startPeriod) { return s }
        s.consecutiveFailures += 1
        if s.consecutiveFailures >= retries { s.status = "UNHEALTHY" }
        return s
    }

    /// Task health as ECS reports it: from the essential containers that have a health check.
    public static func taskStatus(_ containers: [(essential: Bool, checked: Bool, status: String)]) -> String {
        let relevant = containers.filter { $0.essential && $0.checked }
        if relevant.contains(where: { $0.status == "UNHEALTHY" }) { return "UNHEALTHY" }
        if !relevant.isEmpty && relevant.allSatisfy({ $0.status == "HEALTHY" }) { return "HEALTHY" }
        return "UNKNOWN"
    }
}

/// Runs one health check command inside a running container.
public enum HealthProbe {
    public struct Result: Sendable {
        public var passed: Bool
        /// Exit code (128+N for signal N), or nil when it timed out or could not start.
        public var exitCode: Int32?
        /// The end of its output, for messages.
        public var output: String
    }

    /// Keeps this much of a check's output (as Docker keeps 4 KiB in its health log).
    static let outputLimit = 4096

    /// Runs `spec` (the container's own spec, with the check's arguments) in `container`,
    /// killing it after `timeout` seconds.
    public static func run(_ spec: ContainerSpec, in container: ContainerProcess, cgroup: Cgroup?, timeout: Int) async -> Result {
        var p: [Int32] = [-1, -1]
        guard pipe(&p) == 0 else { return Result(passed: false, exitCode: nil, output: "pipe: \(SystemError("pipe"))") }
        _ = fcntl(p[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(p[1], F_SETFD, FD_CLOEXEC)
        let process: ContainerProcess
        do {
            process = try ContainerLauncher.exec(spec, in: container, cgroup: cgroup, stdout: p[1], stderr: p[1])
        } catch {
            close(p[0]); close(p[1])
            return Result(passed: false, exitCode: nil, output: "\(error)")
        }
        close(p[1])
        // Read concurrently: a check that prints more than a pipe holds must not block. The
        // read ends when every writer is gone, or shortly after the check itself ended: a
        // child it left behind (`sleep 60 &`, a curl outliving its killed shell) keeps the
        // pipe open, and the next check must not wait for it.
        let checkEnded = Mutex<ContinuousClock.Instant?>(nil)
        let reader = p[0]
        async let drained = onOwnThread { () -> [UInt8] in
            defer { close(reader) }
            var tail: [UInt8] = [], buf = [UInt8](repeating: 0, count: 8192)
            var pfd = pollfd(fd: reader, events: Int16(POLLIN), revents: 0)
            while true {
                if let end = checkEnded.withLock({ $0 }), ContinuousClock.now - end > .seconds(1) { break }
                let ready = poll(&pfd, 1, 100)
                if ready < 0 && errno != EINTR { break }
                if ready <= 0 { continue }
                let n = buf.withUnsafeMutableBytes { read(reader, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                tail += buf[0..<n]
                if tail.count > outputLimit { tail.removeFirst(tail.count - outputLimit) }
            }
            return tail
        }
        let timedOut = Mutex(false)
        let watchdog = Task {
            try await Task.sleep(for: .seconds(timeout))
            timedOut.withLock { $0 = true }
            process.signal(SIGKILL)
        }
        let status = await process.wait()
        checkEnded.withLock { $0 = .now }
        watchdog.cancel()
        let output = String(decoding: await drained, as: UTF8.self)
        if timedOut.withLock({ $0 }) {
            return Result(passed: false, exitCode: nil, output: "timed out after \(timeout) s" + (output.isEmpty ? "" : ": " + output))
        }
        return Result(passed: status.exited && status.value == 0, exitCode: status.code, output: output)
    }
}
