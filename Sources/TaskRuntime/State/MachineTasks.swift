#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Synchronization

/// Every task on this machine that has not finished, whatever its state root: one file per
/// task in /run/fargate-run/tasks, naming its root and the fargate-run running it. Written
/// just after the task's active marker, so before anything of the task exists outside its
/// root, and removed just before the marker (kept, naming what was left, when the task's
/// teardown could not remove everything). `OrphanSweep` goes through it for tasks whose
/// root has gone (a CI job's temporary root removed after its fargate-run was killed) and for
/// those leftovers: only tasks recorded here are ever swept. /run is emptied at boot, as are
/// the namespaces, leases and cgroups the records account for.
public struct MachineTasks: Sendable {
    /// Where the records are.
    public let directory: String

    public init(directory: String = "/run/fargate-run/tasks") {
        self.directory = directory
    }

    /// One task's record.
    public struct Record: Codable, Sendable, Equatable {
        /// The task's state root, as its fargate-run named it (absolute).
        public var root: String
        /// The fargate-run that made the task: the foreground run, or the host.
        public var owner: ProcessIdentity
        /// The mount and pid namespaces `root` and `owner` mean something in
        /// ("mnt:INODE pid:INODE"): another process sees another root at that path (a private
        /// /tmp) and other processes at those pids.
        public var namespaces: String?
        /// Set once the task has finished but its teardown could not remove everything it
        /// held: what failed, as the teardown reported it. `gc` tries again.
        public var leftovers: [String]?

        public init(root: String, owner: ProcessIdentity, namespaces: String? = MachineTasks.namespaces(), leftovers: [String]? = nil) {
            self.root = root
            self.owner = owner
            self.namespaces = namespaces
            self.leftovers = leftovers
        }
    }

    /// This process's mount and pid namespaces, as a record names them.
    public static func namespaces() -> String? {
        var mnt = stat(), pid = stat()
        guard stat("/proc/self/ns/mnt", &mnt) == 0, stat("/proc/self/ns/pid", &pid) == 0 else { return nil }
        return "mnt:\(mnt.st_ino) pid:\(pid.st_ino)"
    }

    /// Records task `id` of `root`, made by this process; or, with `leftovers`, finished with
    /// those problems left for `gc`.
    ///
    /// On every task's start path (a host's `keep`), so cheap:
    /// - a process's records of one root are the same bytes, encoded once (this process's
    ///   identity and namespaces do not change);
    /// - a new record is created in place, one write (a sweep that reads it half-written cannot
    ///   decode it, and leaves it);
    /// - only one that exists already (a host taking over its predecessor's task, a finished
    ///   task's leftovers) is replaced through a rename.
    ///
    /// A `perf` of a host starting 100 tasks had the encoding, /proc/self reads, the
    /// directory's stats and the rename at 1.3 % of its CPU before, about 0.5 ms a task.
    public func record(_ id: String, root: String, leftovers: [String]? = nil) throws {
        let bytes = try leftovers == nil ? MachineTasks.encoded(root: root) : Array(JSONEncoder().encode(Record(root: root, owner: .current, leftovers: leftovers)))
        let path = directory + "/" + id
        do {
            try create(path, bytes)
        } catch where error.errno == EEXIST {
            try FileSystem.writeAtomically(path, bytes, mode: 0o600, durable: false)
        }
    }

    /// Creates a record in place, and the directory if it is not there yet.
    private func create(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        do { try FileSystem.createFile(path, bytes, mode: 0o600) } catch where error.errno == ENOENT {
            try FileSystem.makeDirectories(directory, mode: 0o700)
            try FileSystem.createFile(path, bytes, mode: 0o600)
        }
    }

    /// This process's record of a task of `root`, encoded once per root.
    static func encoded(root: String) throws -> [UInt8] {
        if let bytes = encodedRecords.withLock({ $0[root] }) { return bytes }
        let bytes = Array(try JSONEncoder().encode(Record(root: root, owner: .current)))
        encodedRecords.withLock { $0[root] = bytes }
        return bytes
    }

    private static let encodedRecords = Mutex<[String: [UInt8]]>([:])

    /// Every task recorded, by id (records that do not read are left out).
    public func all() -> [(id: String, record: Record)] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter(TaskStore.isTaskId).sorted().compactMap { id in
            guard let d = FileManager.default.contents(atPath: directory + "/" + id),
                  let r = try? JSONDecoder().decode(Record.self, from: d) else { return nil }
            return (id, r)
        }
    }

    /// Takes task `id` off the list.
    public func remove(_ id: String) {
        unlink(directory + "/" + id)
    }
}
