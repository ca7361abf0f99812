/// One problem, warning or note about a task definition, located by its JSON path in the file
/// that was read.
public struct ValidationIssue: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    /// What an issue means for the definition: only errors make it invalid.
    public enum Severity: String, Hashable, Sendable, Codable {
        /// ECS would refuse the definition (or fargate-run cannot read it).
        case error
        /// Valid, but something does not do what the file may intend.
        case warning
        /// Information: how something was read.
        case note
    }

    /// e.g. `containerDefinitions[1].portMappings[0].hostPort`, or
    /// `Resources.TaskDef.Properties.ContainerDefinitions[0].Image` in a CloudFormation template.
    public var path: String
    public var message: String
    public var severity: Severity

    public init(_ path: String, _ message: String, severity: Severity = .error) {
        self.path = path
        self.message = message
        self.severity = severity
    }

    public var isError: Bool { severity == .error }

    /// The same issue at `locate(path)`: where a definition path is in the file that was read.
    public func relocated(_ locate: (String) -> String) -> ValidationIssue {
        ValidationIssue(locate(path), message, severity: severity)
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    enum CodingKeys: String, CodingKey { case path, message, severity }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.decode(String.self, forKey: .path)
        message = try c.decode(String.self, forKey: .message)
        severity = try c.decodeIfPresent(Severity.self, forKey: .severity) ?? .error
    }
}

/// All problems of a task definition at once, and the warnings found beside them.
public struct TaskDefinitionError: Error, Sendable, CustomStringConvertible {
    public var file: String?
    public var issues: [ValidationIssue]
    /// Warnings and notes, for the outputs that list everything (`--output json`).
    public var warnings: [ValidationIssue]

    public init(file: String? = nil, issues: [ValidationIssue], warnings: [ValidationIssue] = []) {
        self.file = file
        self.issues = issues
        self.warnings = warnings
    }

    public var description: String {
        let head = "invalid task definition\(file.map { " \($0)" } ?? "") (\(issues.count) problem\(issues.count == 1 ? "" : "s"))"
        return ([head] + issues.map { "  " + $0.description }).joined(separator: "\n")
    }
}
