import Foundation

/// What a host killed while starting tasks leaves in a state root (`<root>/tasks`,
/// `<root>/active`), at each point of `TaskHost.keep` and the runner's first state write; what
/// a foreground run killed before its first state leaves; and beside them a task with no plan
/// and no state, which is not a host's: a foreground run before its first state, which must
/// stay while the test holds its claim (`TaskStore.claimActive(notHosted)`). Made in a fresh
/// directory of its own; `root` is the state root's path.
public struct HalfStartedTasks {
    public let directory: TemporaryDirectory
    public var root: String { directory.path + "/root" }
    /// Killed before its directory was renamed into place / before its first state / during it
    /// / while a host was removing it (its plan gone already).
    public let beforeRename: String, beforeState: String, duringFirstState: String, duringRemoval: String
    /// A marker and a directory, no plan, no state: not a host's.
    public let notHosted: String
    /// The same, with a first state's temporary file: a foreground run killed during its first
    /// write (unclaimed: it goes).
    public let foregroundKilled: String

    public init() throws {
        func id(_ c: Character) -> String { String(repeating: c, count: 32) }
        (beforeRename, beforeState, duringFirstState, notHosted, duringRemoval) = (id("a"), id("b"), id("c"), id("d"), id("e"))
        foregroundKilled = id("9")
        directory = try TemporaryDirectory()
        let (fm, root) = (FileManager.default, directory.path + "/root")
        try fm.createDirectory(atPath: root + "/active", withIntermediateDirectories: true)
        for t in hosts + [notHosted, foregroundKilled] {
            try Data().write(to: URL(fileURLWithPath: root + "/active/" + t))
        }
        let plan = Data(#"{"family": "x"}"#.utf8)
        for directory in ["." + beforeRename + ".new", beforeState, duringFirstState] {
            try fm.createDirectory(atPath: root + "/tasks/" + directory + "/logs", withIntermediateDirectories: true)
            try plan.write(to: URL(fileURLWithPath: root + "/tasks/" + directory + "/plan.json"))
        }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/tasks/" + duringFirstState + "/state.json.next"))
        for t in [notHosted, foregroundKilled] { try fm.createDirectory(atPath: root + "/tasks/" + t + "/logs", withIntermediateDirectories: true) }
        try Data("{}".utf8).write(to: URL(fileURLWithPath: root + "/tasks/" + foregroundKilled + "/state.json.next"))
        try fm.createDirectory(atPath: root + "/tasks/." + duringRemoval + ".new/logs", withIntermediateDirectories: true)
    }

    public func remove() { directory.remove() }

    /// The host's half-started tasks.
    public var hosts: [String] { [beforeRename, beforeState, duringFirstState, duringRemoval] }

    /// What of task `id` is still in the root (each path relative to it).
    public func present(_ id: String) -> [String] {
        ["active/" + id, "tasks/" + id, "tasks/." + id + ".new"].filter { FileManager.default.fileExists(atPath: root + "/" + $0) }
    }

    /// What is left of the host's half-started tasks (and of `others`).
    public func hostsLeft(_ others: [String] = []) -> [String] { (hosts + others).flatMap(present) }

    /// Whether the task that is not a host's is whole: its marker and its directory.
    public var notHostedIsWhole: Bool { present(notHosted) == ["active/" + notHosted, "tasks/" + notHosted] }
}
