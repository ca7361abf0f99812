#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// Asking a running task to stop from another process: the reason is left in the task's
/// directory and the fargate-run running it is told to look (SIGUSR1).
public enum TaskControl {
    /// Leaves the stop request and signals the task's owner.
    public static func requestStop(_ id: String, reason: String, store: TaskStore) throws {
        let state = try store.state(id)
        guard state.isRunning else {
            throw TaskRuntimeError(.invalidState, "task \(id) is not running" + (state.isStopped ? " (STOPPED)" : "; its fargate-run is gone (fargate-run gc cleans up)"))
        }
        let path = store.root.stopRequestPath(id)
        try FileSystem.writeAtomically(path, Array(reason.prefix(1024).utf8), durable: false)
        guard kill(state.ownerPid, SIGUSR1) == 0 else {
            let e = errno
            unlink(path)
            throw TaskRuntimeError(.unavailable, "cannot signal fargate-run (pid \(state.ownerPid)) running task \(id): \(String(cString: strerror(e)))")
        }
    }

    /// The reason left for task `id`, taken (nil when none was left).
    public static func takeStopRequest(_ id: String, root: StateRoot) -> String? {
        let path = root.stopRequestPath(id)
        guard let reason = try? FileSystem.readString(path) else { return nil }
        unlink(path)
        return reason
    }

    /// Waits until the task is no longer running: STOPPED with everything it made gone (the
    /// ledger record follows a moment later), or its fargate-run gone.
    public static func waitUntilStopped(_ id: String, store: TaskStore, poll: Duration = .milliseconds(50)) async throws {
        while (try? store.state(id))?.isRunning == true {
            try await Task.sleep(for: poll)
        }
    }

    /// Waits until the task's runner is done with it: not running, and off the active list
    /// (which its runner leaves a moment after writing STOPPED), or its runner gone. At most
    /// `timeout`; whether it is.
    public static func waitUntilFinished(_ id: String, store: TaskStore, timeout: Duration = .seconds(10),
                                         poll: Duration = .milliseconds(20)) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while true {
            let state = try? store.state(id)
            if state?.isRunning != true, !FileSystem.exists(store.markerPath(id)) || state?.ownerIsAlive != true { return true }
            if ContinuousClock.now >= deadline { return false }
            try await Task.sleep(for: poll)
        }
    }
}
