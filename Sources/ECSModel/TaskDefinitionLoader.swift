import Foundation

/// One problem found in a task definition, located by its JSON path.
public struct ValidationIssue: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    /// e.g. `containerDefinitions[1].portMappings[0].hostPort`
    public var path: String
    public var message: String

    public init(_ path: String, _ message: String) {
        self.path = path
        self.message = message
    }

    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// All problems of a task definition at once.
public struct TaskDefinitionError: Error, Sendable, CustomStringConvertible {
    public var file: String?
    public var issues: [ValidationIssue]

    public init(file: String? = nil, issues: [ValidationIssue]) {
        self.file = file
        self.issues = issues
    }

    public var description: String {
        let head = "invalid task definition\(file.map { " \($0)" } ?? "") (\(issues.count) problem\(issues.count == 1 ? "" : "s"))"
        return ([head] + issues.map { "  " + $0.description }).joined(separator: "\n")
    }
}

/// A task definition as read from a file: the definition itself (with any member that did not
/// match the API model removed), its tags, and the problems found while reading it.
public struct LoadedTaskDefinition: Sendable {
    public var definition: ECS.TaskDefinition
    public var tags: [ECS.Tag]?
    /// Problems with the document's shape: unknown members, wrong types, bad enum values.
    public var issues: [ValidationIssue]
    /// "taskDefinition." for describe-task-definition output, so paths match the file.
    public var pathPrefix: String
    /// Problems with `--overrides` (paths under "overrides.").
    public var overrideIssues: [ValidationIssue] = []
    /// Members replaced by overrides: definition path to the override's path.
    public var overridden: [String: String] = [:]

    public init(definition: ECS.TaskDefinition, tags: [ECS.Tag]? = nil, issues: [ValidationIssue] = [], pathPrefix: String = "") {
        self.definition = definition
        self.tags = tags
        self.issues = issues
        self.pathPrefix = pathPrefix
    }

    /// Every problem: the document's shape, the overrides', then Fargate's rules on the
    /// result (except where the shape check already said what is wrong with that very member).
    /// A problem in a member an override replaced is reported at the override.
    public var allIssues: [ValidationIssue] {
        let own = issues + overrideIssues
        let reported = Set(own.map(\.path))
        return own + TaskDefinitionValidator.validate(definition)
            .map { ValidationIssue(locate($0.path), $0.message) }
            .filter { !reported.contains($0.path) }
    }

    func locate(_ path: String) -> String {
        for (member, override) in overridden where path == member || path.hasPrefix(member + ".") || path.hasPrefix(member + "[") {
            return override + path.dropFirst(member.count)
        }
        return pathPrefix + path
    }
}

/// Reads task definitions in the two shapes users have: RegisterTaskDefinition input (what they
/// write, or what `aws ecs register-task-definition --cli-input-json` takes) and `aws ecs
/// describe-task-definition` output (`{"taskDefinition": {...}, "tags": [...]}`).
public enum TaskDefinitionLoader {
    public static func load(file: String) throws -> LoadedTaskDefinition {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw TaskDefinitionError(file: file, issues: [ValidationIssue("", "cannot read \(file): \(String(cString: strerror(errno)))")])
        }
        do { return try load(data: data) } catch var e as TaskDefinitionError {
            e.file = file
            throw e
        }
    }

    /// Throws only when nothing usable can be read (not JSON, not an object); every other
    /// problem is in the result's `issues`.
    public static func load(data: Data) throws -> LoadedTaskDefinition {
        let root: JSONValue
        do { root = try JSONParser.parse(Array(data)) } catch {
            throw TaskDefinitionError(issues: [ValidationIssue("", error.description)])
        }
        guard case .object = root else {
            throw TaskDefinitionError(issues: [ValidationIssue("", "expected a JSON object (a task definition), found \(root.kind)")])
        }
        let described = root["taskDefinition"] != nil
        let (issues, cleaned) = SchemaChecker.check(root, shape: described ? "DescribeTaskDefinitionResponse" : "RegisterTaskDefinitionRequest")
        let doc = cleaned ?? .object([])
        do {
            if described {
                struct Described: Decodable { var taskDefinition: ECS.TaskDefinition?; var tags: [ECS.Tag]? }
                let d = try JSONValueDecoder.decode(Described.self, from: doc)
                return LoadedTaskDefinition(definition: d.taskDefinition ?? ECS.TaskDefinition(), tags: d.tags, issues: issues,
                                            pathPrefix: "taskDefinition.")
            }
            let r = try JSONValueDecoder.decode(ECS.RegisterTaskDefinitionRequest.self, from: doc)
            return LoadedTaskDefinition(definition: ECS.TaskDefinition(r), tags: r.tags, issues: issues)
        } catch let e as DecodingError {
            // The checker let through only what matches the model; this would be our bug.
            throw TaskDefinitionError(issues: issues + [issue(e)])
        }
    }

    static func issue(_ e: DecodingError) -> ValidationIssue {
        func path(_ keys: [any CodingKey]) -> String {
            var s = ""
            for k in keys {
                if let i = k.intValue { s += "[\(i)]" } else { s += (s.isEmpty ? "" : ".") + k.stringValue }
            }
            return s
        }
        switch e {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): return ValidationIssue(path(c.codingPath), c.debugDescription)
        case .keyNotFound(let k, let c): return ValidationIssue(path(c.codingPath + [k]), "required")
        @unknown default: return ValidationIssue("", "\(e)")
        }
    }
}

extension ECS.TaskDefinition {
    /// The definition a RegisterTaskDefinition request would create (read-only members unset).
    public init(_ r: ECS.RegisterTaskDefinitionRequest) {
        self.init(containerDefinitions: r.containerDefinitions, family: r.family, taskRoleArn: r.taskRoleArn,
                  executionRoleArn: r.executionRoleArn, networkMode: r.networkMode, volumes: r.volumes,
                  placementConstraints: r.placementConstraints, runtimePlatform: r.runtimePlatform,
                  requiresCompatibilities: r.requiresCompatibilities, cpu: r.cpu, memory: r.memory,
                  inferenceAccelerators: r.inferenceAccelerators, pidMode: r.pidMode, ipcMode: r.ipcMode,
                  proxyConfiguration: r.proxyConfiguration, ephemeralStorage: r.ephemeralStorage,
                  enableFaultInjection: r.enableFaultInjection)
    }
}
