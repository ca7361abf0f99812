#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Synchronization
import Testing

struct ThreadsTests {
    /// The point of both helpers: the work runs before anyone awaits or waits for it.
    @Test func startOnOwnThreadRunsBeforeItIsAwaited() async {
        let ran = Mutex(false)
        let started = DispatchSemaphore(value: 0)
        let task = startOnOwnThread { () -> pthread_t in
            ran.withLock { $0 = true }
            started.signal()
            return pthread_self()
        }
        // Not awaited yet: a Task would have to be scheduled first, the thread runs now.
        #expect(started.wait(timeout: .now() + 10) == .success)
        #expect(ran.withLock { $0 })
        let caller = pthread_self()
        let thread = await task.value
        #expect(thread != caller, "on a thread of its own")
    }

    @Test func threadJobGivesItsResultToEveryWaiter() {
        let job = ThreadJob { () -> Int in
            usleep(20_000)
            return 42
        }
        let other = ThreadJob { job.wait() + 1 }
        #expect(job.wait() == 42)
        #expect(other.wait() == 43)
        #expect(job.wait() == 42, "and again")
    }
}
