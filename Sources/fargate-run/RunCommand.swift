#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import ECSModel
import Foundation
import Logging
import Metering
import TaskRuntime

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json
}

/// Exit status for an invalid task definition (issue "task definitions": 2, like a usage error).
let invalidInputExitCode: Int32 = 2
/// Exit status when fargate-run itself fails, as `docker run` uses it.
let runtimeFailureExitCode: Int32 = 125

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a task definition until its essential containers exit.",
        discussion: """
            Exit status: 0 when every essential container exited 0, else the exit code of the \
            first essential container that stopped with a non-zero code; 2 for an invalid task \
            definition; 125 when fargate-run itself failed (image not found, kernel refusal...).
            SIGINT or SIGTERM stops the task (stopCode UserInitiated); a second one kills it.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task definition: RegisterTaskDefinition input or describe-task-definition output.")
    var taskDefinition: String

    @Option(name: .long, help: "text: container output on stdout. json: container output on stderr and only the final task description (as aws ecs describe-tasks prints it) on stdout.")
    var output: OutputFormat = .text

    @Option(name: .long, help: "Create task cgroups under this cgroup instead of the one fargate-run runs in.")
    var cgroupParent: String?

    @Option(name: .long, help: "A price file (JSON, see Docs/METERING.md) instead of the built-in us-east-1 prices.")
    var prices: String?

    @Flag(name: .shortAndLong, help: "No status lines or progress; container output and errors only.")
    var quiet = false

    @Option(name: .long, help: "Most processes and threads the whole task may have (fork bombs stop here).")
    var pidsLimit: Int64 = 4096

    func run() async throws {
        PhaseTiming.mark("main")
        global.bootstrapLogging()
        let logger = Logger(label: "fargate-run")
        let loaded: LoadedTaskDefinition
        let plan: TaskPlan
        let priceTable: PriceTable
        do {
            priceTable = try prices.map(PriceTable.load) ?? .usEast1
            loaded = try TaskDefinitionLoader.load(file: taskDefinition)
            plan = try TaskPlan(loaded, region: priceTable.region, account: "000000000000")
        } catch let e as TaskDefinitionError {
            var e = e
            e.file = taskDefinition
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(invalidInputExitCode)
        } catch {
            writeOut(2, "fargate-run: \(error)\n")
            throw ExitCode(runtimeFailureExitCode)
        }

        PhaseTiming.mark("definition loaded")
        let root: StateRoot
        do { root = try StateRoot(path: StateRoot.resolve(global.root)) } catch {
            writeOut(2, "fargate-run: state root: \(error)\n")
            throw ExitCode(runtimeFailureExitCode)
        }
        let console = Console(containerOut: output == .json ? 2 : 1, quiet: quiet, containerNames: plan.containers.map(\.name))
        for w in plan.warnings { console.warning(w) }
        let runner = TaskRunner(plan: plan, config: RunConfiguration(root: root, cgroupParent: cgroupParent, prices: priceTable, pidsLimit: pidsLimit),
                                sink: console, observer: console, logger: logger)

        // ^C once: stop the task as StopTask would. Twice: kill it.
        let signals = SignalForwarder { count, signal in
            if count == 1 {
                console.status("fargate-run: stopping task (\(signal == SIGINT ? "interrupt" : "terminate")); again to kill")
                runner.requestStop()
            } else {
                runner.forceStop()
            }
        }
        let result = await runner.run()
        signals.cancel()
        PhaseTiming.mark("runner done")

        if output == .json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            struct Described: Encodable { var tasks: [ECS.Task]; var failures: [String] = [] }
            let data = try enc.encode(Described(tasks: [result.task]))
            writeOut(1, String(decoding: data, as: UTF8.self) + "\n")
        }
        if let failure = result.failure {
            writeOut(2, "fargate-run: \(failure)\n")
        }
        if result.exitCode != 0 { throw ExitCode(result.exitCode) }
    }
}

/// Turns SIGINT and SIGTERM into calls, counting them.
final class SignalForwarder: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    init(_ handler: @escaping @Sendable (Int, Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [unowned self] in
                self.lock.lock()
                self.count += 1
                let n = self.count
                self.lock.unlock()
                handler(n, sig)
            }
            s.resume()
            sources.append(s)
        }
    }

    func cancel() {
        for s in sources { s.cancel() }
    }
}

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Check a task definition as ECS would for Fargate; start nothing.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task definition file.")
    var taskDefinition: String

    @Option(name: .long, help: "text or json (a list of {path, message} objects).")
    var output: OutputFormat = .text

    func run() async throws {
        do {
            let loaded = try TaskDefinitionLoader.load(file: taskDefinition)
            let plan = try TaskPlan(loaded, region: "us-east-1", account: "000000000000")
            if output == .json {
                print("[]")
            } else {
                let names = plan.containers.map { $0.name + ($0.essential ? "" : " (non-essential)") }
                print("\(plan.family):\(plan.revision) valid: \(plan.size), \(plan.containers.count) container\(plan.containers.count == 1 ? "" : "s"): \(names.joined(separator: ", "))")
            }
        } catch let e as TaskDefinitionError {
            var e = e
            e.file = taskDefinition
            if output == .json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try enc.encode(e.issues), as: UTF8.self))
            } else {
                writeOut(2, "fargate-run: \(e)\n")
            }
            throw ExitCode(invalidInputExitCode)
        }
    }
}

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the cost of the tasks in the ledger, at Fargate prices.")

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

struct Inspect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show how a running task's containers are isolated, read from /proc of the real processes.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task id, unique id prefix, or ARN.")
    var task: String

    @Option(name: .long, help: "text or json.")
    var output: OutputFormat = .text

    func run() async throws {
        let root = try StateRoot(path: StateRoot.resolve(global.root))
        do {
            let id = try TaskInspector.findTask(task, root: root)
            let report = try TaskInspector.report(task: id, root: root)
            if output == .json {
                let enc = JSONEncoder()
                enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try enc.encode(report), as: UTF8.self))
            } else {
                print(TaskInspector.render(report), terminator: "")
            }
        } catch let e as TaskInspector.NotFound {
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(1)
        }
    }
}
