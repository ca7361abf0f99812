import Foundation
import LinuxSupport

/// The directory holding everything of one fargate-run installation: images, layer snapshots,
/// task state and logs, and the ledger. Two roots share nothing.
public struct StateRoot: Sendable {
    public let path: String

    /// `--root`, else `FARGATE_RUN_ROOT`, else /var/lib/fargate-run.
    public static func resolve(_ flag: String?) -> String {
        if let flag, !flag.isEmpty { return flag }
        if let env = ProcessEnvironment.value("FARGATE_RUN_ROOT"), !env.isEmpty { return env }
        return "/var/lib/fargate-run"
    }

    public init(path: String) throws {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        self.path = absolute
        try FileSystem.makeDirectories(absolute, mode: 0o711)
        try FileSystem.makeDirectories(tasksDirectory, mode: 0o700)
        try FileSystem.makeDirectories(activeDirectory, mode: 0o700)
    }

    /// The root at `path` as it is, nothing made: one that may have been deleted.
    init(existing path: String) {
        self.path = path
    }

    public var tasksDirectory: String { path + "/tasks" }
    /// One empty file per task that has not finished, so finding tasks to clean up after a
    /// crash costs a directory listing, not reading every task ever run.
    public var activeDirectory: String { path + "/active" }
    public var ledgerPath: String { path + "/ledger.sqlite" }
    /// Derived data that is safe to delete (compiled seccomp programs).
    public var cacheDirectory: String { path + "/cache" }
    public func taskDirectory(_ id: String) -> String { tasksDirectory + "/" + id }
    public func logDirectory(_ id: String) -> String { taskDirectory(id) + "/logs" }
    /// The plan a host started a task with (root's only: its secrets' values are in it), kept
    /// until the task ends so that a host taking the task over can run it on.
    public func hostedPlanPath(_ id: String) -> String { taskDirectory(id) + "/plan.json" }
    /// Present when a hosted task's directory goes once it has stopped (`run -d --rm`): in the
    /// directory, so that a host that takes the task over knows it too.
    public func removeWhenStoppedPath(_ id: String) -> String { taskDirectory(id) + "/remove-when-stopped" }
    /// Where a host makes a task's directory (its plan in it) before renaming it into place,
    /// so that the directory appears whole.
    public func stagingDirectory(_ id: String) -> String { tasksDirectory + "/." + id + ".new" }
    /// Written by `fargate-run stop` (the reason), read by the fargate-run running the task
    /// when SIGUSR1 tells it to look.
    public func stopRequestPath(_ id: String) -> String { taskDirectory(id) + "/stop-request" }
    /// EFS and S3 Files file systems, one directory each, outliving tasks:
    /// `efs/fs-0123`, `s3files/<ARN>` (the ARN as one escaped component).
    public func fileSystemDirectory(_ kind: TaskPlan.FileSystemKind, id: String) -> String {
        path + "/" + kind.rawValue + "/" + StateRoot.component(id)
    }

    /// awslogs streams: `awslogs/GROUP/PREFIX`, the group's and prefix's slashes kept as
    /// directories; the stream file inside is `CONTAINER/TASK-ID`, as the CloudWatch stream
    /// name `prefix/container/task-id`.
    public func awslogsDirectory(group: String, streamPrefix: String) -> String {
        let parts = (group.split(separator: "/") + streamPrefix.split(separator: "/")).map { StateRoot.component(String($0)) }
        return path + "/awslogs/" + parts.joined(separator: "/")
    }

    /// A name usable as one path component: "." and ".." and anything with a slash or NUL
    /// are escaped, so a log group or file system id can never climb out of its directory.
    static func component(_ s: String) -> String {
        if s == "." || s == ".." || s.isEmpty { return s.replacingOccurrences(of: ".", with: "%2E") + "%" }
        return s.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "/", with: "%2F").replacingOccurrences(of: "\0", with: "%00")
    }
}
