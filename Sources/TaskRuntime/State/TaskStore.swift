#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The task states of a state root: finding a task by what a user typed, reading, listing.
public struct TaskStore: Sendable {
    public let root: StateRoot

    public init(root: StateRoot) {
        self.root = root
    }

    public struct NotFound: Error, CustomStringConvertible, Sendable {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    public func statePath(_ id: String) -> String { root.taskDirectory(id) + "/state.json" }

    /// Every task id of the root, stopped ones too.
    public func ids() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.tasksDirectory)) ?? []).filter(TaskStore.isTaskId)
    }

    /// Tasks not finished yet: a directory listing, not a read of every task ever run.
    public func activeIds() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: root.activeDirectory)) ?? []).filter(TaskStore.isTaskId)
    }

    /// 32 hex digits: anything else in those directories (another process's file being made)
    /// is not a task.
    public static func isTaskId(_ s: String) -> Bool { s.count == 32 && s.allSatisfy(\.isHexDigit) }

    /// The task a user named: its id, a unique prefix of it, or its ARN.
    public func find(_ query: String) throws(NotFound) -> String {
        let id = query.split(separator: "/").last.map(String.init) ?? query
        guard !id.isEmpty else { throw NotFound("no task id given (\"\(query)\"): give a task id, a unique prefix of one, or an ARN") }
        // A whole id (what `run -d` prints and scripts pass on) can match only itself: looked
        // up directly, not by listing the root's every task (5 µs each: 24 ms for 5,000).
        if TaskStore.isTaskId(id), access(root.taskDirectory(id), F_OK) == 0 { return id }
        let matches = ids().filter { $0.hasPrefix(id) }
        guard matches.count == 1 else {
            throw NotFound(matches.count > 1 ? "\(query) matches \(matches.count) tasks; give more of the id" : "no task \(query) in \(root.path)")
        }
        return matches[0]
    }

    public func state(_ id: String) throws -> TaskState {
        let path = statePath(id)
        guard let data = FileManager.default.contents(atPath: path) else { throw NotFound("no state for task \(id) (\(path))") }
        return try JSONDecoder().decode(TaskState.self, from: data)
    }

    /// Every task's state, newest first. `activeOnly` reads only the tasks not finished (the
    /// `active` markers), so that listing what runs costs what runs, not the root's history.
    public func states(activeOnly: Bool = false) -> [(id: String, state: TaskState)] {
        var out = (activeOnly ? activeIds() : ids()).compactMap { id in (try? state(id)).map { (id, $0) } }
        out.sort { ($0.1.task.createdAt?.date ?? .distantPast) > ($1.1.task.createdAt?.date ?? .distantPast) }
        return out
    }

    /// Writes a task's last state, by a process that is not its runner (`gc`): whole, in
    /// place of the old one, and without the runner's spare.
    public func writeFinal(_ state: TaskState, id: String) throws {
        let path = statePath(id)
        try FileSystem.writeAtomically(path, Array(try TaskState.encoder.encode(state)), durable: false)
        unlink(StateFileWriter.spare(of: path))
    }

    /// Removes a task a host was still starting when it died: its active marker with at most
    /// its plan and an empty log directory, and no state. Nothing of such a task was made
    /// outside its directory (that comes after its first state), and `run -d` had not
    /// answered for it. Only for a root whose host is dead or is the caller (a task with no
    /// plan is not a host's, and is left alone). Whether it was one.
    @discardableResult
    public func discardUnstartedHostedTask(_ id: String) -> Bool {
        let (directory, staging) = (root.taskDirectory(id), root.stagingDirectory(id))
        // (A spare without a state is a first write cut short, before anything was provisioned.)
        guard !FileSystem.exists(statePath(id)), FileSystem.exists(root.hostedPlanPath(id)) || FileSystem.exists(staging) else { return false }
        // The directory goes back to the staging name first (its plan could be removed before
        // the rest of it): killed during the removal, this is found again. (Only one of the two
        // exists: `keep` renames one into the other.)
        if FileSystem.exists(directory), rename(directory, staging) != 0 { return false }
        guard (try? FileSystem.removeTree(staging)) != nil else { return false }
        retire(id)
        return true
    }

    /// Removes what a foreground run killed before its first state left: its marker and its
    /// directory (logs, at most a first state's temporary file: nothing of the task is made
    /// outside it before that state). Only with no state, no plan (a host's) and no claim on the
    /// marker (a run still making it). Whether it was one.
    @discardableResult
    public func discardUnstartedForegroundTask(_ id: String) -> Bool {
        let directory = root.taskDirectory(id)
        // The directory first: a host's appears (renamed from its staging name) with its plan
        // in it, so a plan looked for after it cannot be one not there yet.
        guard FileSystem.exists(directory), !FileSystem.exists(root.hostedPlanPath(id)), !FileSystem.exists(statePath(id)),
              !FileSystem.exists(root.stagingDirectory(id)) else { return false }
        return ActiveClaim.unclaimed(marker: markerPath(id)) {
            // Not if a first state appeared before the lock.
            guard !FileSystem.exists(statePath(id)), !FileSystem.exists(root.hostedPlanPath(id)),
                  (try? FileSystem.removeTree(directory)) != nil else { return false }
            retire(id)
            return true
        } ?? false
    }

    /// Retires a marker that has no task directory, unless a run has claimed it: a foreground
    /// run makes its marker a moment before its directory.
    func retireUnclaimed(_ id: String) {
        _ = ActiveClaim.unclaimed(marker: markerPath(id)) { retire(id) }
    }

    func markerPath(_ id: String) -> String { root.activeDirectory + "/" + id }

    /// A foreground run's marker, claimed until its first state is on disk (`ActiveClaim`).
    public func claimActive(_ id: String) throws -> ActiveClaim {
        let claim = try ActiveClaim(marker: markerPath(id))
        // A hosted task's host recorded it as it made the marker.
        if claim.created { recordOnMachine(id) }
        return claim
    }

    /// The task is not finished: it joins the active list. An empty marker, made in place:
    /// nothing to write, so no temporary file for another fargate-run's startup sweep of that
    /// directory to find.
    public func markActive(_ id: String) throws {
        let marker = markerPath(id)
        close(try syscallRetrying("create", path: marker) { open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600) })
        recordOnMachine(id)
    }

    /// The task joins the machine's list (`MachineTasks`), after its marker (a sweep that finds
    /// the record finds the marker too), or is recorded again as this process's (a host
    /// taking over its predecessor's tasks). Best effort: without root nothing of a task is
    /// made outside its root to account for.
    public func recordOnMachine(_ id: String) {
        try? MachineTasks().record(id, root: root.path)
    }

    /// The task is finished: it leaves the active list. With `leftovers` (what its teardown
    /// could not remove), it stays on the machine's list for `gc` to try again.
    public func retire(_ id: String, leftovers: [String] = []) {
        if leftovers.isEmpty || (try? MachineTasks().record(id, root: root.path, leftovers: leftovers)) == nil {
            MachineTasks().remove(id)
        }
        unlink(markerPath(id))
    }
}
