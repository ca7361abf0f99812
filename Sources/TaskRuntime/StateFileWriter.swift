import Dispatch
import Foundation
import LinuxSupport
import Synchronization

/// Writes a task's state file off the runner, in order: the newest snapshot submitted is the
/// one written, those it overtook before their turn are dropped. Encoding and writing one
/// takes 0.5-2 ms (a JSON encoding, a new file renamed into place); a start makes several,
/// which the runner no longer waits for unless it must (`flush`).
final class StateFileWriter: Sendable {
    let path: String
    private let pending = Mutex<(state: TaskState?, scheduled: Bool)>((nil, false))
    private let queue = DispatchQueue(label: "fargate-run.state-file")

    init(path: String) {
        self.path = path
    }

    /// Has `state` written soon, on the writer's thread.
    func submit(_ state: TaskState) {
        let schedule = pending.withLock { p in
            p.state = state
            defer { p.scheduled = true }
            return !p.scheduled
        }
        guard schedule else { return }
        queue.async { [self] in
            guard let state = pending.withLock({ p -> TaskState? in
                p.scheduled = false
                defer { p.state = nil }
                return p.state
            }) else { return }
            write(state)
        }
    }

    /// Returns once everything submitted before is on disk: what must be before a resource
    /// is made (so `fargate-run gc` finds it should this process die), and the last state.
    func flush() {
        queue.sync {}
    }

    private func write(_ state: TaskState) {
        guard let data = try? TaskState.encoder.encode(state) else { return }
        // A status file: atomic, but not worth an fsync on every transition.
        try? FileSystem.writeAtomically(path, Array(data), durable: false)
    }
}
