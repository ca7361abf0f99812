#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Sandbox
import TaskRuntime

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show running tasks' containers' CPU, memory, network, block I/O and pids, live, as docker stats does.",
        discussion: "CPU % is of one CPU. Network I/O is the task's (its containers share one interface). Block I/O needs cgroup v2 (io), or blkio in a managed v1 hierarchy.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task ids, unique id prefixes or ARNs (default: every running task).")
    var tasks: [String] = []

    @Flag(name: .long, help: "Print one reading and exit.")
    var noStream = false

    @Option(name: .long, help: "text (a table) or json (one reading; with json, --no-stream is implied).")
    var format: OutputFormat = .text

    struct Row: Codable {
        var task: String
        var container: String
        var cpuPercent: Double
        var memoryBytes: UInt64
        var memoryLimitBytes: UInt64?
        var memoryPercent: Double?
        var networkReceivedBytes: UInt64
        var networkSentBytes: UInt64
        var blockReadBytes: UInt64
        var blockWrittenBytes: UInt64
        var pids: UInt64
    }

    func run() async throws {
        let store = TaskStore(root: try global.stateRoot())
        var ids: [String] = []
        for t in tasks {
            let (_, id) = try global.locate(t)
            // A task named that has stopped has nothing to read: say so, as inspect does.
            // (One made a moment ago may have no state yet: read with the rest once it has.)
            if let state = try? store.state(id), state.isStopped {
                writeOut(2, "fargate-run: task \(id) is not running (last status \(state.task.lastStatus ?? "unknown"))\n")
                throw ExitCode(1)
            }
            ids.append(id)
        }
        let host = try CgroupHost.probe()
        func read() -> [String: ContainerUsage] {
            let chosen = ids.isEmpty ? store.activeIds() : ids
            var out: [String: ContainerUsage] = [:]
            for id in chosen {
                guard let state = try? store.state(id) else { continue }
                for u in TaskStats.read(id, state: state, host: host) { out[id + "/" + u.container] = u }
            }
            return out
        }
        let live = !noStream && format == .text && isatty(1) == 1
        var before = read()
        while true {
            try await Task.sleep(for: .milliseconds(live ? 1000 : 500))
            let after = read()
            let rows = after.keys.sorted().compactMap { key -> Row? in
                guard let a = after[key] else { return nil }
                let cpu = before[key].map { TaskStats.cpuPercent($0, a) } ?? 0
                return Row(task: String(a.task.prefix(12)), container: a.container, cpuPercent: cpu, memoryBytes: a.memoryBytes,
                           memoryLimitBytes: a.memoryLimitBytes,
                           memoryPercent: a.memoryLimitBytes.map { Double(a.memoryBytes) / Double(max($0, 1)) * 100 },
                           networkReceivedBytes: a.networkReceivedBytes, networkSentBytes: a.networkSentBytes,
                           blockReadBytes: a.blockReadBytes, blockWrittenBytes: a.blockWrittenBytes, pids: a.pids)
            }
            if format == .json {
                writeOut(1, try JSONOutput.text(rows))
                return
            }
            // Redrawn in place on a terminal, as docker stats does.
            writeOut(1, (live ? "\u{1b}[H\u{1b}[2J" : "") + Stats.table(rows))
            if !live { return }
            before = after
        }
    }

    static func table(_ rows: [Row]) -> String {
        var lines = [["TASK", "CONTAINER", "CPU %", "", "MEM USAGE / LIMIT", "MEM %", "", "NET I/O", "BLOCK I/O", "PIDS"]]
        for r in rows {
            lines.append([r.task, r.container, String(format: "%.2f%%", r.cpuPercent), bar(r.cpuPercent),
                          "\(ProgressBoard.bytes(Int64(r.memoryBytes))) / \(r.memoryLimitBytes.map { ProgressBoard.bytes(Int64($0)) } ?? "-")",
                          r.memoryPercent.map { String(format: "%.2f%%", $0) } ?? "-", bar(r.memoryPercent ?? 0),
                          "\(ProgressBoard.bytes(Int64(r.networkReceivedBytes))) / \(ProgressBoard.bytes(Int64(r.networkSentBytes)))",
                          "\(ProgressBoard.bytes(Int64(r.blockReadBytes))) / \(ProgressBoard.bytes(Int64(r.blockWrittenBytes)))",
                          "\(r.pids)"])
        }
        return Table.render(lines)
    }

    /// A ten-cell bar for a percentage (of one CPU, which may pass 100).
    static func bar(_ percent: Double) -> String {
        let cells = Int((min(max(percent, 0), 100) / 10).rounded())
        return String(repeating: "█", count: cells) + String(repeating: "·", count: 10 - cells)
    }
}
