import ECSModel
import Foundation
import LinuxSupport
import Logging
@testable import TaskRuntime
import TestSupport
import Testing

/// `rm` and `prune`: only stopped tasks go, `prune --until` only those stopped before it, and
/// a removal cut short is finished. Tasks run through the fake backend, on a real directory.
struct TaskRemovalTests {
    let base = TaskRunnerTests()

    /// Runs a task to RUNNING; `finish` lets its containers exit.
    func started(in dir: TemporaryDirectory) async throws -> (id: String, finish: () async -> Void) {
        let backend = FakeTaskBackend()
        let r = try base.runner(try base.plan(#"[{"name": "app", "image": "x"}]"#), backend, in: dir)
        let done = Task { await r.run() }
        _ = await r.started()
        return (r.taskId, {
            for c in backend.running { backend.exit(c, code: 0) }
            _ = await done.value
        })
    }

    @Test func onlyStoppedTasksGoAndPruneTakesThoseStoppedBeforeItsTime() async throws {
        let dir = try TemporaryDirectory("fr-rm")
        defer { dir.remove() }
        let store = TaskStore(root: try StateRoot(path: dir.path + "/root"))
        var stopped: [String] = []
        for _ in 0..<3 {
            let t = try await started(in: dir)
            await t.finish()
            stopped.append(t.id)
        }
        let (old, recent, other) = (stopped[0], stopped[1], stopped[2])
        var state = try store.state(old)
        let twoDaysAgo = Date(timeIntervalSinceNow: -2 * 86_400)
        state.task.stoppedAt = ECS.Timestamp(twoDaysAgo)
        try store.writeFinal(state, id: old)
        // As it would be: its last state written as it stopped.
        try FileManager.default.setAttributes([.modificationDate: twoDaysAgo], ofItemAtPath: store.statePath(old))
        let live = try await started(in: dir)

        do { try TaskRemoval.remove(live.id, store: store); Issue.record("a running task was removed") } catch {
            #expect("\(error)".contains("stop it first"), "\(error)")
        }
        // A stopped task whose runner has not yet left the active list.
        try store.markActive(recent)
        do { try TaskRemoval.remove(recent, store: store); Issue.record("a finishing task was removed") } catch {
            #expect("\(error)".contains("still finishing"), "\(error)")
        }
        store.retire(recent)
        // One whose runner died between its last state and leaving the list is not finishing.
        var orphaned = try store.state(other)
        (orphaned.owner, orphaned.ownerPid) = (nil, Int32.max)
        try store.writeFinal(orphaned, id: other)
        try store.markActive(other)
        // What a removal killed midway leaves.
        let leftover = store.root.tasksDirectory + "/." + String(repeating: "a", count: 32) + ".rm"
        try FileManager.default.createDirectory(atPath: leftover + "/logs", withIntermediateDirectories: true)

        let day = TaskRemoval.prune(store: store, stoppedBefore: Date(timeIntervalSinceNow: -86_400))
        #expect(day.removed.map(\.id) == [old] && day.removed[0].bytes > 0 && day.problems.isEmpty, "\(day)")
        #expect(Set(store.ids()) == [recent, other, live.id])
        #expect(!FileSystem.exists(leftover), "a removal cut short is finished")

        let one = try TaskRemoval.remove(recent, store: store)
        #expect(one.id == recent && !FileSystem.exists(store.root.taskDirectory(recent)))
        let all = TaskRemoval.prune(store: store, stoppedBefore: nil)
        #expect(all.removed.map(\.id) == [other] && all.problems.isEmpty, "\(all)")
        #expect(!store.activeIds().contains(other), "its marker went with it")
        #expect(store.ids() == [live.id], "the running task stays")
        await live.finish()
        #expect(try store.state(live.id).isStopped)
    }

    /// A removal that cannot finish (a mount inside the directory) is tried at every pass of
    /// the host's pruner and logged once while it lasts; it goes once the mount has.
    @Test(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
    func aRemovalThatCannotFinishIsLoggedOnce() throws {
        let dir = try TemporaryDirectory("fr-rm")
        defer { dir.remove() }
        let store = TaskStore(root: try StateRoot(path: dir.path + "/root"))
        let stuck = store.root.tasksDirectory + "/." + String(repeating: "b", count: 32) + ".rm"
        try FileManager.default.createDirectory(atPath: stuck + "/logs", withIntermediateDirectories: true)
        let mounted = try run("/usr/bin/mount", ["-t", "tmpfs", "fr-rm-test", stuck + "/logs"])
        try #require(mounted.status == 0, "\(mounted.stderr)")
        defer { _ = try? run("/usr/bin/umount", [stuck + "/logs"]) }
        let pruner = StoppedTaskPruner(store: store, after: 60, logger: Logger(label: "test"))
        #expect(pruner.pass().count == 1, "logged at the first pass")
        #expect(pruner.pass().isEmpty && FileSystem.exists(stuck), "tried again, not logged again")
        _ = try run("/usr/bin/umount", [stuck + "/logs"])
        #expect(pruner.pass().isEmpty)
        #expect(!FileSystem.exists(stuck), "removed once it could be")
    }
}
