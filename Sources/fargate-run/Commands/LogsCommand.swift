import ArgumentParser
import Foundation
import TaskRuntime

struct Logs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print a task's container output, kept under the state root (running or stopped tasks).",
        discussion: "Each line is prefixed with its container's name unless --container picks one.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task id, unique id prefix, or ARN.")
    var task: String

    @Option(name: .shortAndLong, help: "Only this container.")
    var container: String?

    @Flag(name: .shortAndLong, help: "Keep printing new output until the task stops.")
    var follow = false

    @Option(name: .shortAndLong, help: "Only the last N lines of each container's output (then, with --follow, what comes).")
    var tail: Int?

    func validate() throws {
        if let tail, tail < 0 { throw ValidationError("--tail \(tail): give a number of lines, 0 or more") }
    }

    func run() async throws {
        let (store, id) = try global.locate(task)
        let known = ((try? store.state(id))?.task.containers ?? []).compactMap(\.name)
        var names = known
        if let container {
            guard known.contains(container) else {
                writeOut(2, "fargate-run: task \(id) has no container \(container); it has \(known.joined(separator: ", "))\n")
                throw ExitCode(1)
            }
            names = [container]
        }
        let width = names.map(\.count).max() ?? 0
        let readers = names.map { LogReader(path: store.root.logDirectory(id) + "/" + $0 + ".log",
                                            prefix: container == nil ? Console.prefix($0, width: width) : "") }
        for r in readers {
            if let tail { r.startAtLast(tail) }
            if !follow { r.stopAtCurrentEnd() }
        }
        // A piece of each container's new output in turn, until none has more. Whether the
        // output is still read (`logs | head` ends when head has had enough).
        func printNew(untilEnd: Bool) -> Bool {
            var more = true
            while more {
                more = false
                for r in readers {
                    let bytes = r.readNew(untilEnd: untilEnd)
                    guard !bytes.isEmpty else { continue }
                    guard writeOut(1, bytes: bytes) else { return false }
                    more = true
                }
            }
            return true
        }
        // A line still being written is finished later when following.
        guard printNew(untilEnd: !follow), follow else { return }
        while (try? store.state(id))?.isRunning == true {
            try await Task.sleep(for: .milliseconds(100))
            guard printNew(untilEnd: false) else { return }
        }
        _ = printNew(untilEnd: true)
    }
}
