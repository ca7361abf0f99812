import ArgumentParser
import TaskNetwork
import TaskRuntime

struct GC: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Clean up tasks whose fargate-run died: processes, network, namespace, cgroups; bill them. `run` does this too.",
        discussion: """
            Then, machine-wide, tasks of state roots since deleted whose fargate-run is gone, and what \
            a stopped task's own teardown could not remove: their processes, cgroups, network \
            namespace, address lease, firewall rules and port reservations; and the firewall rules \
            of networks a host that is gone kept between its tasks.
            """)

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let collected = await GarbageCollector(root: try global.stateRoot()).collect()
        for c in collected {
            print("task \(c.taskId): removed \(c.removed.isEmpty ? "nothing" : c.removed.joined(separator: ", "))")
            for p in c.problems { writeOut(2, "fargate-run: task \(c.taskId): \(p)\n") }
        }
        // Then what tasks of roots since deleted left on the machine, which no root's gc sees,
        // and what stopped tasks' teardowns could not remove.
        let orphans = await OrphanSweep().sweep()
        for o in orphans {
            let which = "task \(o.task) (of \(o.root), \(o.leftovers == nil ? "which is gone" : "stopped: what its teardown left"))"
            print("\(which): removed \(o.removed.isEmpty ? "nothing" : o.removed.joined(separator: ", "))")
            for p in o.problems { writeOut(2, "fargate-run: \(which): \(p)\n") }
        }
        // And networks a host that is gone kept in the firewall table between its tasks.
        var released: [String] = []
        do { released = try HostPolicy().release(keeper: nil) } catch {
            writeOut(2, "fargate-run: networks kept by a host that is gone: \(error)\n")
        }
        for name in released { print("network \(name) (kept by a fargate-run host that is gone): removed its firewall rules") }
        if collected.isEmpty && orphans.isEmpty && released.isEmpty { print("nothing to clean up") }
    }
}
