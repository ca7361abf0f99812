import ArgumentParser
import TaskRuntime

struct Rm: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Remove stopped tasks: their state and logs. Their bills and usage stay in the ledger.",
        discussion: "A task that has not stopped is refused (fargate-run stop it first). Prints each removed task's id.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "Task ids, unique id prefixes, or ARNs.")
    var tasks: [String]

    func validate() throws {
        if tasks.isEmpty { throw ValidationError("name at least one task to remove") }
    }

    func run() async throws {
        let store = TaskStore(root: try global.stateRoot())
        var failed = false
        for task in tasks {
            do {
                let id = try store.find(task)
                try TaskRemoval.remove(id, store: store)
                print(id)
            } catch {
                writeOut(2, "fargate-run: \(error)\n")
                failed = true
            }
        }
        if failed { throw ExitCode(1) }
    }
}
