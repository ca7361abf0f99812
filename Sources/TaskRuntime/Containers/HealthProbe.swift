#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Sandbox
import Synchronization

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
