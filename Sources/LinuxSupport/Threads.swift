import Foundation

/// Runs blocking work (a read that waits, an unpack that waits for bytes) on a thread of its
/// own and awaits its result. On Swift's cooperative pool, whose threads are as many as the
/// cores, such work could occupy every thread, including the one that would end the wait.
public func onOwnThread<T: Sendable>(stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> T) async -> T {
    await startOnOwnThread(stackSize: stackSize, body).value
}

/// As `onOwnThread`, but the thread starts now, not once the returned task first runs (on a
/// busy cooperative pool that is milliseconds later): for work on a task start's critical path
/// that the caller awaits later.
public func startOnOwnThread<T: Sendable>(stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> T) -> Task<T, Never> {
    let (stream, continuation) = AsyncStream.makeStream(of: T.self, bufferingPolicy: .unbounded)
    let thread = Thread {
        continuation.yield(body())
        continuation.finish()
    }
    thread.stackSize = stackSize
    thread.start()
    return Task {
        for await value in stream { return value }
        preconditionFailure("a thread ended without its result")
    }
}

/// Work on a thread of its own, started at once, for synchronous code to overlap steps:
/// `wait()` blocks until it is done and returns its result (to any number of callers).
public final class ThreadJob<T: Sendable>: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    /// Written once by the thread, before `done` is signalled; read only after.
    private var value: T?

    public init(stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            value = body()
            done.signal()
        }
        thread.stackSize = stackSize
        thread.start()
    }

    public func wait() -> T {
        done.wait()
        defer { done.signal() }
        return value!
    }
}
