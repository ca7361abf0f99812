#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ECSModel
import Foundation
import Metering
import TaskRuntime

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "Print the cost of the tasks in the ledger, at Fargate prices.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "table, csv or json.")
    var format: ReportFormat = .table

    @Option(name: .long, help: "Only tasks of this family.")
    var family: String?

    @Option(name: .long, help: "Only tasks that ended at or after this time (ISO-8601, e.g. 2026-11-01T00:00:00Z).")
    var since: String?

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json }

    func run() async throws {
        var sinceDate: Date?
        if let since {
            guard let d = ECS.Timestamp.parse(since) else {
                throw ValidationError("--since \"\(since)\" is not an ISO-8601 time such as 2026-11-01T00:00:00Z")
            }
            sinceDate = d
        }
        let root = try StateRoot(path: StateRoot.resolve(global.root))
        let ledger = try Ledger(path: root.ledgerPath)
        let report = CostReport(records: try ledger.records(since: sinceDate, family: family))
        writeOut(1, report.render(CostReport.Format(rawValue: format.rawValue)!))
        let open = try ledger.openTasks()
        if !open.isEmpty {
            writeOut(2, "fargate-run: \(open.count) task(s) started billing and never closed (fargate-run was killed?): \(open.map(\.taskArn).joined(separator: ", "))\n")
        }
    }
}
