#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import TaskRuntime
import TestSupport
import Testing

struct GarbageCollectorTests {
    /// The sweep of `<root>/active/` at every start takes only task ids: a file another
    /// fargate-run is making there (an atomic write's temporary name) is not swept away under it,
    /// as it once was when several runs started together on one root. A marker of a task that
    /// never got a directory is.
    @Test func theActiveSweepTakesOnlyTaskIds() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let root = try StateRoot(path: tmp.path + "/root")
        let foreign = root.activeDirectory + "/0123456789abcdef0123456789abcdef.tmp-42-7"
        let stale = root.activeDirectory + "/" + String(repeating: "ab", count: 16)
        for f in [foreign, stale] { #expect(FileManager.default.createFile(atPath: f, contents: nil)) }
        #expect(GarbageCollector(root: root).abandonedTasks().isEmpty)
        #expect(FileSystem.exists(foreign), "another process's file stays")
        #expect(!FileSystem.exists(stale), "a marker without a task directory goes")
    }
}
