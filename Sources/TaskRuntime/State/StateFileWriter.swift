#if canImport(Glibc)
import Glibc
#endif
import CShim
import Dispatch
import Foundation
import LinuxSupport
import Synchronization

/// Writes a task's state file off the runner, in order: the newest snapshot submitted is the
/// one written, those it overtook before their turn are dropped. Encoding and writing one
/// takes 0.3-2 ms; a start makes several, which the runner does not wait for unless it must
/// (`flush`).
///
/// Two files take turns: a snapshot is written into the spare (`state.json.next`), which then
/// swaps names with `state.json` (renameat2 RENAME_EXCHANGE). Readers see the old state or the
/// new one, whole, as with a rename; but no inode is made and freed per write, which on a
/// journal-less ext4 costs a scan of every recently freed inode (Docs/PERFORMANCE.md).
final class StateFileWriter: Sendable {
    let path: String
    var spare: String { StateFileWriter.spare(of: path) }
    /// The spare beside the state file `path`: whoever writes the last state removes it.
    static func spare(of path: String) -> String { path + ".next" }
    private let pending = Mutex<(state: TaskState?, scheduled: Bool)>((nil, false))
    private let queue = DispatchQueue(label: "fargate-run.state-file")
    /// Why the last write did not reach the file, nil when it did.
    private let failure = Mutex<String?>(nil)

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
        // A start or a stop makes a burst of changes within a few milliseconds: waiting a
        // little writes one file for the burst instead of one per change (a task through
        // the host made twelve). What must be on disk at once is `flush`ed.
        queue.asyncAfter(deadline: .now() + StateFileWriter.coalescing) { [self] in writePending() }
    }

    static let coalescing = DispatchTimeInterval.milliseconds(10)

    private func writePending() {
        guard let state = pending.withLock({ p -> TaskState? in
            p.scheduled = false
            defer { p.state = nil }
            return p.state
        }) else { return }
        write(state)
    }

    /// Returns once everything submitted before is on disk: what must be before a resource
    /// is made (so `fargate-run gc` finds it should this process die), and the last state.
    func flush() {
        queue.sync { writePending() }
    }

    /// Starts writing what was submitted at once, on the writer's thread, without waiting
    /// for it: a later `flush` returns once it is written. The caller does something else
    /// meanwhile that need not wait for the file.
    func beginFlush() {
        queue.async { [self] in writePending() }
    }

    /// As `flush`, and throws what kept the write from reaching the file: for the task's first
    /// state, which must be on disk before anything of the task is made.
    func flushOrThrow() throws {
        flush()
        if let why = failure.withLock({ $0 }) {
            throw TaskRuntimeError(.internal, "writing the task's state file \(path): \(why)")
        }
    }

    /// After the last state: the spare, which holds an older one, goes.
    func finish() {
        queue.sync { _ = unlink(spare) }
    }

    private func write(_ state: TaskState) {
        do {
            let data = try TaskState.encoder.encode(state)
            // A status file: atomic, but not worth an fsync on every transition.
            try FileSystem.rewrite(spare, Array(data), creating: 0o644)
            // The first write has no state.json to swap with (ENOENT); a filesystem without
            // exchange (EINVAL) renames, and the spare is made again next time.
            if fr_rename_exchange(spare, path) != 0 { try syscallRetrying("rename", path: path) { rename(spare, path) } }
            failure.withLock { $0 = nil }
        } catch {
            failure.withLock { $0 = "\(error)" }
        }
    }
}
