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

    @OptionGroup var inputs: InputFlags

    @Option(name: .long, help: "Run this many copies of the task (1-10), as RunTask's count. Only the first publishes portMappings on the host.")
    var count: Int = 1

    @OptionGroup var network: NetworkFlags

    @OptionGroup var registry: RegistryFlags

    func validate() throws {
        try RunRequest.validate(count: count)
    }

    /// What was asked, as plain values.
    var request: RunRequest {
        RunRequest(root: global.root, logLevel: global.logLevel, taskDefinition: taskDefinition, output: output,
                   cgroupParent: cgroupParent, prices: prices, quiet: quiet, pidsLimit: pidsLimit,
                   overrides: inputs.overrides, secrets: inputs.secrets, count: count,
                   network: network.settings, registry: registry.settings)
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
    var network = NetworkSettings()
    var registry = RegistrySettings()

    static func validate(count: Int) throws {
        guard (1...10).contains(count) else { throw ValidationError("--count \(count): RunTask runs 1 to 10 copies") }
    }

    func execute() async throws {
        PhaseTiming.mark("main")
        GlobalOptions.bootstrapLogging(level: logLevel)
        let logger = Logger(label: "fargate-run")
        let priceTable: PriceTable
        let prepared: PreparedTask
        do {
            priceTable = try prices.map(PriceTable.load) ?? .usEast1
            prepared = try InputFlags.prepare(taskDefinition, overrides: overrides, secrets: secrets, region: priceTable.region, running: true)
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
        for w in plan.warnings { console.warning(w) }
        // Tasks whose fargate-run died are cleaned up before a new one starts.
        let networkOptions = try network.options()
        for c in GarbageCollector(root: root, prices: priceTable, network: networkOptions).collect() {
            console.warning("cleaned up task \(c.taskId.prefix(12)) left by a fargate-run that died: \(c.removed.joined(separator: ", "))")
            for p in c.problems { console.warning("task \(c.taskId.prefix(12)): \(p)") }
        }
        let client = try registry.client(repositoryCredentials: prepared.inputs.registryCredentials)
        let runners = (1...count).map { n in
            var config = RunConfiguration(root: root, cgroupParent: cgroupParent, prices: priceTable, pidsLimit: pidsLimit,
                                          network: networkOptions, registry: client, pullPolicy: registry.pull)
            config.publishPorts = n == 1
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
                    let path = root.stopRequestPath(r.taskId)
                    guard let reason = try? FileSystem.readString(path) else { continue }
                    unlink(path)
                    console.status("fargate-run: task \(r.taskId.prefix(12)) asked to stop (fargate-run stop)")
                    r.requestStop(code: "UserInitiated", reason: reason.isEmpty ? "Task stopped by user" : reason)
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
        await client.shutdown()
        PhaseTiming.mark("runner done")

        if output == .json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            struct Described: Encodable { var tasks: [ECS.Task]; var failures: [String] = [] }
            let data = try enc.encode(Described(tasks: results.map(\.task)))
            writeOut(1, String(decoding: data, as: UTF8.self) + "\n")
        }
        for r in results {
            if let failure = r.failure {
                writeOut(2, "fargate-run: \(failure)\n")
            } else if r.exitCode != 0, r.task.stopCode?.rawValue == "TaskFailedToStart", let why = r.task.stoppedReason {
                writeOut(2, "fargate-run: task failed to start: \(why)\n")
            }
        }
        if let code = results.map(\.exitCode).first(where: { $0 != 0 }) { throw ExitCode(code) }
    }
}

/// A task plan with everything it takes from outside the definition resolved.
struct PreparedTask {
    var plan: TaskPlan
    var inputs: ResolvedInputs
}

/// --overrides and --secrets: what RunTask and the task's AWS resources supply.
struct InputFlags: ParsableArguments {
    @Option(name: .long, help: "RunTask overrides (TaskOverride): a file, or the JSON itself.")
    var overrides: String?

    @Option(name: .long, help: "A JSON file mapping each secret's valueFrom (and S3 environment file ARNs, repositoryCredentials) to its value. See Docs/TASK-DEFINITION.md.")
    var secrets: String?

    /// Loads, overrides, validates, and resolves secrets and environment files: every problem
    /// at once, before anything starts.
    /// - Parameter running: refuse what is valid on Fargate but cannot run here, and resolve
    ///   secrets and environment files even without --secrets (validate does that only with it).
    func prepare(_ file: String, region: String, running: Bool) throws -> PreparedTask {
        try InputFlags.prepare(file, overrides: overrides, secrets: secrets, region: region, running: running)
    }

    static func prepare(_ file: String, overrides: String?, secrets: String?, region: String, running: Bool) throws -> PreparedTask {
        var loaded = try TaskDefinitionLoader.load(file: file)
        if let overrides {
            let text: String
            if overrides.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
                text = overrides
            } else {
                guard let data = FileManager.default.contents(atPath: overrides) else {
                    throw LocalInputError(source: "--overrides", issues: [ValidationIssue("", "cannot read \(overrides): \(String(cString: strerror(errno)))")])
                }
                text = String(decoding: data, as: UTF8.self)
            }
            let (o, issues) = TaskOverrides.parse(text)
            TaskOverrides.apply(o, issues: issues, to: &loaded)
        }
        var plan = try TaskPlan(loaded, region: region, account: "000000000000")
        if running && !plan.unsupported.isEmpty {
            throw LocalInputError(source: "\(file) is valid on Fargate but cannot run here", issues: plan.unsupported)
        }
        guard running || secrets != nil else { return PreparedTask(plan: plan, inputs: ResolvedInputs()) }
        let store = try secrets.map { f throws(LocalInputError) in try SecretStore(file: f) }
        let dir = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        let inputs = try ResolvedInputs.resolve(plan, secrets: store, definitionDirectory: dir.isEmpty ? "/" : dir)
        plan.apply(inputs)
        return PreparedTask(plan: plan, inputs: inputs)
    }
}

/// Prints a problem with the input (every issue, or a list of {path, message} with json) and
/// returns the exit status to leave with: 2 for invalid input, 125 otherwise.
func reportInputError(_ error: any Error, file: String, json: Bool) -> ExitCode {
    var issues: [ValidationIssue]
    var text: String
    switch error {
    case var e as TaskDefinitionError:
        e.file = e.file ?? file
        issues = e.issues
        text = e.description
    case let e as LocalInputError:
        issues = e.issues
        text = e.description
    default:
        writeOut(2, "fargate-run: \(error)\n")
        return ExitCode(runtimeFailureExitCode)
    }
    if json {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        if let data = try? enc.encode(issues) { writeOut(1, String(decoding: data, as: UTF8.self) + "\n") }
    }
    writeOut(2, "fargate-run: \(text)\n")
    return ExitCode(invalidInputExitCode)
}

/// How tasks are connected: subnet, bridge, published ports, DNS, security groups.
extension NetworkOptions.Mode: ExpressibleByArgument {}

struct NetworkFlags: ParsableArguments {
    @Option(name: .customLong("network"), help: "awsvpc (default): the task gets its own IP through CNI. none: loopback only.")
    var mode: NetworkOptions.Mode = .awsvpc

    @Option(name: .long, help: "Task subnet (default 198.19.0.0/16, a block LANs and VPNs do not use).")
    var subnet: String = NetworkOptions().subnet

    @Option(name: .long, help: "Host bridge the tasks attach to.")
    var bridge: String = NetworkOptions().bridge

    @Flag(name: .long, help: "Do not masquerade traffic leaving the task subnet.")
    var noNat = false

    @Option(name: .long, help: "Host address published ports listen on (default 127.0.0.1).")
    var publishAddress: String = NetworkOptions().publishAddress

    @Option(name: .long, help: "A CNI conflist to use as is (e.g. macvlan onto the LAN) instead of fargate-run's bridge.")
    var networkConfig: String?

    @Option(name: .long, help: "DNS server for the containers (repeatable; default: the host's).")
    var dns: [String] = []

    @Option(name: .long, help: "Domain of the task hostname (default ec2.internal in us-east-1, REGION.compute.internal elsewhere).")
    var dnsDomain: String?

    @Option(name: .long, help: "Security group of the task (repeatable; default: default). Tasks sharing a group reach each other; others cannot.")
    var securityGroup: [String] = []

    var settings: NetworkSettings {
        NetworkSettings(mode: mode, subnet: subnet, bridge: bridge, noNat: noNat, publishAddress: publishAddress,
                        networkConfig: networkConfig, dns: dns, dnsDomain: dnsDomain, securityGroup: securityGroup)
    }
}

/// The network flags as plain values.
struct NetworkSettings: Equatable {
    var mode: NetworkOptions.Mode = .awsvpc
    var subnet = NetworkOptions().subnet
    var bridge = NetworkOptions().bridge
    var noNat = false
    var publishAddress = NetworkOptions().publishAddress
    var networkConfig: String?
    var dns: [String] = []
    var dnsDomain: String?
    var securityGroup: [String] = []

    func options() throws -> NetworkOptions {
        var o = NetworkOptions()
        o.mode = mode
        o.subnet = subnet
        o.bridge = bridge
        o.outboundNAT = !noNat
        o.publishAddress = publishAddress
        o.conflistPath = networkConfig
        o.dnsServers = dns
        o.dnsDomain = dnsDomain
        if !securityGroup.isEmpty { o.securityGroups = securityGroup }
        // Checked by hand: Foundation's regular expressions are ICU's, and compiling three
        // cost about 1.5 ms of every start.
        let cidr = subnet.split(separator: "/", omittingEmptySubsequences: false)
        guard cidr.count == 2, NetworkSettings.isIPv4(cidr[0]), let bits = Int(cidr[1]), (0...32).contains(bits) else {
            throw ValidationError("--subnet \"\(subnet)\" is not an IPv4 CIDR such as 198.19.0.0/16")
        }
        guard NetworkSettings.isIPv4(Substring(publishAddress)) else {
            throw ValidationError("--publish-address \"\(publishAddress)\" is not an IPv4 address")
        }
        guard (1...15).contains(bridge.utf8.count),
              bridge.utf8.allSatisfy({ $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw ValidationError("--bridge \"\(bridge)\" is not an interface name (1-15 of A-Z a-z 0-9 _ . -)")
        }
        return o
    }

    /// Dotted decimal, four parts of 0-255.
    static func isIPv4(_ s: Substring) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            (1...3).contains(p.utf8.count) && p.utf8.allSatisfy { (48...57).contains($0) } && Int(p)! <= 255
        }
    }
}

/// Turns SIGINT and SIGTERM into calls, counting them, and SIGUSR1 (`fargate-run stop`).
final class SignalForwarder: @unchecked Sendable {
    private var sources: [DispatchSourceSignal] = []
    private let lock = NSLock()
    private var count = 0

    /// `handler` gets how many SIGINT/SIGTERM arrived so far (1 for SIGUSR1) and the signal.
    init(_ handler: @escaping @Sendable (Int, Int32) -> Void) {
        for sig in [SIGINT, SIGTERM, SIGUSR1] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [unowned self] in
                if sig == SIGUSR1 { return handler(1, sig) }
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
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check a task definition as ECS would for Fargate; start nothing.",
                                                    discussion: "With --overrides, the definition as overridden; with --secrets, that every secret and environment file resolves.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task definition file.")
    var taskDefinition: String

    @Option(name: .long, help: "text or json (a list of {path, message} objects).")
    var output: OutputFormat = .text

    @OptionGroup var inputs: InputFlags

    @Option(name: .customLong("repeat"), help: "Validate this many times and print the time per validation (a benchmark).")
    var repetitions: Int = 1

    func run() async throws {
        let plan: TaskPlan
        do {
            plan = try inputs.prepare(taskDefinition, region: "us-east-1", running: false).plan
        } catch {
            throw reportInputError(error, file: taskDefinition, json: output == .json)
        }
        if repetitions > 1 {
            print(try benchmark())
            return
        }
        if output == .json {
            print("[]")
        } else {
            let names = plan.containers.map { $0.name + ($0.essential ? "" : " (non-essential)") }
            print("\(plan.family):\(plan.revision) valid: \(plan.size), \(plan.containers.count) container\(plan.containers.count == 1 ? "" : "s"): \(names.joined(separator: ", "))")
            for w in plan.warnings { writeOut(2, "fargate-run: warning: \(w)\n") }
            for u in plan.unsupported { writeOut(2, "fargate-run: warning: valid on Fargate, but `run` refuses it here: \(u)\n") }
        }
    }

    /// Reading, checking against the API model and Fargate's rules, from bytes in memory.
    func benchmark() throws -> String {
        guard let data = FileManager.default.contents(atPath: taskDefinition) else { throw ValidationError("cannot read \(taskDefinition)") }
        var issues = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repetitions {
            issues += try TaskDefinitionLoader.load(data: data).allIssues.count
        }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(repetitions)
        return "\(repetitions) validations of \(taskDefinition) (\(data.count) bytes): \(String(format: "%.1f", ns / 1000)) µs each, \(issues / repetitions) problems each"
    }
}

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

/// The state root and the task a command names (id, unique id prefix or ARN); a task that is
/// not there is reported and ends the command with status 1.
func locateTask(_ query: String, _ global: GlobalOptions) throws -> (StateRoot, String) {
    let root = try StateRoot(path: StateRoot.resolve(global.root))
    do {
        return (root, try TaskInspector.findTask(query, root: root))
    } catch let e as TaskInspector.NotFound {
        writeOut(2, "fargate-run: \(e)\n")
        throw ExitCode(1)
    }
}

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
        let (root, id) = try locateTask(task, global)
        do {
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

struct Stop: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop a running task as StopTask does: its containers get their stop signal, then SIGKILL after their stopTimeout.",
        discussion: "The fargate-run running the task does the stopping; with --count, only this copy stops.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task id, unique id prefix, or ARN.")
    var task: String

    @Option(name: .long, help: "The task's stoppedReason (StopTask's reason).")
    var reason: String = "Task stopped by user"

    @Flag(name: .long, help: "Wait until the task has stopped and its resources are gone.")
    var wait = false

    func run() async throws {
        let (root, id) = try locateTask(task, global)
        let state: TaskState
        do {
            state = try TaskInspector.state(id, root: root)
        } catch let e as TaskInspector.NotFound {
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(1)
        }
        guard state.isRunning else {
            writeOut(2, "fargate-run: task \(id) is not running\(state.task.lastStatus == "STOPPED" ? " (STOPPED)" : "; its fargate-run is gone (fargate-run gc cleans up)")\n")
            throw ExitCode(1)
        }
        try FileSystem.writeAtomically(root.stopRequestPath(id), Array(reason.prefix(1024).utf8), durable: false)
        guard kill(state.ownerPid, SIGUSR1) == 0 else {
            let e = errno
            unlink(root.stopRequestPath(id))
            writeOut(2, "fargate-run: cannot signal fargate-run (pid \(state.ownerPid)) running task \(id): \(String(cString: strerror(e)))\n")
            throw ExitCode(1)
        }
        print(id)
        guard wait else { return }
        // The state says STOPPED once everything the task made is gone (the ledger record
        // follows a moment later), or its fargate-run has exited.
        while (try? TaskInspector.state(id, root: root))?.isRunning == true {
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}

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

    func run() async throws {
        let (root, id) = try locateTask(task, global)
        let state = try? TaskInspector.state(id, root: root)
        let known = (state?.task.containers ?? []).compactMap(\.name)
        var names = known
        if let container {
            guard known.contains(container) else {
                writeOut(2, "fargate-run: task \(id) has no container \(container); it has \(known.joined(separator: ", "))\n")
                throw ExitCode(1)
            }
            names = [container]
        }
        let width = names.map(\.count).max() ?? 0
        let followers = names.map { LogFollower(path: root.logDirectory(id) + "/" + $0 + ".log",
                                               prefix: container == nil ? Console.prefix($0, width: width) : "") }
        // A line still being written is finished later when following.
        for f in followers { f.printNew(untilEnd: !follow) }
        guard follow else { return }
        while (try? TaskInspector.state(id, root: root))?.isRunning == true {
            try await Task.sleep(for: .milliseconds(100))
            for f in followers { f.printNew(untilEnd: false) }
        }
        for f in followers { f.printNew(untilEnd: true) }
    }
}

/// Prints the lines appended to a log file since last time, each with a prefix; a line still
/// being written (no newline yet) waits unless the end is reached.
final class LogFollower {
    let path: String
    let prefix: String
    var offset: off_t = 0
    var partial: [UInt8] = []

    init(path: String, prefix: String) {
        self.path = path
        self.prefix = prefix
    }

    func printNew(untilEnd: Bool) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        var out: [UInt8] = []
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, offset) }
            if n <= 0 { break }
            offset += off_t(n)
            for b in buf[0..<n] {
                partial.append(b)
                if b == UInt8(ascii: "\n") {
                    out += Array(prefix.utf8) + partial
                    partial.removeAll(keepingCapacity: true)
                }
            }
        }
        if untilEnd && !partial.isEmpty {
            out += Array(prefix.utf8) + partial + [UInt8(ascii: "\n")]
            partial.removeAll()
        }
        if !out.isEmpty { writeOut(1, String(decoding: out, as: UTF8.self)) }
    }
}

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Clean up tasks whose fargate-run died: processes, network, namespace, cgroups; bill them. `run` does this too.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let root = try StateRoot(path: StateRoot.resolve(global.root))
        let collected = GarbageCollector(root: root).collect()
        if collected.isEmpty { print("nothing to clean up") }
        for c in collected {
            print("task \(c.taskId): removed \(c.removed.isEmpty ? "nothing" : c.removed.joined(separator: ", "))")
            for p in c.problems { writeOut(2, "fargate-run: task \(c.taskId): \(p)\n") }
        }
    }
}

struct PS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the running tasks of the state root.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "All tasks, stopped ones too.")
    var all = false

    func run() async throws {
        let root = try StateRoot(path: StateRoot.resolve(global.root))
        let ids = (try? FileManager.default.contentsOfDirectory(atPath: root.tasksDirectory)) ?? []
        var rows: [[String]] = [["TASK", "FAMILY", "STATUS", "IP", "PORTS", "CONTAINERS", "CREATED"]]
        var states = ids.compactMap { id in (try? TaskInspector.state(id, root: root)).map { (id, $0) } }
        states.sort { ($0.1.task.createdAt?.date ?? .distantPast) > ($1.1.task.createdAt?.date ?? .distantPast) }
        for (id, s) in states {
            let running = s.isRunning
            guard all || running else { continue }
            let ports = s.network?.ports.map { "\($0.hostIP):\($0.hostPort)->\($0.containerPort)/\($0.proto)" }.joined(separator: ",") ?? ""
            let containers = (s.task.containers ?? []).map { "\($0.name ?? "?"):\($0.lastStatus ?? "?")" }.joined(separator: ",")
            let created = s.task.createdAt.map { ISO8601DateFormatter().string(from: $0.date) } ?? ""
            rows.append([String(id.prefix(12)), s.billing.map { "\($0.family):\($0.revision)" } ?? "?",
                         running ? (s.task.lastStatus ?? "?") : (s.task.lastStatus == "STOPPED" ? "STOPPED" : "DEAD (run gc)"),
                         s.network?.ip ?? "-", ports.isEmpty ? "-" : ports, containers, created])
        }
        var widths = [Int](repeating: 0, count: rows[0].count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        for r in rows {
            print(r.enumerated().map { i, c in i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}

extension UInt8 {
    var isASCIILetterOrDigit: Bool { (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self) }
}
