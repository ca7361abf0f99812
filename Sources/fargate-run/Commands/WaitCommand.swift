import ArgumentParser
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
        // The host running a task says when it has stopped; otherwise its state is watched.
        if let state = try? store.state(id), state.isHosted, !state.isStopped, (try? HostClient(root: store.root).wait(id)) != nil {
        } else {
            try await TaskControl.waitUntilStopped(id, store: store)
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
