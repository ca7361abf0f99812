#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Images
import Synchronization

/// Pull and unpack progress. On a terminal: one line per layer in flight (bytes, rate, a bar)
/// and a total line, redrawn in place at most ten times a second; finished layers become
/// permanent lines above. Elsewhere: one plain line per finished layer.
final class ProgressBoard: Sendable {
    struct Layer {
        var digest: Digest
        var phase: String
        var done: Int64
        var total: Int64
        var started: Double
    }

    struct State {
        var layers: [String: Layer] = [:]
        var order: [String] = []
        var drawnLines = 0
        var lastDraw: Double = 0
    }

    let interactive: Bool
    let write: @Sendable (String) -> Void
    private let state = Mutex(State())

    init(interactive: Bool, write: @escaping @Sendable (String) -> Void) {
        self.interactive = interactive
        self.write = write
    }

    static func now() -> Double { Date().timeIntervalSince1970 }

    /// Erases the live block (before someone else prints a line).
    func clear() {
        guard interactive else { return }
        state.withLock { s in
            if s.drawnLines > 0 { write("\u{1b}[\(s.drawnLines)A\u{1b}[J") }
            s.drawnLines = 0
        }
    }

    func redrawIfNeeded(force: Bool = false) {
        guard interactive else { return }
        state.withLock { s in
            let t = ProgressBoard.now()
            if !force && t - s.lastDraw < 0.1 { return }
            s.lastDraw = t
            draw(&s)
        }
    }

    private func draw(_ s: inout State) {
        var out = s.drawnLines > 0 ? "\u{1b}[\(s.drawnLines)A\u{1b}[J" : ""
        let live = s.order.compactMap { s.layers[$0] }
        var done: Int64 = 0, total: Int64 = 0
        for l in live {
            done += l.done
            total += l.total
            let elapsed = max(ProgressBoard.now() - l.started, 0.001)
            out += "  \(l.digest.short) \(l.phase.padding(toLength: 9, withPad: " ", startingAt: 0)) \(ProgressBoard.bar(l.done, l.total, 20)) "
                + "\(ProgressBoard.bytes(l.done))/\(ProgressBoard.bytes(l.total)) \(ProgressBoard.bytes(Int64(Double(l.done) / elapsed)))/s\n"
        }
        if live.count > 1 { out += "  total     \(ProgressBoard.bar(done, total, 30)) \(ProgressBoard.bytes(done))/\(ProgressBoard.bytes(total))\n" }
        s.drawnLines = live.count + (live.count > 1 ? 1 : 0)
        write(out)
    }

    func handle(_ event: ImageProgress) {
        switch event {
        case .resolving, .ready:
            return
        case .fetching(let ref, let d, let done, let total), .unpacking(let ref, let d, let done, let total):
            let phase: String
            if case .fetching = event { phase = "pulling" } else { phase = "unpacking" }
            state.withLock { s in
                // A layer is unpacked while it downloads: one line for each.
                let key = ref + d.hex + " " + phase
                if var l = s.layers[key] {
                    l.done = done
                    l.total = max(total, done)
                    s.layers[key] = l
                } else {
                    s.layers[key] = Layer(digest: d, phase: phase, done: done, total: max(total, done), started: ProgressBoard.now())
                    s.order.append(key)
                }
            }
            redrawIfNeeded()
        case .layerReady(let ref, let d, let cached):
            let line = state.withLock { s -> String in
                let keys = ["pulling", "unpacking"].map { ref + d.hex + " " + $0 }
                let started = keys.compactMap { s.layers[$0]?.started }.min()
                let l = keys.compactMap { s.layers[$0] }.last
                for key in keys { s.layers.removeValue(forKey: key) }
                s.order.removeAll { keys.contains($0) }
                if cached { return "  \(d.short) already here" }
                guard let l, let started else { return "  \(d.short) ready" }
                let secs = ProgressBoard.now() - started
                return "  \(d.short) ready: \(ProgressBoard.bytes(l.total)) in \(String(format: "%.1f", secs)) s"
            }
            clear()
            write(line + "\n")
            redrawIfNeeded(force: true)
        }
    }

    static func bar(_ done: Int64, _ total: Int64, _ width: Int) -> String {
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
