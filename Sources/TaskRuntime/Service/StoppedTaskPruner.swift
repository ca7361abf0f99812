import Dispatch
import Foundation
import Logging
import Synchronization

/// `serve --remove-stopped-after`: removes the root's tasks stopped longer ago than `after`,
/// every minute (or every `after`, if shorter), on a thread of its own: removing a task's logs
/// is blocking I/O, which must not hold one of the few threads Swift's concurrency has.
public final class StoppedTaskPruner: Sendable {
    let store: TaskStore
    let after: TimeInterval
    let logger: Logger
    private let stopping = DispatchSemaphore(value: 0)
    private let stopped = DispatchSemaphore(value: 0)
    /// Problems logged already: one that stays (a mount inside a directory being removed)
    /// is logged once, not at every pass.
    private let reported = Mutex<Set<String>>([])

    public init(store: TaskStore, after: TimeInterval, logger: Logger) {
        self.store = store
        self.after = after
        self.logger = logger
    }

    public func start() {
        let period = max(1, min(60, after))
        Thread.detachNewThread { [self] in
            repeat { pass() } while stopping.wait(timeout: .now() + period) == .timedOut
            stopped.signal()
        }
    }

    /// Returns once the thread has finished its pass (if one is under way). Only after `start`.
    public func stop() {
        stopping.signal()
        stopped.wait()
    }

    /// One pass; the problems it logged.
    @discardableResult
    func pass() -> [String] {
        let (removed, problems) = TaskRemoval.prune(store: store, stoppedBefore: Date(timeIntervalSinceNow: -after))
        if !removed.isEmpty { logger.info("removed stopped tasks", metadata: ["tasks": "\(removed.count)"]) }
        let new = reported.withLock { seen in
            let new = problems.filter { !seen.contains($0) }
            seen = Set(problems)
            return new
        }
        for p in new { logger.warning("cannot remove a stopped task (tried again at each pass, logged once while it lasts)", metadata: ["error": "\(p)"]) }
        return new
    }
}
