#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import LinuxSupport
import Synchronization
import TaskRuntime

/// Everything a running task prints: container lines prefixed with the container name (as
/// `docker compose up` does), task status changes, pull and unpack progress and warnings.
final class Console: LogSink, TaskObserver, Sendable {
    struct State {
        var prefixWidth = 0
        var colors: [String: String] = [:]
        /// Per task ARN: several tasks share the console with --count.
        var lastStatus: [String: String] = [:]
    }

    let containerOut: Int32
    let quiet: Bool
    let colored: Bool
    /// Whether stderr is a terminal: progress is redrawn in place there, plain lines otherwise.
    let interactive: Bool
    private let state = Mutex(State())
    let board: ProgressBoard

    static let palette = ["36", "33", "32", "35", "34", "31", "96", "93", "92", "95"]

    /// - Parameters:
    ///   - containerOut: fd for container lines (stdout, or stderr with --output json).
    init(containerOut: Int32, quiet: Bool, containerNames: [String]) {
        self.containerOut = containerOut
        self.quiet = quiet
        let dumb = ProcessEnvironment.value("TERM") == "dumb"
        colored = isatty(containerOut) == 1 && ProcessEnvironment.value("NO_COLOR") == nil && !dumb
        let terminal = isatty(2) == 1 && !dumb
        interactive = terminal
        board = ProgressBoard(interactive: terminal) { writeOut(2, $0) }
        state.withLock { s in
            s.prefixWidth = containerNames.map(\.count).max() ?? 0
            for (i, n) in containerNames.enumerated() { s.colors[n] = Console.palette[i % Console.palette.count] }
        }
    }

    func write(_ fd: Int32, _ s: String) { writeOut(fd, s) }

    /// "name | " padded to `width`, as `docker compose up` prefixes container lines.
    static func prefix(_ name: String, width: Int, color: String? = nil) -> String {
        let padded = name + String(repeating: " ", count: max(0, width - name.count))
        return color.map { "\u{1b}[\($0)m\(padded) |\u{1b}[0m " } ?? "\(padded) | "
    }

    /// Writes a line to stderr above the live progress block.
    func status(_ s: String) {
        board.clear()
        write(2, s + "\n")
        board.redrawIfNeeded(force: true)
    }

    // MARK: LogSink

    func line(container: String, stream: LogStream, text: String) {
        let (width, color) = state.withLock { ($0.prefixWidth, $0.colors[container] ?? "0") }
        let prefix = Console.prefix(container, width: width, color: colored ? color : nil)
        if interactive && containerOut == 2 {
            status(prefix + text)
        } else {
            write(containerOut, prefix + text + "\n")
        }
    }

    // MARK: TaskObserver

    func statusChanged(_ task: ECS.Task) {
        guard !quiet, let s = task.lastStatus else { return }
        let arn = task.taskArn ?? ""
        let changed = state.withLock { st -> Bool in
            defer { st.lastStatus[arn] = s }
            return st.lastStatus[arn] != s
        }
        guard changed else { return }
        let id = (task.taskArn ?? "").split(separator: "/").last.map { String($0.prefix(12)) } ?? ""
        var line = "fargate-run: task \(id) \(s)"
        if s == "STOPPED" {
            let reason = task.stoppedReason.map { ": \($0)" } ?? ""
            line += " (\(task.stopCode?.rawValue ?? "")\(reason))"
        }
        status(line)
    }

    func healthChanged(container: String, status health: HealthStatus, detail: String) {
        if health == .unhealthy {
            warning("container \(container) is UNHEALTHY\(detail.isEmpty ? "" : " (\(detail))")")
        } else if !quiet {
            status("fargate-run: container \(container) is \(health.rawValue)")
        }
    }

    func containerRestarted(container: String, exitCode: Int32, count: Int) {
        warning("container \(container) exited with \(exitCode); its restartPolicy started it again (restart \(count))")
    }

    func warning(_ message: String) {
        status("fargate-run: warning: \(message)")
    }

    func imageProgress(_ event: ImageProgress) {
        guard !quiet else { return }
        switch event {
        case .resolving(let ref):
            status("fargate-run: preparing image \(ref)")
        case .ready(let ref, let digest):
            status("fargate-run: image \(ref) ready (\(digest))")
        default:
            board.handle(event)
        }
    }
}

/// Writes all of `text` to fd 1 or 2. A reader that went away (EPIPE) loses the text; it never
/// takes fargate-run down with it (SIGPIPE is ignored).
func writeOut(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { _ = writeAll(fd, UnsafeRawBufferPointer($0)) }
}

/// Writes `bytes` as they are (a container's output need not be UTF-8); false once the
/// reader has gone (EPIPE) or the write failed otherwise.
@discardableResult
func writeOut(_ fd: Int32, bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBufferPointer { writeAll(fd, UnsafeRawBufferPointer($0)) }
}

private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
    var off = 0
    while off < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + off, bytes.count - off)
        if n < 0 { if errno == EINTR { continue }; return false }
        off += n
    }
    return true
}

/// Container lines of one of several copies of a task (--count): "web-2 | ...".
struct CopySink: LogSink {
    let base: any LogSink
    let copy: Int

    func line(container: String, stream: LogStream, text: String) {
        base.line(container: "\(container)-\(copy)", stream: stream, text: text)
    }
}
