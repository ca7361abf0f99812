#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with posix_spawn, feeding it stdin and collecting stdout and
/// stderr. It waits for exactly the pid it started (never waitpid(-1)), so it cannot steal the
/// exit of a container that the runtime waits for through a pidfd.
public enum Subprocess {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: [UInt8]
        public var stderr: [UInt8]
        public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
        public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// - Parameters:
    ///   - environment: the complete environment ("KEY=value").
    public static func run(_ path: String, _ arguments: [String], environment: [String], stdin: [UInt8] = []) throws(SystemError) -> Result {
        var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
        guard pipe(&inPipe) == 0 else { throw SystemError("pipe") }
        guard pipe(&outPipe) == 0 else { close(inPipe[0]); close(inPipe[1]); throw SystemError("pipe") }
        guard pipe(&errPipe) == 0 else {
            for fd in inPipe + outPipe { close(fd) }
            throw SystemError("pipe")
        }
        // Our ends must not leak into this or any other child.
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        // Default signal handling in the child (we ignore SIGPIPE ourselves).
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        posix_spawnattr_setsigdefault(&attr, &defaults)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attr, &empty)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            for p in argv { free(p) }
            for p in envp { free(p) }
        }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, &attr, argv, envp)
        close(inPipe[0]); close(outPipe[1]); close(errPipe[1])
        guard rc == 0 else {
            close(inPipe[1]); close(outPipe[0]); close(errPipe[0])
            throw SystemError("posix_spawn", path: path, errno: rc)
        }
        // Write stdin while draining stdout and stderr, so no pipe can fill up and deadlock.
        var toWrite = stdin[...]
        var out: [UInt8] = [], err: [UInt8] = []
        var open: [Int32] = [outPipe[0], errPipe[0]]
        var inFd = inPipe[1]
        if toWrite.isEmpty { close(inFd); inFd = -1 } else { _ = fcntl(inFd, F_SETFL, O_NONBLOCK) }
        var buf = [UInt8](repeating: 0, count: 65536)
        while !open.isEmpty || inFd >= 0 {
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            if inFd >= 0 { fds.append(pollfd(fd: inFd, events: Int16(POLLOUT), revents: 0)) }
            if poll(&fds, nfds_t(fds.count), -1) < 0 {
                if errno == EINTR { continue }
                break
            }
            for p in fds where p.revents != 0 {
                if p.fd == inFd {
                    let n = toWrite.withUnsafeBytes { write(inFd, $0.baseAddress, $0.count) }
                    if n > 0 { toWrite = toWrite.dropFirst(n) }
                    if (n < 0 && errno != EAGAIN && errno != EINTR) || toWrite.isEmpty {
                        close(inFd)
                        inFd = -1
                    }
                    continue
                }
                let n = buf.withUnsafeMutableBytes { read(p.fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    if p.fd == outPipe[0] { out += buf[0..<n] } else { err += buf[0..<n] }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    close(p.fd)
                    open.removeAll { $0 == p.fd }
                }
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Result(status: code, stdout: out, stderr: err)
    }
}
