#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Metering
import TaskRuntime

struct Usage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Show what a task used, second by second, per container, against what it requested.",
        discussion: """
            CPU as a share of the task's vCPU (mean and p95), memory in use without page cache (as the \
            ECS agent counts it) and the kernel's peak as a share of the task's memory, network, block \
            I/O and pids. Running tasks show what has been sampled so far.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task: its id, a unique prefix of it, or its ARN.")
    var task: String

    @Option(name: .long, help: "table, csv (every sample) or json.")
    var format: UsageFormat = .table

    @Option(name: .long, help: "Seconds per timeline row in the table (default: about 30 rows per container).")
    var step: Int64 = 0

    @Option(name: .long, help: "Also draw CPU and memory over time against the request, as SVG to this file.")
    var plot: String?

    enum UsageFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    func run() async throws {
        let root = try global.stateRoot()
        let ledger = try Ledger(path: root.ledgerPath)
        guard let sampled = try ledger.sampledTask(task) else {
            writeOut(2, "fargate-run: no usage samples of a task \"\(task)\" in \(root.ledgerPath) (tasks are sampled once RUNNING)\n")
            throw ExitCode(1)
        }
        let record = try ledger.record(sampled.task.taskArn)
        let report = UsageReport(task: sampled.task, samples: try ledger.samples(of: sampled), record: record)
        switch format {
        case .table: writeOut(1, report.table(step: step))
        case .csv: writeOut(1, report.csv())
        case .json: writeOut(1, report.json())
        }
        if let plot {
            try report.svg().write(toFile: plot, atomically: true, encoding: .utf8)
            writeOut(2, "fargate-run: wrote \(plot)\n")
        }
    }
}
