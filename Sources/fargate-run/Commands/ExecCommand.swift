#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import TaskRuntime

struct Exec: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "exec",
        abstract: "Run a command in a running task's container, as docker exec and ECS Exec do.",
        discussion: """
            The command runs with the container's isolation: its namespaces, cgroup, user, \
            working directory, capabilities, limits, seccomp filter and environment. The exit \
            status is the command's (128 + N when killed by signal N).
            """)

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "Keep stdin open: the command reads this terminal's input.")
    var interactive = false

    @Flag(name: .shortAndLong, help: "Give the command a terminal (a pty), as for a shell.")
    var tty = false

    @Option(name: .shortAndLong, help: "The container (needed when the task has several).")
    var container: String?

    @Argument(help: "Task id, unique id prefix, or ARN.")
    var task: String

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments (after --).")
    var command: [String] = []

    func run() async throws {
        let arguments = command.first == "--" ? Array(command.dropFirst()) : command
        guard !arguments.isEmpty else { throw ValidationError("no command: give it after the task, e.g. exec TASK -- sh") }
        let (store, id) = try global.locate(task)
        let name = try global.orExit { try TaskExec.container(container, in: try store.state(id)) }
        // The command ends with this one (it dies with its parent, us): a signal ends both.
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
        let status: Int32
        if tty {
            status = try await runOnTerminal(id, name, arguments, store)
        } else {
            let (process, _) = try global.orExit {
                try TaskExec.start(id, container: name, arguments: arguments, store: store,
                                   stdio: .descriptors(stdin: interactive ? 0 : nil, stdout: 1, stderr: 2))
            }
            status = await process.wait().code
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// The command on a pseudoterminal of the container's, relayed to this terminal (raw, so
    /// keys reach it as typed), its window size following this one's.
    func runOnTerminal(_ id: String, _ name: String, _ arguments: [String], _ store: TaskStore) async throws -> Int32 {
        let (process, controller) = try global.orExit {
            try TaskExec.start(id, container: name, arguments: arguments, store: store, stdio: .terminal)
        }
        let pty = Pseudoterminal(controller: controller!)
        pty.copyWindowSize(from: 0)
        let raw = interactive ? RawTerminal(fd: 0) : nil
        defer { raw?.restore() }
        let resize = DispatchSource.makeSignalSource(signal: SIGWINCH, queue: .global())
        signal(SIGWINCH, SIG_IGN)
        resize.setEventHandler { pty.copyWindowSize(from: 0) }
        resize.resume()
        defer { resize.cancel() }
        let relay = Task.detached { [interactive] in pty.relay(input: interactive ? 0 : nil, output: 1) }
        let status = await process.wait()
        await relay.value
        return status.code
    }
}

/// The controller end of the command's pseudoterminal, relayed to this terminal.
final class Pseudoterminal: Sendable {
    let controller: Int32

    init(controller: Int32) {
        self.controller = controller
    }

    func copyWindowSize(from fd: Int32) {
        var size = winsize()
        if ioctl(fd, UInt(TIOCGWINSZ), &size) == 0 { _ = ioctl(controller, UInt(TIOCSWINSZ), &size) }
    }

    /// Copies `input` to the terminal and the terminal to `output` until the command's side
    /// is closed (the command and everything it started have gone).
    func relay(input: Int32?, output: Int32) {
        var fds = [pollfd(fd: controller, events: Int16(POLLIN), revents: 0)]
        if let input { fds.append(pollfd(fd: input, events: Int16(POLLIN), revents: 0)) }
        var buf = [UInt8](repeating: 0, count: 16384)
        while true {
            if poll(&fds, nfds_t(fds.count), -1) < 0 { if errno == EINTR { continue }; return }
            if fds[0].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(controller, $0.baseAddress, $0.count) }
                if n <= 0 { return }  // EIO: no process has the terminal open any more
                Pseudoterminal.writeAll(output, buf, n)
            }
            if fds.count > 1, fds[1].revents != 0 {
                let n = buf.withUnsafeMutableBytes { read(fds[1].fd, $0.baseAddress, $0.count) }
                if n <= 0 { fds.removeLast() } else { Pseudoterminal.writeAll(controller, buf, n) }
            }
        }
    }

    static func writeAll(_ fd: Int32, _ buf: [UInt8], _ n: Int) {
        var off = 0
        while off < n {
            let w = buf.withUnsafeBytes { write(fd, $0.baseAddress! + off, n - off) }
            if w < 0 { if errno == EINTR { continue }; return }
            off += w
        }
    }

    deinit { close(controller) }
}

/// This terminal in raw mode until `restore`: keys go to the command as typed, ^C included.
final class RawTerminal {
    let fd: Int32
    var saved = termios()
    var active = false

    init?(fd: Int32) {
        self.fd = fd
        guard isatty(fd) == 1, tcgetattr(fd, &saved) == 0 else { return nil }
        var raw = saved
        cfmakeraw(&raw)
        active = tcsetattr(fd, TCSANOW, &raw) == 0
    }

    func restore() {
        if active { tcsetattr(fd, TCSANOW, &saved) }
        active = false
    }
}
