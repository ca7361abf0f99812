import ArgumentParser
import Foundation
import TaskRuntime

struct PS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List the running tasks of the state root.")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "All tasks, stopped ones too.")
    var all = false

    func run() async throws {
        let store = TaskStore(root: try global.stateRoot())
        var rows: [[String]] = [["TASK", "FAMILY", "STATUS", "IP", "PORTS", "CONTAINERS", "CREATED"]]
        // A task that can be running has its active marker: without -a the stopped ones,
        // however many, are not read.
        for (id, s) in store.states(activeOnly: !all) {
            let running = s.isRunning
            guard all || running else { continue }
            let ports = s.network?.ports.map { "\($0.hostIP):\($0.hostPort)->\($0.containerPort)/\($0.proto)" }.joined(separator: ",") ?? ""
            let containers = (s.task.containers ?? []).map { "\($0.name ?? "?"):\($0.lastStatus ?? "?")" }.joined(separator: ",")
            let created = s.task.createdAt.map { ISO8601DateFormatter().string(from: $0.date) } ?? ""
            let status = running ? (s.task.lastStatus ?? "?") : (s.isStopped ? "STOPPED" : "DEAD (run gc)")
            rows.append([String(id.prefix(12)), s.billing.map { "\($0.family):\($0.revision)" } ?? "?", status,
                         s.network?.ip ?? "-", ports.isEmpty ? "-" : ports, containers, created])
        }
        writeOut(1, Table.render(rows))
    }
}
