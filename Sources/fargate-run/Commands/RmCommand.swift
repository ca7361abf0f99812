import ArgumentParser
import TaskRuntime

struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove stopped tasks: their state and logs. Their bills and usage stay in the ledger.",
        discussion: """
            A task that has not stopped is refused unless --force stops it first, as fargate-run stop \
            does (its containers' stop signal, then SIGKILL after their stopTimeout). Prints each \
            removed task's id.
            """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task ids, unique id prefixes, or ARNs.")
    var tasks: [String]

    @Flag(name: .shortAndLong, help: "Stop a task that runs, then remove it.")
    var force = false

    func validate() throws {
        if tasks.isEmpty { throw ValidationError("name at least one task to remove") }
    }

    func run() async throws {
        let store = TaskStore(root: try global.stateRoot())
        var failed = false
        for task in tasks {
            do {
                let id = try store.find(task)
                if force { try await stop(id, store: store) }
                do {
                    try TaskRemoval.remove(id, store: store)
                } catch is TaskRemoval.Gone where force {
                    // A `run -d --rm` task: its host removed it as it stopped.
                }
                print(id)
            } catch {
                writeOut(2, "fargate-run: \(error)\n")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Stops task `id` if it runs (through its host if it is hosted), and waits until its
    /// runner is done with it (a task stopping by itself too).
    func stop(_ id: String, store: TaskStore) async throws {
        if let state = try? store.state(id), state.isRunning { try Stop.request(id, reason: "Task removed by user", store: store) }
        // Bounded: a container's stopTimeout is at most 120 s.
        guard try await TaskControl.waitUntilFinished(id, store: store, timeout: .seconds(300)) else {
            throw TaskRuntimeError(.unavailable, "task \(id) did not stop within 300 s: not removed")
        }
    }
}
