import Foundation
import LinuxSupport
@testable import TaskRuntime
import TestSupport
import Testing

/// The bookkeeping of `gc`'s machine-wide look for what tasks of deleted roots left: the list
/// of roots, the tasks they know, and finding task cgroups by name. (The sweep itself, on
/// the real machine: NetworkTests.gcOfAnyRootRemovesWhatATaskOfADeletedRootLeft.)
struct OrphanSweepTests {
    let a = String(repeating: "a1", count: 16), b = String(repeating: "b2", count: 16), c = String(repeating: "c3", count: 16)

    @Test func rootsAreListedOnceAndForgotten() throws {
        let dir = try TemporaryDirectory("fr-roots")
        defer { dir.remove() }
        let roots = MachineRoots(directory: dir.path + "/roots")
        try roots.register("/var/lib/one")
        try roots.register("/var/lib/one")
        try roots.register("/tmp/x/" + String(repeating: "long/", count: 100))
        #expect(roots.roots().count == 2)
        #expect(roots.roots().contains("/var/lib/one"))
        roots.forget("/var/lib/one")
        #expect(!roots.roots().contains("/var/lib/one") && roots.roots().count == 1)
    }

    @Test func aRootKnowsItsActiveFinishedAndStagedTasks() throws {
        let dir = try TemporaryDirectory("fr-roots")
        defer { dir.remove() }
        let roots = MachineRoots(directory: dir.path + "/roots")
        let root = try StateRoot(path: dir.path + "/root")
        try roots.register(root.path)
        try roots.register(dir.path + "/deleted")
        FileManager.default.createFile(atPath: root.activeDirectory + "/" + a, contents: nil)
        try FileManager.default.createDirectory(atPath: root.taskDirectory(b), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.stagingDirectory(c), withIntermediateDirectories: true)
        let sweep = OrphanSweep(roots: roots)
        #expect(sweep.knownIds().isSuperset(of: [a, b, c]))
        #expect(sweep.isKnown(a) && sweep.isKnown(b) && sweep.isKnown(c))
        #expect(!sweep.isKnown(String(repeating: "d4", count: 16)))
        #expect(!FileSystem.exists(dir.path + "/deleted"), "looking does not make a deleted root again")
    }

    @Test func taskCgroupsAreFoundWhereverTheyAreNestedAndNothingElse() throws {
        let dir = try TemporaryDirectory("fr-cgroups")
        defer { dir.remove() }
        for path in ["system.slice/job.service/fargate-run-\(a)/app", "fargate-run-\(b)", "user.slice/fargate-run-test-1",
                     "deep/1/2/3/4/5/6/7/8/fargate-run-\(c)"] {
            try FileManager.default.createDirectory(atPath: dir.path + "/" + path, withIntermediateDirectories: true)
        }
        var found: [String: String] = [:]
        OrphanSweep.findTaskCgroups(under: dir.path, depth: 8) { found[$0] = $1 }
        #expect(found == [a: dir.path + "/system.slice/job.service/fargate-run-\(a)", b: dir.path + "/fargate-run-\(b)"],
                "a task's own children are not looked into; deeper than 8 is not looked at")
    }
}
