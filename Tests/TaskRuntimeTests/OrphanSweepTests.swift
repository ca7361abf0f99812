import Foundation
import LinuxSupport
@testable import TaskRuntime
import TestSupport
import Testing

/// The bookkeeping of `gc`'s machine-wide sweep of tasks whose state root is gone: the
/// machine's task records, when a recorded task counts as orphaned, and finding its cgroups.
/// (The sweep itself, on the real machine: NetworkTests.gcOfAnyRootRemovesWhatATaskOfADeletedRootLeft
/// and gcLeavesATaskItsFargateRunKeepsWhateverItsRoot.)
struct OrphanSweepTests {
    let a = String(repeating: "a1", count: 16), b = String(repeating: "b2", count: 16)

    @Test func tasksAreRecordedWithTheirRootAndOwnerAndRemoved() throws {
        let dir = try TemporaryDirectory("fr-tasks")
        defer { dir.remove() }
        let tasks = MachineTasks(directory: dir.path + "/tasks")
        try tasks.record(a, root: "/var/lib/one")
        try tasks.record(b, root: "/tmp/two")
        FileManager.default.createFile(atPath: tasks.directory + "/not-a-task", contents: Data("{}".utf8))
        #expect(tasks.all().map(\.id) == [a, b])
        #expect(tasks.all().first?.record == MachineTasks.Record(root: "/var/lib/one", owner: .current))
        tasks.remove(a)
        #expect(tasks.all().map(\.id) == [b])
        // A finished task's record names what its teardown left.
        try tasks.record(b, root: "/tmp/two", leftovers: ["removing cgroup: busy"])
        #expect(tasks.all().first?.record.leftovers == ["removing cgroup: busy"])
    }

    /// A run's claim records the task only when it made the marker: a hosted task's host made
    /// its marker, and recorded it then.
    @Test(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
    func aClaimRecordsOnlyAMarkerItMade() throws {
        let dir = try TemporaryDirectory("fr-claim")
        defer { dir.remove() }
        let store = TaskStore(root: try StateRoot(path: dir.path + "/root"))
        defer { store.retire(a); store.retire(b) }
        let machine = MachineTasks()
        let own = try store.claimActive(a)
        #expect(own.created && machine.all().contains { $0.id == a }, "a foreground run's own marker, recorded")
        own.release()
        try store.markActive(b)
        let recorded = try #require(try? Data(contentsOf: URL(fileURLWithPath: machine.directory + "/" + b)))
        var st = stat(), after = stat()
        #expect(stat(machine.directory + "/" + b, &st) == 0)
        let hosts = try store.claimActive(b)
        #expect(!hosts.created, "the host's marker")
        #expect(stat(machine.directory + "/" + b, &after) == 0 && after.st_ino == st.st_ino, "its record left as the host wrote it")
        #expect((try? Data(contentsOf: URL(fileURLWithPath: machine.directory + "/" + b))) == recorded)
        hosts.release()
    }

    @Test func aRecordMadeInOtherNamespacesIsNeverSwept() async throws {
        let dir = try TemporaryDirectory("fr-tasks")
        defer { dir.remove() }
        let tasks = MachineTasks(directory: dir.path + "/tasks")
        try FileManager.default.createDirectory(atPath: tasks.directory, withIntermediateDirectories: true)
        // A root that is gone and an owner that is not there, but in another mount namespace
        // (a private /tmp): the path may name a root that is there for its fargate-run.
        let other = MachineTasks.Record(root: dir.path + "/gone", owner: ProcessIdentity(pid: Int32.max, startTime: 1), namespaces: "mnt:1 pid:1")
        try JSONEncoder().encode(other).write(to: URL(fileURLWithPath: tasks.directory + "/" + a))
        #expect(await OrphanSweep(tasks: tasks).sweep().isEmpty)
        #expect(tasks.all().map(\.id) == [a], "left as it is")
        #expect(MachineTasks.namespaces()?.hasPrefix("mnt:") == true)
    }

    /// A task whose root is gone is left alone while the fargate-run that made it lives (it
    /// may be tearing the task down itself); once that one is gone, it is swept.
    @Test(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
    func aTaskWhoseFargateRunLivesIsNotSwept() async throws {
        let dir = try TemporaryDirectory("fr-tasks")
        defer { dir.remove() }
        let tasks = MachineTasks(directory: dir.path + "/tasks")
        try FileManager.default.createDirectory(atPath: tasks.directory, withIntermediateDirectories: true)
        let alive = MachineTasks.Record(root: dir.path + "/gone", owner: .current)
        let dead = MachineTasks.Record(root: dir.path + "/gone", owner: ProcessIdentity(pid: Int32.max, startTime: 1))
        try JSONEncoder().encode(alive).write(to: URL(fileURLWithPath: tasks.directory + "/" + a))
        try JSONEncoder().encode(dead).write(to: URL(fileURLWithPath: tasks.directory + "/" + b))
        let swept = await OrphanSweep(tasks: tasks).sweep()
        #expect(swept.map(\.task) == [b], "\(swept)")
        #expect(tasks.all().map(\.id) == [a], "the live one's record stays")
    }

    @Test func aTaskIsOrphanedOnlyWhenItsRootOrItsPlaceInItIsCertainlyGone() throws {
        let dir = try TemporaryDirectory("fr-tasks")
        defer { dir.remove() }
        let root = try StateRoot(path: dir.path + "/root")
        #expect(OrphanSweep.standing(of: a, in: dir.path + "/deleted") == .orphaned)
        #expect(OrphanSweep.standing(of: a, in: root.path) == .orphaned, "neither marker nor directory")
        FileManager.default.createFile(atPath: root.activeDirectory + "/" + a, contents: nil)
        #expect(OrphanSweep.standing(of: a, in: root.path) == .known, "a marker: its root's gc deals with it")
        try FileManager.default.createDirectory(atPath: root.taskDirectory(a), withIntermediateDirectories: true)
        #expect(OrphanSweep.standing(of: a, in: root.path) == .known)
        unlink(root.activeDirectory + "/" + a)
        #expect(OrphanSweep.standing(of: a, in: root.path) == .finished, "a directory and no marker: the record is left over")
        try FileManager.default.createDirectory(atPath: root.stagingDirectory(b), withIntermediateDirectories: true)
        #expect(OrphanSweep.standing(of: b, in: root.path) == .known, "a host's task being made")
        // Not ENOENT (a file where a directory should be): cannot tell, so not swept.
        FileManager.default.createFile(atPath: dir.path + "/file", contents: nil)
        #expect(OrphanSweep.standing(of: a, in: dir.path + "/file/root") == .unknown)
        #expect(!FileSystem.exists(dir.path + "/deleted"), "looking makes nothing")
    }

    @Test func aTasksCgroupsAreFoundWhereverTheyAreNested() throws {
        let dir = try TemporaryDirectory("fr-cgroups")
        defer { dir.remove() }
        for path in ["system.slice/job.service/fargate-run-\(a)/app", "fargate-run-\(b)/fargate-run-\(a)", "user.slice/fargate-run-\(a)-x"] {
            try FileManager.default.createDirectory(atPath: dir.path + "/" + path, withIntermediateDirectories: true)
        }
        var found: [String] = []
        OrphanSweep.find("fargate-run-\(a)", under: dir.path, depth: 16) { found.append($0) }
        #expect(found == [dir.path + "/system.slice/job.service/fargate-run-\(a)"], "not inside another task's cgroup, not a longer name")
    }
}
