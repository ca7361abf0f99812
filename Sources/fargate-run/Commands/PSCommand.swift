import ArgumentParser
import Foundation
import TaskRuntime

struct PS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ps", abstract: "List the running tasks of the state root.",
        discussion: "Newest first. -q prints whole task ids, one a line, for scripts: fargate-run rm $(fargate-run ps -aq --status STOPPED).")

    @OptionGroup var global: GlobalOptions

    @Flag(name: .shortAndLong, help: "All tasks, stopped ones too.")
    var all = false

    @Flag(name: .shortAndLong, help: "Only the task ids, whole, one a line.")
    var quiet = false

    @Flag(name: .long, help: "Whole task ids in the table (it shows their first 12 characters).")
    var noTrunc = false

    @Option(name: .long, help: "Only tasks in this status: an ECS lastStatus (PROVISIONING ... RUNNING ... STOPPED), or DEAD (-a is implied).")
    var status: String?

    @Option(name: .long, help: "text or json (an array of the rows, with whole ids, ARNs and exit codes).")
    var format: OutputFormat = .text

    /// What `--status` takes: the ECS lastStatus values, and DEAD.
    static let statuses = TaskStatus.allCases.map(\.rawValue) + ["DEAD"]

    /// A task as `--format json` prints it (a key whose value is not known is left out).
    struct Row: Codable {
        struct Container: Codable {
            var name: String
            var lastStatus: String?
            var exitCode: Int?
        }
        var id: String
        var taskArn: String?
        var family: String?
        var revision: Int?
        /// The task's lastStatus, or DEAD: the fargate-run or monitor keeping it died before
        /// it could record the end (`fargate-run gc` finishes it).
        var status: String
        var hosted: Bool
        var ip: String?
        var ports: [String]
        var containers: [Container]
        var createdAt: Date?
        var stoppedAt: Date?
        var stoppedReason: String?
    }

    func validate() throws {
        if quiet && format == .json { throw ValidationError("--quiet and --format json do not go together: pick one") }
        if let status, !PS.statuses.contains(status) {
            throw ValidationError("--status '\(status)' is not a task status: one of \(PS.statuses.joined(separator: ", "))")
        }
    }

    func run() async throws {
        let store = TaskStore(root: try global.stateRoot())
        let wanted = status
        // A task that has not stopped has its active marker: unless stopped ones are asked
        // for, however many there are, they are not read.
        let rows = store.states(activeOnly: !(all || wanted == "STOPPED")).compactMap { id, s -> Row? in
            let row = PS.row(id, s, running: s.isRunning)
            if let wanted { return row.status == wanted ? row : nil }
            return all || row.status != "STOPPED" && row.status != "DEAD" ? row : nil
        }
        if quiet {
            writeOut(1, rows.map { $0.id + "\n" }.joined())
        } else if format == .json {
            writeOut(1, try JSONOutput.text(rows))
        } else {
            var table: [[String]] = [["TASK", "FAMILY", "STATUS", "IP", "PORTS", "CONTAINERS", "CREATED"]]
            for r in rows {
                let containers = r.containers.map { "\($0.name):\($0.lastStatus ?? "?")" }.joined(separator: ",")
                table.append([noTrunc ? r.id : String(r.id.prefix(12)), r.family.map { "\($0):\(r.revision.map(String.init) ?? "?")" } ?? "?",
                              r.status == "DEAD" ? "DEAD (run gc)" : r.status, r.ip ?? "-", r.ports.isEmpty ? "-" : r.ports.joined(separator: ","), containers,
                              r.createdAt.map { ISO8601DateFormatter().string(from: $0) } ?? ""])
            }
            writeOut(1, Table.render(table))
        }
    }

    static func row(_ id: String, _ s: TaskState, running: Bool) -> Row {
        let status = running ? (s.task.lastStatus ?? "?") : (s.isStopped ? "STOPPED" : "DEAD")
        return Row(id: id, taskArn: s.task.taskArn, family: s.billing?.family, revision: s.billing?.revision,
                   status: status, hosted: s.isHosted, ip: s.network?.ip,
                   ports: s.network?.ports.map { "\($0.hostIP):\($0.hostPort)->\($0.containerPort)/\($0.proto)" } ?? [],
                   containers: (s.task.containers ?? []).map { Row.Container(name: $0.name ?? "?", lastStatus: $0.lastStatus, exitCode: $0.exitCode) },
                   createdAt: s.task.createdAt?.date, stoppedAt: s.task.stoppedAt?.date, stoppedReason: s.task.stoppedReason)
    }
}
