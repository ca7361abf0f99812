import Foundation
import TaskHost
import TaskRuntime
import TestSupport
import Testing

struct TaskHostResumeTests {
    /// A new host removes what its predecessor, killed while starting tasks, left of them, and
    /// leaves a task that has no plan and no state (not a host's: gc, which a host runs at its
    /// start, takes that).
    @Test func tasksAKilledHostWasStartingAreRemovedAndOthersStay() async throws {
        let half = try HalfStartedTasks()
        defer { half.remove() }
        let host = try TaskHost(base: RunConfiguration(root: try StateRoot(path: half.root)), logger: .init(label: "test"))
        #expect(await host.resumeTasks().isEmpty, "none of them is a task to take over")
        #expect(half.hostsLeft().isEmpty, "\(half.hostsLeft())")
        #expect(half.notHostedIsWhole)
    }
}
