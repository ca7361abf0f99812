#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import LinuxSupport
import TaskHost
import TaskRuntime

struct Wait: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "wait",
        abstract: "Wait until a task has stopped; exit with the status `run` would have given.",
        discussion: "Prints the task's stop code and reason. Works for tasks run by the host (run -d) and by a foreground fargate-run alike.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task id, unique id prefix, or ARN.")
    var task: String

    func run() async throws {
        let (store, id) = try global.locate(task)
        // The host running a task says when it has stopped, and how (its directory may be gone
        // by then: run -d --rm); otherwise its state is watched.
        if let state = try? store.state(id), state.isHosted, !state.isStopped, let status = Wait.throughHost(root: store.root.path, task: id) {
            if status != 0 { throw ExitCode(status) }
            return
        }
        try await TaskControl.waitUntilStopped(id, store: store)
        guard FileSystem.exists(store.root.taskDirectory(id)) else {
            writeOut(2, "fargate-run: task \(id) was removed as it stopped (run --rm): its exit status was not kept\n")
            throw ExitCode(runtimeFailureExitCode)
        }
        let state = try store.state(id)
        guard state.isStopped, let lifecycle = state.lifecycle else {
            writeOut(2, "fargate-run: task \(id) ended without a final state (its fargate-run died: fargate-run gc cleans up)\n")
            throw ExitCode(runtimeFailureExitCode)
        }
        print("\(state.task.stopCode?.rawValue ?? "-"): \(state.task.stoppedReason ?? "")")
        if lifecycle.exitCode != 0 { throw ExitCode(lifecycle.exitCode) }
    }
}

extension Wait {
    /// `wait` for a task the root's host runs, in one request and without ArgumentParser or
    /// the task's state file (most of a short command's time is the Swift runtime's first look
    /// at each type those use: Docs/PERFORMANCE.md). Prints what the full command prints and
    /// returns the exit status; nil when the host does not run the task (or none answers, or
    /// the id is not one task's), and the full command then answers, as before.
    static func throughHost(root: String?, task: String) -> Int32? {
        // A whole id is asked of the host as it is: a task run with --rm may be gone from the
        // root already, and the host still has its result.
        guard let root = try? StateRoot(path: StateRoot.resolve(root)),
              let id = TaskStore.isTaskId(task) ? task : try? TaskStore(root: root).find(task),
              let outcome = try? HostClient(root: root).waitOutcome(id) else { return nil }
        writeOut(1, "\(outcome.task.stopCode ?? "-"): \(outcome.task.stoppedReason ?? "")\n")
        return outcome.exitCode
    }
}
