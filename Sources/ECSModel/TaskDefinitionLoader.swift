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

/// A task definition as read from a file: the definition itself and, for RegisterTaskDefinition
/// input, its tags.
public struct LoadedTaskDefinition: Sendable {
    public var definition: ECS.TaskDefinition
    public var tags: [ECS.Tag]?
}

/// Reads task definitions in the two shapes users have: RegisterTaskDefinition input (what they
/// write, or what CDK and `aws ecs register-task-definition --cli-input-json` take) and
/// `aws ecs describe-task-definition` output (`{"taskDefinition": {...}, "tags": [...]}`).
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

    public static func load(data: Data) throws -> LoadedTaskDefinition {
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw TaskDefinitionError(issues: [ValidationIssue("", "not valid JSON: \(error.localizedDescription)")])
        }
        guard let dict = object as? [String: Any] else {
            throw TaskDefinitionError(issues: [ValidationIssue("", "expected a JSON object")])
        }
        let decoder = JSONDecoder()
        do {
            if dict["taskDefinition"] != nil {
                struct Described: Decodable { var taskDefinition: ECS.TaskDefinition; var tags: [ECS.Tag]? }
                let d = try decoder.decode(Described.self, from: data)
                return LoadedTaskDefinition(definition: d.taskDefinition, tags: d.tags)
            }
            let r = try decoder.decode(ECS.RegisterTaskDefinitionRequest.self, from: data)
            return LoadedTaskDefinition(definition: ECS.TaskDefinition(r), tags: r.tags)
        } catch let e as DecodingError {
            throw TaskDefinitionError(issues: [issue(e)])
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
        case .typeMismatch(let t, let c): return ValidationIssue(path(c.codingPath), "expected \(typeName(t))")
        case .valueNotFound(let t, let c): return ValidationIssue(path(c.codingPath), "expected \(typeName(t)), found null")
        case .keyNotFound(let k, let c): return ValidationIssue(path(c.codingPath + [k]), "required")
        case .dataCorrupted(let c): return ValidationIssue(path(c.codingPath), c.debugDescription)
        @unknown default: return ValidationIssue("", "\(e)")
        }
    }

    static func typeName(_ t: Any.Type) -> String {
        switch t {
        case is String.Type: return "a string"
        case is Int.Type, is Int64.Type: return "an integer"
        case is Bool.Type: return "a boolean"
        case is Double.Type: return "a number"
        default:
            let n = "\(t)"
            if n.hasPrefix("Array") { return "a list" }
            if n.hasPrefix("Dictionary") { return "an object" }
            return "an object (\(n))"
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
