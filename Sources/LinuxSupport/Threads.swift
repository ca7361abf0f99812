import Foundation

/// Runs blocking work (a read that waits, an unpack that waits for bytes) on a thread of its
/// own and awaits its result. On Swift's cooperative pool, whose threads are as many as the
/// cores, such work could occupy every thread, including the one that would end the wait.
public func onOwnThread<T: Sendable>(stackSize: Int = 8 << 20, _ body: @escaping @Sendable () -> T) async -> T {
    await withCheckedContinuation { continuation in
        let thread = Thread { continuation.resume(returning: body()) }
        thread.stackSize = stackSize
        thread.start()
    }
}
