#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import ECSModel
import Foundation
import LinuxSupport
import Images
import Logging
import Metering
import TaskNetwork
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
        commandName: "run",
        abstract: "Run a task definition until its essential containers exit.",
        discussion: """
            Exit status: 0 when every essential container exited 0, else the exit code of the \
            first essential container that stopped with a non-zero code, or 1 when an essential \
            container never started (a dependency failed or timed out); 2 for an invalid task \
            definition or inputs; 125 when fargate-run itself failed (image not found, kernel refusal...).
            SIGINT or SIGTERM stops the task (stopCode UserInitiated); a second one kills it.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task definition: RegisterTaskDefinition input or describe-task-definition output (JSON or YAML), a CloudFormation or CDK template, Terraform container_definitions or terraform show -json output.")
    var taskDefinition: String

    @Option(name: .long, help: "text: container output on stdout. json: container output on stderr and only the final task description (as aws ecs describe-tasks prints it) on stdout.")
    var output: OutputFormat = .text

    @Option(name: .long, help: "Create task cgroups under this cgroup instead of the one fargate-run runs in.")
    var cgroupParent: String?

    @Option(name: .long, help: "A price file (JSON, see Docs/METERING.md) instead of the built-in us-east-1 prices.")
    var prices: String?

    @Flag(name: .shortAndLong, help: "No status lines, notes or progress; container output, warnings and errors only.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Run the task through this root's host (fargate-run serve) and return once it is RUNNING, printing its id.")
    var detach = false

    @Flag(name: .customLong("rm"), help: "Remove the task's state and logs once it has stopped (its bill stays in the ledger), as docker run --rm.")
    var remove = false

    @Option(name: .long, help: "Most processes and threads the whole task may have (fork bombs stop here).")
    var pidsLimit: Int64 = 4096

    @OptionGroup var inputs: InputFlags

    @Option(name: .long, help: "Run this many copies of the task (1-10), as RunTask's count. Only the first publishes portMappings on the host.")
    var count: Int = 1

    @OptionGroup var network: NetworkFlags

    @OptionGroup var endpoint: EndpointFlags

    @OptionGroup var registry: RegistryFlags

    @OptionGroup var definition: DefinitionFlags

    func validate() throws {
        try RunRequest.validate(count: count)
    }

    /// What was asked, as plain values.
    var request: RunRequest {
        RunRequest(root: global.root, logLevel: global.logLevel ?? "warning", taskDefinition: taskDefinition, output: output,
                   cgroupParent: cgroupParent, prices: prices, quiet: quiet, pidsLimit: pidsLimit,
                   overrides: inputs.overrides, secrets: inputs.secrets, count: count, detach: detach, remove: remove,
                   network: network.settings, endpoint: endpoint.settings, registry: registry.settings, definition: definition.options)
    }

    func run() async throws {
        try await request.execute()
    }
}

/// Everything `run` was asked, as plain values: from ArgumentParser (`Run`) or, for the
/// common invocations, from `QuickArguments` without it.
struct RunRequest: Equatable {
    var root: String?
    var logLevel = "warning"
    var taskDefinition: String
    var output: OutputFormat = .text
    var cgroupParent: String?
    var prices: String?
    var quiet = false
    var pidsLimit: Int64 = 4096
    var overrides: String?
    var secrets: String?
    var count = 1
    var detach = false
    var remove = false
    var network = NetworkSettings()
    var endpoint = EndpointSettings()
    var registry = RegistrySettings()
    var definition = TaskDefinitionLoader.Options()

    static func validate(count: Int) throws {
        guard (1...10).contains(count) else { throw ValidationError("--count \(count): RunTask runs 1 to 10 copies") }
    }

    func execute() async throws {
        PhaseTiming.mark("main")
        if detach { return try executeDetached() }
        GlobalOptions.bootstrapLogging(level: logLevel)
        let logger = Logger(label: "fargate-run")
        let priceTable: PriceTable
        let prepared: PreparedTask
        do {
            priceTable = try prices.map(PriceTable.load) ?? .usEast1
            prepared = try TaskInputs.prepare(taskDefinition, definition: definition, overrides: overrides, secrets: secrets,
                                              region: priceTable.region, running: true)
        } catch {
            throw reportInputError(error, file: taskDefinition, json: output == .json)
        }
        let plan = prepared.plan

        PhaseTiming.mark("definition loaded")
        let root: StateRoot
        do { root = try StateRoot(path: StateRoot.resolve(self.root)) } catch {
            writeOut(2, "fargate-run: state root: \(error)\n")
            throw ExitCode(runtimeFailureExitCode)
        }
        let names = count == 1 ? plan.containers.map(\.name) : (1...count).flatMap { n in plan.containers.map { "\($0.name)-\(n)" } }
        let console = Console(containerOut: output == .json ? 2 : 1, quiet: quiet, containerNames: names)
        for w in plan.warnings {
            if w.severity == .note { if !quiet { console.status("fargate-run: note: \(w)") } } else { console.warning(w.description) }
        }
        // Tasks whose fargate-run died are cleaned up before a new one starts.
        let networkOptions = try network.options()
        for c in await GarbageCollector(root: root, prices: priceTable, network: networkOptions).collect() {
            console.warning("cleaned up task \(c.taskId.prefix(12)) left by a fargate-run that died: \(c.removed.joined(separator: ", "))")
            for p in c.problems { console.warning("task \(c.taskId.prefix(12)): \(p)") }
        }
        let client = try registry.client(repositoryCredentials: prepared.inputs.registryCredentials)
        // The run's tasks share one sampling loop.
        let sampler = UsageSampler(logger: logger)
        let metadata = try endpoint.server(logger: Logger(label: "fargate-run.metadata"))
        let runners = (1...count).map { n in
            var config = RunConfiguration(root: root, cgroupParent: cgroupParent, prices: priceTable, pidsLimit: pidsLimit,
                                          network: networkOptions, registry: client, pullPolicy: registry.pull)
            config.publishPorts = n == 1
            config.usageSampler = sampler
            config.endpoint = endpoint.configuration
            config.endpoints = metadata
            return TaskRunner(plan: plan, config: config, sink: count == 1 ? console as any LogSink : CopySink(base: console, copy: n),
                              observer: console, logger: logger)
        }
        if count > 1, plan.containers.contains(where: { !($0.definition.portMappings ?? []).isEmpty }) {
            console.warning("--count \(count): only the first task publishes its ports on the host; reach the others at their own IPs")
        }

        // ^C once: stop the tasks as StopTask would. Twice: kill them. SIGUSR1: `fargate-run
        // stop` left a request in a task's directory.
        let signals = SignalForwarder { n, signal in
            if signal == SIGUSR1 {
                for r in runners {
                    guard let reason = TaskControl.takeStopRequest(r.taskId, root: root) else { continue }
                    console.status("fargate-run: task \(r.taskId.prefix(12)) asked to stop (fargate-run stop)")
                    r.requestStop(code: .userInitiated, reason: reason.isEmpty ? "Task stopped by user" : reason)
                }
            } else if n == 1 {
                console.status("fargate-run: stopping \(runners.count == 1 ? "task" : "tasks") (\(signal == SIGINT ? "interrupt" : "terminate")); again to kill")
                for r in runners { r.requestStop() }
            } else {
                for r in runners { r.forceStop() }
            }
        }
        // The copies run at once, as RunTask starts them; results are kept in task order.
        let results = await withTaskGroup(of: (Int, TaskResult).self) { group in
            for (i, r) in runners.enumerated() { group.addTask { (i, await r.run()) } }
            var out: [(Int, TaskResult)] = []
            for await r in group { out.append(r) }
            return out.sorted { $0.0 < $1.0 }.map(\.1)
        }
        signals.cancel()
        sampler.stop()
        await client.shutdown()
        PhaseTiming.mark("runner done")

        if output == .json {
            struct Described: Encodable { var tasks: [ECS.Task]; var failures: [String] = [] }
            writeOut(1, try JSONOutput.text(Described(tasks: results.map(\.task))))
        }
        for r in results {
            if let failure = r.failure {
                writeOut(2, "fargate-run: \(failure)\n")
            } else if r.exitCode != 0, r.task.stopCode?.rawValue == "TaskFailedToStart", let why = r.task.stoppedReason {
                writeOut(2, "fargate-run: task failed to start: \(why)\n")
            }
        }
        if remove {
            let store = TaskStore(root: root)
            // (A run that failed before its first state has nothing to remove.)
            for r in runners where FileSystem.exists(store.statePath(r.taskId)) {
                do { try TaskRemoval.remove(r.taskId, store: store) } catch is TaskRemoval.Gone {} catch { console.warning("--rm: \(error)") }
            }
        }
        if let code = results.map(\.exitCode).first(where: { $0 != 0 }) { throw ExitCode(code) }
    }
}
