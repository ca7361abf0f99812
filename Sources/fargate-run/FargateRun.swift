#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import LinuxSupport
import Logging

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
        version: "0.1.0",
        subcommands: [Run.self, Validate.self, Report.self, Inspect.self, PS.self, Logs.self, Stop.self, GC.self, Images.self],
        defaultSubcommand: Run.self)

    static func main() async {
        FileSystem.ensureStandardDescriptors()
        // A closed output pipe (`fargate-run task.json | head`, a reader that died) must not
        // kill us in the middle of a task: writes fail with EPIPE instead and the task still
        // stops and cleans up. Containers reset every signal to its default.
        signal(SIGPIPE, SIG_IGN)
        do {
            if let request = QuickArguments.run(Array(CommandLine.arguments.dropFirst())) {
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

    @Option(name: .long, help: "Log level for fargate-run's own messages: trace, debug, info, notice, warning, error.")
    var logLevel: String = "warning"

    func bootstrapLogging() {
        GlobalOptions.bootstrapLogging(level: logLevel)
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
