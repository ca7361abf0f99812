#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation

/// A task plan with everything it takes from outside the definition resolved.
public struct PreparedTask: Sendable {
    public var plan: TaskPlan
    public var inputs: ResolvedInputs
}

/// What RunTask and the task's AWS resources supply besides the definition: overrides,
/// secrets, environment files.
public enum TaskInputs {
    /// Loads, overrides, validates, and resolves secrets and environment files: every problem
    /// at once, before anything starts.
    /// - Parameters:
    ///   - definition: what the file leaves unsaid (`TaskDefinitionLoader.Options`); its region
    ///     is `region`.
    ///   - overrides: RunTask's TaskOverride, as a file or the JSON itself.
    ///   - secrets: a secrets file (Docs/TASK-DEFINITION.md).
    ///   - running: refuse what is valid on Fargate but cannot run here, and resolve secrets
    ///     and environment files even without a secrets file (validation does that only with one).
    public static func prepare(_ file: String, definition: TaskDefinitionLoader.Options = .init(), overrides: String?, secrets: String?,
                               region: String, running: Bool) throws -> PreparedTask {
        try prepare(try load(file, definition: definition, region: region), source: file, overrides: overrides,
                    secrets: secrets, region: region, account: fileAccount, running: running)
    }

    /// The account a task definition file's ARNs name.
    public static let fileAccount = "000000000000"

    /// The file as read, in `region`, before overrides and checks.
    public static func load(_ file: String, definition: TaskDefinitionLoader.Options = .init(), region: String) throws -> LoadedTaskDefinition {
        var options = definition
        options.region = region
        return try TaskDefinitionLoader.load(file: file, options: options)
    }

    /// `prepare(_:...)` of a definition already read (a registered one, for RunTask): `source`
    /// names it in messages, and its directory is where relative environment files are.
    public static func prepare(_ definition: LoadedTaskDefinition, source file: String, overrides: String?, secrets: String?,
                               region: String, account: String, running: Bool) throws -> PreparedTask {
        var loaded = definition
        var given: ECS.TaskOverride?
        if let overrides {
            let text: String
            if overrides.trimmingCharacters(in: .whitespaces).hasPrefix("{") {
                text = overrides
            } else {
                guard let data = FileManager.default.contents(atPath: overrides) else {
                    throw LocalInputError(source: "--overrides", issues: [ValidationIssue("", "cannot read \(overrides): \(String(cString: strerror(errno)))")])
                }
                text = String(decoding: data, as: UTF8.self)
            }
            let (o, issues) = TaskOverrides.parse(text)
            TaskOverrides.apply(o, issues: issues, to: &loaded)
            given = o
        }
        var plan = try TaskPlan(loaded, region: region, account: account)
        plan.overrides = given
        if running && !plan.unsupported.isEmpty {
            throw LocalInputError(source: "\(file) is valid on Fargate but cannot run here", issues: plan.unsupported)
        }
        guard running || secrets != nil else { return PreparedTask(plan: plan, inputs: ResolvedInputs()) }
        let store = try secrets.map { f throws(LocalInputError) in try SecretStore(file: f) }
        let dir = file.contains("/") ? String(file[..<file.lastIndex(of: "/")!]) : "."
        let inputs: ResolvedInputs
        do { inputs = try ResolvedInputs.resolve(plan, secrets: store, definitionDirectory: dir.isEmpty ? "/" : dir) } catch {
            throw LocalInputError(source: error.source, issues: error.issues.map { $0.relocated(plan.locator.locate) })
        }
        plan.apply(inputs)
        return PreparedTask(plan: plan, inputs: inputs)
    }
}
