#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ECSModel
import Foundation
import Metering
import TaskRuntime

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report", abstract: "Print the cost of the tasks in the ledger at Fargate prices, and how much of it was used.",
        discussion: """
            Without --group-by, one row per task. Costs in a window (--since/--until) or split by day or \
            hour are the task's cost for its billed seconds in them, exactly: rows add up to the total to \
            the nano-dollar. CPU and MEM are used ÷ requested (cost-weighted, as OpenCost computes it); \
            UNUSED is what was paid for and not used.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "table, csv, json, or cur (CUR 2.0 line items with split cost allocation data, one per task, hour and usage type).")
    var format: ReportFormat = .table

    @Option(name: .long, parsing: .singleValue,
            help: "Group by family, revision, service, cluster, started-by, group, day, hour or tag:KEY (repeat, or a comma-separated list).")
    var groupBy: [String] = []

    @Option(name: .long, help: "Only tasks of this family.")
    var family: String?

    @Option(name: .long, help: "From this time: ISO-8601 (2026-11-01T00:00:00Z) or a duration back from now (24h, 7d).")
    var since: String?

    @Option(name: .long, help: "Up to this time: ISO-8601 or a duration back from now.")
    var until: String?

    @Option(name: .long, parsing: .singleValue, help: "Add the cost at other prices: arm64, spot, savings-plan=PCT (repeat).")
    var priceAs: [String] = []

    @Option(name: .long, help: "A price file (JSON, see Docs/METERING.md) for the what-if prices instead of the built-in us-east-1 ones.")
    var prices: String?

    @Option(name: .long, help: "Also draw the cost over time, stacked by the group-by keys, as SVG to this file.")
    var plot: String?

    enum ReportFormat: String, ExpressibleByArgument, CaseIterable { case table, csv, json, cur }

    func run() async throws {
        let query: CostAllocation.Query
        let priceTable: PriceTable
        do {
            query = CostAllocation.Query(groupBy: try groupBy.flatMap(GroupKey.parseList), since: try TimeArgument.parse(since, flag: "--since"),
                                         until: try TimeArgument.parse(until, flag: "--until"), family: family,
                                         priceAs: try priceAs.map(WhatIfPrice.parse))
            try query.validate()
            if format == .cur, !query.groupBy.isEmpty {
                throw ReportError.badInput("--format cur writes one line item per task, hour and usage type; --group-by does not apply to it")
            }
            if format == .cur, !query.priceAs.isEmpty {
                throw ReportError.badInput("--format cur writes what was billed; --price-as does not apply to it")
            }
            priceTable = try prices.map(PriceTable.load) ?? .usEast1
        } catch let e as ReportError {
            throw badInput(e.description)
        } catch let e as MeteringError {
            throw badInput(e.description)
        }
        let root = try global.stateRoot()
        let ledger = try Ledger(path: root.ledgerPath)
        // Tags only where something shows them: a tag key, per-task JSON, CUR's resource_tags.
        let needsTags = query.groupBy.contains { if case .tag = $0 { true } else { false } } || format == .cur
            || (format == .json && query.groupBy.isEmpty)
        let records = try ledger.records(since: query.since, until: query.until, family: family, tags: needsTags)
        let used = format == .cur ? CURExport.query(since: query.since, until: query.until, family: family) : query
        let allocation = try priced { try CostReport.allocate(records, ledger: ledger, query: used, prices: priceTable) }
        writeOut(1, CostReport(allocation: allocation, prices: priceTable).render(CostReport.Format(rawValue: format.rawValue)!))
        if let plot {
            let span = Int64((records.map(\.billingEnd).max() ?? Date()).timeIntervalSince(records.map(\.billingStart).min() ?? Date()))
            let chart = try priced { try CostReport.allocate(records, ledger: ledger, query: CostAllocation.chartQuery(query, spanning: span), prices: priceTable) }
            try chart.costChart().write(toFile: plot, atomically: true, encoding: .utf8)
            writeOut(2, "fargate-run: wrote \(plot) (\(Set(chart.rows.map { $0.key.dropLast() }).count) series)\n")
        }
        let fates = GarbageCollector(root: root).openTaskFates(try ledger.openTasks())
        // A task that stopped while its state was read closed its bill first: asked again,
        // it is no longer open.
        let stillOpen = Set(try ledger.openTasks().map(\.taskArn))
        let (abandoned, unbillable) = (fates.abandoned.filter { stillOpen.contains($0.taskArn) }, fates.unbillable.filter { stillOpen.contains($0.taskArn) })
        if !fates.running.isEmpty {
            writeOut(2, "fargate-run: \(fates.running.count) running task(s) not in this report: each is billed when it stops\n")
        }
        if !abandoned.isEmpty {
            writeOut(2, "fargate-run: \(abandoned.count) task(s) started billing and never closed (their fargate-run was killed; fargate-run gc bills them): \(abandoned.map(\.taskArn).joined(separator: ", "))\n")
        }
        if !unbillable.isEmpty {
            writeOut(2, "fargate-run: \(unbillable.count) task(s) started billing and have stopped, or have no state, without a bill (the ledger could not be written as they stopped?): \(unbillable.map(\.taskArn).joined(separator: ", "))\n")
        }
    }
}

/// `body`'s result; prices it cannot find (a `--price-as` the price file has no rates for)
/// are a bad input, as the price file's other problems are.
func priced<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let e as MeteringError {
        if case .prices = e { throw badInput(e.description) }
        throw e
    }
}

/// A time on the command line: ISO-8601, or a duration back from now ("24h", "7d").
enum TimeArgument {
    static func parse(_ text: String?, flag: String, now: Date = Date()) throws -> Date? {
        guard let text else { return nil }
        if let d = ECS.Timestamp.parse(text) { return d }
        if let back = Advisor.parseDuration(text.hasPrefix("-") ? String(text.dropFirst()) : text) {
            return now.addingTimeInterval(-Double(back))
        }
        throw ReportError.badInput("\(flag) \"\(text)\" is neither an ISO-8601 time such as 2026-11-01T00:00:00Z nor a duration in seconds, minutes, hours or days such as 90s, 30m, 24h or 7d")
    }
}

/// A flag or file that cannot be used: its message on stderr, exit status 2 (a usage error).
func badInput(_ message: String) -> ExitCode {
    writeOut(2, "fargate-run: \(message)\n")
    return ExitCode(invalidInputExitCode)
}
