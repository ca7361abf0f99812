#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import Synchronization
import TaskRuntime

/// Everything a running task prints: container lines prefixed with the container name (as
/// `docker compose up` does), task status changes, pull and unpack progress and warnings.
final class Console: LogSink, TaskObserver, Sendable {
    struct State {
        var prefixWidth = 0
        var colors: [String: String] = [:]
        var lastStatus: String?
        var progressLine: String?
        var lastProgressDraw: Double = 0
        var startedAt: [String: (Double, Int64)] = [:]
    }

    let containerOut: Int32
    let quiet: Bool
    let colored: Bool
    /// Whether stderr is a terminal: progress is redrawn in place there, plain lines otherwise.
    let interactive: Bool
    private let state = Mutex(State())

    static let palette = ["36", "33", "32", "35", "34", "31", "96", "93", "92", "95"]

    /// - Parameters:
    ///   - containerOut: fd for container lines (stdout, or stderr with --output json).
    init(containerOut: Int32, quiet: Bool, containerNames: [String]) {
        self.containerOut = containerOut
        self.quiet = quiet
        let env = ProcessInfo.processInfo.environment
        colored = isatty(containerOut) == 1 && env["NO_COLOR"] == nil && env["TERM"] != "dumb"
        interactive = isatty(2) == 1 && env["TERM"] != "dumb"
        state.withLock { s in
            s.prefixWidth = containerNames.map(\.count).max() ?? 0
            for (i, n) in containerNames.enumerated() { s.colors[n] = Console.palette[i % Console.palette.count] }
        }
    }

    static func timestamp() -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: Date())
    }

    func write(_ fd: Int32, _ s: String) { writeOut(fd, s) }

    /// Writes a line to stderr, first clearing an in-place progress line.
    func status(_ s: String) {
        state.withLock { st in
            if st.progressLine != nil && interactive {
                write(2, "\r\u{1b}[K")
                st.progressLine = nil
            }
        }
        write(2, s + "\n")
    }

    // MARK: LogSink

    func line(container: String, stream: LogStream, text: String) {
        let (width, color) = state.withLock { ($0.prefixWidth, $0.colors[container] ?? "0") }
        let name = container + String(repeating: " ", count: max(0, width - container.count))
        let prefix = colored ? "\u{1b}[\(color)m\(name) |\u{1b}[0m " : "\(name) | "
        if interactive && containerOut == 2 {
            status(prefix + text)
        } else {
            write(containerOut, prefix + text + "\n")
        }
    }

    // MARK: TaskObserver

    func statusChanged(_ task: ECS.Task) {
        guard !quiet, let s = task.lastStatus else { return }
        let changed = state.withLock { st -> Bool in
            defer { st.lastStatus = s }
            return st.lastStatus != s
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

    func warning(_ message: String) {
        status("fargate-run: warning: \(message)")
    }

    func imageProgress(_ event: ImageProgress) {
        guard !quiet else { return }
        switch event {
        case .resolving(let ref):
            status("fargate-run: preparing image \(ref)")
        case .fetching(_, let layer, let done, let total), .unpacking(_, let layer, let done, let total):
            let verb: String
            if case .fetching = event { verb = "pulling" } else { verb = "unpacking" }
            guard interactive else { return }
            let now = Date().timeIntervalSince1970
            let line = state.withLock { st -> String? in
                let key = verb + layer.hex
                if st.startedAt[key] == nil { st.startedAt[key] = (now, done) }
                // Redraw at most ten times a second; the terminal is not the bottleneck's place.
                if now - st.lastProgressDraw < 0.1 && done < total { return nil }
                st.lastProgressDraw = now
                let (t0, d0) = st.startedAt[key]!
                let rate = now > t0 ? Double(done - d0) / (now - t0) : 0
                let bar = Console.bar(done: done, total: total, width: 24)
                let l = "  \(layer.short) \(verb) \(bar) \(Console.bytes(done))/\(Console.bytes(total)) \(Console.bytes(Int64(rate)))/s"
                st.progressLine = l
                return l
            }
            if let line { write(2, "\r\u{1b}[K" + line) }
        case .layerReady(_, let layer, let cached):
            status("  \(layer.short) \(cached ? "already unpacked" : "unpacked")")
        case .ready(let ref, let digest):
            status("fargate-run: image \(ref) ready (\(digest))")
        }
    }

    static func bar(done: Int64, total: Int64, width: Int) -> String {
        guard total > 0 else { return "[" + String(repeating: " ", count: width) + "]" }
        let filled = min(width, Int(Double(done) / Double(total) * Double(width)))
        return "[" + String(repeating: "=", count: filled) + String(repeating: " ", count: width - filled) + "]"
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024 && i < units.count - 1 { v /= 1024; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}

/// Writes all of `text` to fd 1 or 2. A reader that went away (EPIPE) loses the text; it never
/// takes fargate-run down with it (SIGPIPE is ignored).
func writeOut(_ fd: Int32, _ text: String) {
    var bytes = Array(text.utf8)
    var off = 0
    while off < bytes.count {
        let n = bytes.withUnsafeMutableBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
        if n < 0 { if errno == EINTR { continue }; return }
        off += n
    }
}
