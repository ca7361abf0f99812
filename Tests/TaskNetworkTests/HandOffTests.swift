#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import TestSupport
import Testing

/// `fr_hand_off`, which fargate-run uses at exit for its netfilter socket, tried on a pipe: the
/// child must hold the file and nothing else of ours, and let it go only once the gate closes.
/// (Once per process, so one test.)
@Suite struct HandOffTests {
    @Test func theChildHoldsOnlyTheFileUntilTheGateCloses() throws {
        var handed: [Int32] = [-1, -1], other: [Int32] = [-1, -1]
        try #require(fr_pipe_cloexec(&handed) == 0 && fr_pipe_cloexec(&other) == 0)
        defer { close(handed[0]); close(other[0]) }
        var before = stat()
        try #require(fstat(handed[1], &before) == 0)
        var gate: Int32 = -1
        let pid = fr_hand_off(handed[1], &gate)
        try #require(pid > 0, "\(String(cString: strerror(errno)))")
        // Ours is closed (the number may already be another test's file).
        var after = stat()
        #expect(fstat(handed[1], &after) != 0 || after.st_ino != before.st_ino)
        // The child keeps the file and its end of the gate, nothing else, and not our directory.
        var kept: [String] = []
        #expect(eventually(timeout: 10) {
            kept = ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)")
            }
            return kept.count == 2
        }, "\(kept)")
        #expect(kept.contains("pipe:[\(before.st_ino)]"), "\(kept)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd")) == "/")
        // So our other pipe ends when we close its write end (a process another test forks may
        // hold a copy for a moment, hence the wait); the handed one does not end yet.
        close(other[1])
        var ended = [pollfd(fd: other[0], events: Int16(POLLIN), revents: 0)]
        #expect(poll(&ended, 1, 10_000) == 1 && ended[0].revents & Int16(POLLHUP) != 0, "the child kept a copy of another file")
        var open = [pollfd(fd: handed[0], events: Int16(POLLIN), revents: 0)]
        #expect(poll(&open, 1, 0) == 0, "the child let go of the file before the gate closed")
        close(gate)
        var hup = [pollfd(fd: handed[0], events: Int16(POLLIN), revents: 0)]
        #expect(poll(&hup, 1, 10_000) == 1 && hup[0].revents & Int16(POLLHUP) != 0, "the child let go once the gate closed")
        var status: Int32 = 0
        #expect(waitpid(pid, &status, __WALL) == pid && status == 0)
        // Once per process: its stack is one static buffer.
        var again: Int32 = -1
        #expect(fr_hand_off(handed[0], &again) == -1 && errno == EBUSY)
    }
}
