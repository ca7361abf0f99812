/// The shapes of task definition file fargate-run reads (`TaskDefinitionLoader`).
public enum TaskDefinitionFormat: String, Sendable, CaseIterable {
    /// What `aws ecs register-task-definition --cli-input-json` (or `--cli-input-yaml`) takes,
    /// and CodeDeploy's taskdef.json.
    case registerInput = "RegisterTaskDefinition input"
    /// A task definition with describe-task-definition's read-only members: `aws ecs
    /// describe-task-definition --query taskDefinition`, the console's JSON view and exports.
    case taskDefinition = "task definition (describe-task-definition --query taskDefinition)"
    /// `aws ecs describe-task-definition` output: `{"taskDefinition": {...}, "tags": [...]}`.
    case describeOutput = "describe-task-definition output"
    /// A CloudFormation template (CDK's `cdk.out/*.template.json` too).
    case cloudFormation = "CloudFormation template"
    /// Terraform's `container_definitions` list on its own.
    case terraformContainerDefinitions = "Terraform container_definitions"
    /// `terraform show -json` output (state or plan).
    case terraformShow = "terraform show -json output"
}

/// A task definition as read from a file: the definition itself in the API's shape (with any
/// member that did not match the API model removed), its tags, and what was found while
/// reading it, every issue located in the file as written (`SourcePaths`).
public struct LoadedTaskDefinition: Sendable {
    public var definition: ECS.TaskDefinition
    public var tags: [ECS.Tag]?
    /// Problems with the document's shape: unknown members, wrong types, bad enum values,
    /// unresolvable CloudFormation values.
    public var issues: [ValidationIssue]
    /// Warnings and notes from reading: members ECS never sees, values taken from defaults.
    public var notes: [ValidationIssue] = []
    /// Where each member came from in the file.
    public var paths = SourcePaths()
    public var format: TaskDefinitionFormat = .registerInput
    /// "JSON" or "YAML".
    public var syntax = "JSON"
    /// Which part of the file holds it: "resource TaskDef" of a template or a Terraform state.
    public var origin: String?
    /// Problems with `--overrides` (paths under "overrides.").
    public var overrideIssues: [ValidationIssue] = []
    /// Members replaced by overrides: definition path to the override's path.
    public var overridden: [String: String] = [:]

    public init(definition: ECS.TaskDefinition, tags: [ECS.Tag]? = nil, issues: [ValidationIssue] = []) {
        self.definition = definition
        self.tags = tags
        self.issues = issues
    }

    /// Every problem: the document's shape, the overrides', then Fargate's rules on the
    /// result (except where the shape check already said what is wrong with that very member).
    /// A problem in a member an override replaced is reported at the override.
    public var allIssues: [ValidationIssue] { checked.errors }

    /// Every warning and note: from reading the file, then from Fargate's rules (a health check
    /// that never runs).
    public var warnings: [ValidationIssue] { checked.warnings }

    /// Errors and warnings at once, for callers that want both (one run of the rules).
    public var checked: (errors: [ValidationIssue], warnings: [ValidationIssue]) {
        let own = issues + overrideIssues
        let reported = Set(own.map(\.path))
        var errors = own, warnings = notes
        for issue in TaskDefinitionValidator.validate(definition) {
            let located = issue.relocated(locate)
            if !located.isError {
                warnings.append(located)
            } else if !reported.contains(located.path) {
                errors.append(located)
            }
        }
        return (errors, warnings)
    }

    /// Where a member of the definition is in the file (or in the overrides that replaced it).
    public func locate(_ path: String) -> String { locator.locate(path) }

    /// `locate`, for issues found later (secrets, the run).
    public var locator: DefinitionLocator { DefinitionLocator(paths: paths, overridden: overridden) }
}

/// Where a definition path is in the file that was read, or in the overrides that replaced
/// the member: kept with a plan, so that what is found after loading is located as well.
public struct DefinitionLocator: Sendable, Codable {
    var paths = SourcePaths()
    var overridden: [String: String] = [:]

    public init() {}

    init(paths: SourcePaths, overridden: [String: String]) {
        self.paths = paths
        self.overridden = overridden
    }

    public func locate(_ path: String) -> String {
        for (member, override) in overridden where path == member || path.hasPrefix(member + ".") || path.hasPrefix(member + "[") {
            return override + path.dropFirst(member.count)
        }
        return paths.locate(path)
    }
}
