import ArgumentParser
import TaskHost
import TaskRuntime

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
        let (store, id) = try global.locate(task)
        try global.orExit { try Stop.request(id, reason: reason, store: store) }
        print(id)
        if wait { try await TaskControl.waitUntilStopped(id, store: store) }
    }

    /// Asks whoever runs task `id` to stop it: the host running a hosted task, else the
    /// foreground fargate-run (SIGUSR1).
    static func request(_ id: String, reason: String, store: TaskStore) throws {
        if let state = try? store.state(id), state.isHosted, !state.isStopped {
            do { _ = try HostClient(root: store.root).stop(id, reason: reason) } catch let e as TaskRuntimeError { throw e } catch {
                throw TaskRuntimeError(.unavailable, "\(error)")
            }
        } else {
            try TaskControl.requestStop(id, reason: reason, store: store)
        }
    }
}
