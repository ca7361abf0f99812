#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import Metering
import TaskRuntime

struct Advise: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advise", abstract: "Recommend task and container sizes per family or service from what the tasks used.",
        discussion: """
            In Compute Optimizer's terms: a finding (Optimized, Underprovisioned, Overprovisioned) with \
            its reasons, the smallest valid Fargate size whose vCPU holds the p99 of CPU at 80 % and whose \
            memory holds the p99 at 80 % and the largest seen plus 10 %, and the monthly saving at the \
            current run rate. A family or service with less sampled task time than --min-data gets no advice.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only this task family.")
    var family: String?

    @Option(name: .long, help: "Only this service (tasks whose group is service:NAME).")
    var service: String?

    @Option(name: .long, help: "Look back to this time: ISO-8601 or a duration (14d, the default, as Compute Optimizer).")
    var since: String = "14d"

    @Option(name: .long, help: "Sampled task time needed for advice (24h, as Compute Optimizer; 30m, 90s...).")
    var minData: String = "24h"

    @Option(name: .long, help: "A price file for the savings (Docs/METERING.md).")
    var prices: String?

    @Option(name: .long, help: "table or json (shaped like Compute Optimizer's ECS service recommendations).")
    var format: AdviseFormat = .table

    enum AdviseFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

    func run() async throws {
        var options = Advisor.Options(family: family, service: service)
        let priceTable: PriceTable
        do {
            options.since = try TimeArgument.parse(since, flag: "--since")
            guard let minimum = Advisor.parseDuration(minData) else {
                throw ReportError.badInput("--min-data \"\(minData)\" is not a duration such as 24h, 30m or 90s")
            }
            options.minimumData = minimum
            priceTable = try prices.map(PriceTable.load) ?? .usEast1
        } catch let e as ReportError {
            throw badInput(e.description)
        } catch let e as MeteringError {
            throw badInput(e.description)
        }
        let ledger = try Ledger(path: try global.stateRoot().ledgerPath)
        let advice = try Advisor(ledger: ledger, prices: priceTable, options: options)
        if advice.recommendations.isEmpty {
            writeOut(2, "fargate-run: no sampled tasks\(family.map { " of family \($0)" } ?? "")\(service.map { " of service \($0)" } ?? "") since \(since)\n")
        }
        writeOut(1, format == .json ? advice.json() : advice.table())
    }
}
