#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing
@testable import TaskRuntime

/// The state file's writer: the newest snapshot is the one on disk after a flush, whatever
/// the writer's thread skipped on the way.
struct StateFileWriterTests {
    func state(_ n: Int) throws -> TaskState {
        let json = #"{"task": {"lastStatus": "RUNNING"}, "pids": {"app": \#(n)}, "cgroupDirectories": [], "ownerPid": \#(n)}"#
        return try JSONDecoder().decode(TaskState.self, from: Data(json.utf8))
    }

    @Test func theNewestSnapshotIsOnDiskAfterAFlush() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/state.json"
        let writer = StateFileWriter(path: path)
        var inodes: Set<UInt> = []
        for round in 0..<20 {
            for n in 0..<50 { writer.submit(try state(round * 50 + n)) }
            writer.flush()
            let written = try JSONDecoder().decode(TaskState.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            #expect(written.pids["app"] == Int32(round * 50 + 49), "round \(round)")
            var st = stat()
            #expect(stat(path, &st) == 0)
            inodes.insert(UInt(st.st_ino))
        }
        #expect(inodes.count == 2, "two files take turns; no new file per write")
        writer.finish()
        // Only the file itself once the last state is written: the spare goes.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["state.json"])
    }
}

extension StateFileWriterTests {
    /// A task's first state must be on disk before anything of it is made: a write that
    /// fails says so, with the path, and the next one that succeeds clears it.
    @Test func aFailedWriteIsReportedWithItsPath() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.path + "/task/state.json"
        let writer = StateFileWriter(path: path)
        writer.submit(try state(1))
        let error = #expect(throws: TaskRuntimeError.self) { try writer.flushOrThrow() }
        #expect(error.map { "\($0)".contains(path) } == true, "\(String(describing: error))")
        try FileManager.default.createDirectory(atPath: dir.path + "/task", withIntermediateDirectories: false)
        writer.submit(try state(2))
        try writer.flushOrThrow()
        #expect(FileManager.default.fileExists(atPath: path))
    }
}
