#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Foundation
import TaskRuntime

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Remove every stopped task (or those stopped before --until): their state and logs. Their bills and usage stay in the ledger.",
        discussion: "Asks first on a terminal; elsewhere it needs --force. Running tasks are never touched.")

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Only tasks stopped before this: an ISO-8601 time (2026-11-01T00:00:00Z) or a duration ago (24h, 7d).")
    var until: String?

    @Flag(name: [.short, .long], help: "Do not ask.")
    var force = false

    func run() async throws {
        let store = TaskStore(root: try global.stateRoot())
        let before: Date?
        do { before = try TimeArgument.parse(until, flag: "--until") } catch { throw badInput("\(error)") }
        let candidates = TaskRemoval.candidates(store: store, stoppedBefore: before)
        let count = candidates.count
        // The time itself: "before 7d" reads as a duration, not as when.
        let what = "the state and logs of \(count) stopped task\(count == 1 ? "" : "s")"
            + (before.map { " (stopped before \(ISO8601DateFormatter().string(from: $0)))" } ?? "")
        if count > 0, !force {
            guard isatty(0) == 1 else { throw badInput("prune would remove \(what): pass --force (standard input is not a terminal to ask on)") }
            writeOut(2, "This removes \(what) in \(store.root.path). Continue? [y/N] ")
            guard let answer = readLine(), ["y", "yes"].contains(answer.lowercased()) else { return }
        }
        let (removed, problems) = TaskRemoval.prune(store: store, candidates: candidates)
        for r in removed { print(r.id) }
        for p in problems { writeOut(2, "fargate-run: \(p)\n") }
        let bytes = removed.reduce(Int64(0)) { $0 + $1.bytes }
        writeOut(2, "removed \(removed.count) task\(removed.count == 1 ? "" : "s"), \(ProgressBoard.bytes(bytes))\n")
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
