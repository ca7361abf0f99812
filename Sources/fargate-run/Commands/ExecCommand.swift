#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Sandbox
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

    @Argument(parsing: .captureForPassthrough, help: "The command and its arguments, after -- (-c, -i and -t may stand between the task and --).")
    var command: [String] = []

    func validate() throws {
        _ = try invocation()
    }

    func run() async throws {
        let asked = try invocation()
        let (store, id) = try global.locate(task)
        let name = try global.orExit { try TaskExec.container(asked.container, in: try store.state(id)) }
        // The command ends with this one (it dies with its parent, us): a signal ends both.
        for sig in [SIGINT, SIGTERM, SIGHUP] { signal(sig, SIG_DFL) }
        let status: Int32
        if asked.tty {
            status = try await runOnTerminal(id, name, asked.command, store, interactive: asked.interactive)
        } else {
            let (process, _) = try launched {
                try TaskExec.start(id, container: name, arguments: asked.command, store: store,
                                   stdio: .descriptors(stdin: asked.interactive ? 0 : nil, stdout: 1, stderr: 2))
            }
            status = await process.wait().code
        }
        if status != 0 { throw ExitCode(status) }
    }

    /// What the invocation asks for. exec's options may also stand between the task and `--`
    /// (`exec -it TASK -c app -- sh`, as in the README), where ArgumentParser's passthrough
    /// capture takes them for the command's words: they are read here. Words there that do not
    /// start with `-` are the command's own (`exec TASK ls -- -x`, or with no `--` at all,
    /// `exec TASK sh -c '...'`).
    func invocation() throws -> (container: String?, interactive: Bool, tty: Bool, command: [String]) {
        var (container, interactive, tty, words) = (self.container, self.interactive, self.tty, command)
        if let end = command.firstIndex(of: "--"), command.first != "--", command[0].hasPrefix("-") {
            var options = command[..<end]
            words = Array(command[end...])
            while let word = options.popFirst() {
                switch word {
                case "-i", "--interactive": interactive = true
                case "-t", "--tty": tty = true
                case "-it", "-ti": (interactive, tty) = (true, true)
                default:
                    let name: String?
                    if word == "-c" || word == "--container" {
                        name = options.popFirst()
                    } else if word.hasPrefix("--container=") {
                        name = String(word.dropFirst("--container=".count))
                    } else {
                        throw ValidationError("exec: '\(word)' cannot stand between the task and --: only -c/--container NAME, -i and -t can")
                    }
                    guard let name, !name.isEmpty, !name.hasPrefix("-") else { throw ValidationError("exec: \(word) needs a container's name") }
                    guard container == nil || container == name else {
                        throw ValidationError("exec: two containers are named (\(container!) and \(name)): give one")
                    }
                    container = name
                }
            }
        }
        if words.first == "--" { words.removeFirst() }
        guard let program = words.first else { throw ValidationError("no command: give it after the task, e.g. exec TASK -- sh") }
        guard !program.hasPrefix("-") else {
            throw ValidationError("exec: the command cannot start with '\(program)': exec's options go before --, e.g. exec TASK -c app -- sh")
        }
        return (container, interactive, tty, words)
    }

    /// `body`'s process; a command that cannot be run exits as a shell's would, and as `run`
    /// gives it for a container: 127 when it is not found, else 126.
    func launched<T>(_ body: () throws -> T) throws -> T {
        do {
            return try global.orExit(body)
        } catch SandboxError.spawn(let stage, let detail, let errno) where stage == "exec" {
            writeOut(2, "fargate-run: exec \(detail): \(String(cString: strerror(errno)))\n")
            throw ExitCode(errno == ENOENT ? 127 : 126)
        }
    }

    /// The command on a pseudoterminal of the container's, relayed to this terminal (raw, so
    /// keys reach it as typed), its window size following this one's.
    func runOnTerminal(_ id: String, _ name: String, _ arguments: [String], _ store: TaskStore, interactive: Bool) async throws -> Int32 {
        let (process, controller) = try launched {
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
