#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// Removing stopped tasks from a state root (`rm`, `prune`): a task's directory (its state,
/// logs and plan) is all a stopped task leaves there, and it stays until removed. The ledger
/// keeps the task's bill and usage samples (`report` goes on counting it).
public enum TaskRemoval {
    public struct Removed: Sendable {
        public var id: String
        /// Disk space the directory took (allocated blocks).
        public var bytes: Int64
    }

    /// The task's directory was gone already: another removal (`rm`, `prune`, the host's
    /// `--rm` or `--remove-stopped-after`) took it first.
    public struct Gone: Error, CustomStringConvertible, Sendable {
        public var id: String
        public var description: String { "task \(id) is not in the state root (removed already)" }
    }

    /// Removes stopped task `id`; refuses a task that has not stopped, or is still finishing.
    /// The directory is renamed aside first, so a removal cut short never leaves a task with
    /// half its logs: `prune` finishes it.
    @discardableResult
    public static func remove(_ id: String, store: TaskStore) throws -> Removed {
        let directory = store.root.taskDirectory(id), aside = removalPath(id, store: store)
        guard FileSystem.exists(directory) else { throw Gone(id: id) }
        let state: TaskState
        do { state = try store.state(id) } catch {
            guard FileSystem.exists(directory) else { throw Gone(id: id) }
            throw TaskRuntimeError(.invalidState, "task \(id) has no readable state (\(error)): not removed")
        }
        guard state.isStopped else {
            throw TaskRuntimeError(.invalidState, state.isRunning
                ? "task \(id) is \(state.task.lastStatus ?? "running"): stop it first (fargate-run stop \(id.prefix(12)))"
                : "task \(id) is \(state.task.lastStatus ?? "not stopped") and its fargate-run is gone: fargate-run gc finishes it")
        }
        // Its runner writes its last state a moment before it leaves the active list; one
        // killed in between left it there (what gc does with it).
        if FileSystem.exists(store.markerPath(id)) {
            guard !state.ownerIsAlive else { throw TaskRuntimeError(.invalidState, "task \(id) is still finishing: try again in a moment") }
            store.retire(id)
        }
        let bytes = diskUsage(directory)
        guard rename(directory, aside) == 0 else {
            if errno == ENOENT { throw Gone(id: id) }
            throw SystemError("rename", path: directory)
        }
        try FileSystem.removeTree(aside)
        return Removed(id: id, bytes: bytes)
    }

    /// Removes every stopped task that stopped before `date` (every stopped task when nil),
    /// and finishes removals that were cut short. Tasks that are not stopped are left alone.
    public static func prune(store: TaskStore, stoppedBefore date: Date?) -> (removed: [Removed], problems: [String]) {
        prune(store: store, candidates: candidates(store: store, stoppedBefore: date))
    }

    /// The same, of `candidates` found already (each is checked again as it is removed).
    public static func prune(store: TaskStore, candidates ids: [String]) -> (removed: [Removed], problems: [String]) {
        var removed: [Removed] = [], problems: [String] = []
        for id in ids {
            do { removed.append(try remove(id, store: store)) } catch is Gone {} catch { problems.append("\(error)") }
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store.root.tasksDirectory)) ?? []
        for name in names where name.hasPrefix(".") && name.hasSuffix(".rm") {
            do { try FileSystem.removeTree(store.root.tasksDirectory + "/" + name) } catch { problems.append("\(error)") }
        }
        return (removed, problems)
    }

    /// The stopped tasks `prune` would remove. With a date, only states last written before it
    /// are read (a task's last state is written as it stops): a host pruning every minute
    /// reads the tasks that run and those to remove, not the root's whole history.
    public static func candidates(store: TaskStore, stoppedBefore date: Date?) -> [String] {
        store.ids().filter { id in
            if let date {
                var st = stat()
                guard stat(store.statePath(id), &st) == 0, Double(st.st_mtim.tv_sec) < date.timeIntervalSince1970 else { return false }
            }
            guard let state = try? store.state(id), state.isStopped else { return false }
            guard let date else { return true }
            return (state.task.stoppedAt?.date ?? .distantFuture) < date
        }
    }

    static func removalPath(_ id: String, store: TaskStore) -> String { store.root.tasksDirectory + "/." + id + ".rm" }

    /// The blocks a directory tree takes, without following symlinks.
    static func diskUsage(_ path: String) -> Int64 {
        var total: Int64 = 0
        var st = stat()
        if lstat(path, &st) == 0 { total += Int64(st.st_blocks) * 512 }
        for sub in (try? FileManager.default.subpathsOfDirectory(atPath: path)) ?? [] where lstat(path + "/" + sub, &st) == 0 {
            total += Int64(st.st_blocks) * 512
        }
        return total
    }
}
