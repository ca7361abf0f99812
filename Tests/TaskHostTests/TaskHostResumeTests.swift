import Foundation
import TaskHost
import TaskRuntime
import TestSupport
import Testing

struct TaskHostResumeTests {
    /// A new host removes what its predecessor, killed while starting tasks, left of them, and
    /// leaves a task that has no plan and no state (not a host's).
    @Test func tasksAKilledHostWasStartingAreRemovedAndOthersStay() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let root = try StateRoot(path: tmp.path + "/root")
        let half = try HalfStartedTasks(root: root.path)
        let host = try TaskHost(base: RunConfiguration(root: root), logger: .init(label: "test"))
        #expect(await host.resumeTasks().isEmpty)
        for id in half.hosts { #expect(HalfStartedTasks.present(id, root: root.path).isEmpty, "\(id.prefix(1)): \(HalfStartedTasks.present(id, root: root.path))") }
        #expect(HalfStartedTasks.present(half.notHosted, root: root.path) == ["active/" + half.notHosted, "tasks/" + half.notHosted])
    }
}
