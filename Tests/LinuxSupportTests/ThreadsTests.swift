#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Synchronization
import Testing

struct ThreadsTests {
    /// The stack size of the thread running the caller, as Foundation made it.
    static func stackSize() -> Int { Thread.current.stackSize }

    /// The work runs on a thread of its own, made for it (its stack is the size asked for),
    /// not on the cooperative pool a Task would run it on.
    @Test func startOnOwnThreadRunsOnAThreadMadeForIt() async {
        let size = await startOnOwnThread(stackSize: 3 << 20) { ThreadsTests.stackSize() }.value
        #expect(size == 3 << 20)
        #expect(await onOwnThread(stackSize: 5 << 20) { ThreadsTests.stackSize() } == 5 << 20)
    }

    @Test func threadJobGivesItsResultToEveryWaiter() {
        let job = ThreadJob(stackSize: 3 << 20) { () -> Int in
            usleep(20_000)
            return ThreadsTests.stackSize() == 3 << 20 ? 42 : -1
        }
        let other = ThreadJob { job.wait() + 1 }
        #expect(job.wait() == 42)
        #expect(other.wait() == 43)
        #expect(job.wait() == 42, "and again")
    }
}
