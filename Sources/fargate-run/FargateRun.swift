#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import LinuxSupport
import Logging
import TaskRuntime

@main
struct FargateRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fargate-run",
        abstract: "Run Amazon ECS task definitions on this machine the way AWS Fargate does.",
        discussion: """
            fargate-run TASK.json is the same as fargate-run run TASK.json.
            State (images, layer snapshots, task state, logs, the ledger) lives in --root, \
            else $FARGATE_RUN_ROOT, else /var/lib/fargate-run.
            """,
        version: BuildInfo.versionLine,
        subcommands: [Run.self, Serve.self, Validate.self, Report.self, Usage.self, Advise.self, Inspect.self, PS.self, Logs.self, Exec.self,
                      Stats.self, Stop.self, Wait.self, Rm.self, Prune.self, GC.self, Images.self, Info.self, ServiceCommand.self],
        defaultSubcommand: Run.self)

    static func main() async {
        FileSystem.ensureStandardDescriptors()
        // A closed output pipe (`fargate-run task.json | head`, a reader that died) must not
        // kill us in the middle of a task: writes fail with EPIPE instead and the task still
        // stops and cleans up. Containers reset every signal to its default.
        signal(SIGPIPE, SIG_IGN)
        do {
            let arguments = Array(CommandLine.arguments.dropFirst())
            if let (root, task) = QuickArguments.wait(arguments), let status = Wait.throughHost(root: root, task: task) {
                Glibc.exit(status)
            }
            if let request = QuickArguments.run(arguments) {
                try await request.execute()
                return
            }
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "State root (default: $FARGATE_RUN_ROOT or /var/lib/fargate-run).")
    var root: String?

    @Option(name: .long, help: "Log level for fargate-run's own messages: trace, debug, info, notice, warning, error, critical (default: warning; serve: info).")
    var logLevel: String?

    func validate() throws {
        if let logLevel, Logger.Level(rawValue: logLevel) == nil {
            throw ValidationError("--log-level \(logLevel): use one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Logging at the level asked for, else at `level`.
    func bootstrapLogging(default level: Logger.Level = .warning) {
        GlobalOptions.bootstrapLogging(level: logLevel ?? level.rawValue)
    }

    /// The state root these options name (made if missing).
    func stateRoot() throws -> StateRoot {
        try StateRoot(path: StateRoot.resolve(root))
    }

    /// The task a command names (id, unique id prefix or ARN); one that is not there is
    /// reported and ends the command with status 1.
    func locate(_ query: String) throws -> (TaskStore, String) {
        let store = TaskStore(root: try stateRoot())
        return (store, try orExit { try store.find(query) })
    }

    /// `body`'s result; a task that is not there, or not in a state for it, is reported on
    /// stderr and ends the command with status 1.
    @discardableResult
    func orExit<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let e as TaskStore.NotFound {
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(1)
        } catch let e as TaskRuntimeError {
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(1)
        }
    }

    static func bootstrapLogging(level name: String) {
        let level = Logger.Level(rawValue: name) ?? .warning
        LoggingSystem.bootstrap { label in
            var h = StderrLogHandler(label: label)
            h.logLevel = level
            return h
        }
    }
}
