import ArgumentParser
import TaskRuntime

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Clean up tasks whose fargate-run died: processes, network, namespace, cgroups; bill them. `run` does this too.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let collected = await GarbageCollector(root: try global.stateRoot()).collect()
        if collected.isEmpty { print("nothing to clean up") }
        for c in collected {
            print("task \(c.taskId): removed \(c.removed.isEmpty ? "nothing" : c.removed.joined(separator: ", "))")
            for p in c.problems { writeOut(2, "fargate-run: task \(c.taskId): \(p)\n") }
        }
    }
}
