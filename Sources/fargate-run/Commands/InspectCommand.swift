import ArgumentParser
import Foundation
import TaskRuntime

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show how a running task's containers are isolated, read from /proc of the real processes.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task id, unique id prefix, or ARN.")
    var task: String

    @Option(name: .long, help: "text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let (store, id) = try global.locate(task)
        let report = try global.orExit { try TaskInspector.report(task: id, root: store.root) }
        writeOut(1, output == .json ? try JSONOutput.text(report) : TaskInspector.render(report))
    }
}
