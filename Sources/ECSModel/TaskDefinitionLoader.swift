import Foundation

/// A document converted to the API's shape, before it is checked.
struct ConvertedDocument {
    /// An object of `ECSSchema.document`'s shape: TaskDefinition's members and tags.
    var document: JSONValue
    var paths: SourcePaths
    /// Found while converting, located in the file.
    var issues: [ValidationIssue]
    var format: TaskDefinitionFormat
    var origin: String? = nil
}

/// Reads task definitions in every shape users have (`TaskDefinitionFormat`), JSON or YAML,
/// into the API's shape, so that `validate`, `run` and the API all accept the same files and
/// check them the same way: the ECS API model (`SchemaChecker`), then Fargate's rules
/// (`TaskDefinitionValidator`, through `LoadedTaskDefinition.allIssues`).
public enum TaskDefinitionLoader {
    /// What the file does not say: which of several resources, CloudFormation parameters, and
    /// task members a Terraform container_definitions file has no place for.
    public struct Options: Sendable, Equatable, Codable {
        /// The CloudFormation logical id or Terraform address, when the file holds several.
        public var resource: String?
        /// `--parameter NAME=VALUE`: CloudFormation parameters, pseudo-parameters
        /// (`AWS::AccountId`), resources' values (`LOGICAL_ID`, `LOGICAL_ID.Attribute`), exports.
        public var parameters: [String: String] = [:]
        /// Task members, for a file that does not give them: they fill in, never replace.
        public var family: String?
        public var cpu: String?
        public var memory: String?
        public var networkMode: String?
        public var executionRoleArn: String?
        public var taskRoleArn: String?
        /// `AWS::Region` (and the partition and URL suffix that follow from it).
        public var region = "us-east-1"

        public init(resource: String? = nil, parameters: [String: String] = [:], family: String? = nil, cpu: String? = nil,
                    memory: String? = nil, networkMode: String? = nil, executionRoleArn: String? = nil, taskRoleArn: String? = nil,
                    region: String = "us-east-1") {
            self.resource = resource
            self.parameters = parameters
            self.family = family
            self.cpu = cpu
            self.memory = memory
            self.networkMode = networkMode
            self.executionRoleArn = executionRoleArn
            self.taskRoleArn = taskRoleArn
            self.region = region
        }

        /// Each task member a flag can give: its API name, the flag, and the value given.
        var taskMembers: [(member: String, flag: String, value: String?)] {
            [("family", "--family", family), ("cpu", "--cpu", cpu), ("memory", "--memory", memory),
             ("networkMode", "--network-mode", networkMode), ("executionRoleArn", "--execution-role-arn", executionRoleArn),
             ("taskRoleArn", "--task-role-arn", taskRoleArn)]
        }
    }

    /// The file's bytes, read to its end (a pipe too: `/dev/stdin`); nil with errno set.
    static func contents(of path: String) -> Data? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if n == 0 { return out }
            out.append(contentsOf: buffer[0..<n])
        }
    }

    public static func load(file: String, options: Options = Options()) throws -> LoadedTaskDefinition {
        guard let data = contents(of: file) else {
            throw TaskDefinitionError(file: file, issues: [ValidationIssue("", "cannot read \(file): \(String(cString: strerror(errno)))")])
        }
        do { return try load(data: data, name: file, options: options) } catch var e as TaskDefinitionError {
            e.file = file
            throw e
        }
    }

    /// Throws only when nothing usable can be read (not JSON or YAML, no task definition in
    /// it, several and no `--resource`); every other problem is in the result's `issues`.
    /// - Parameter name: the file's name, whose `.yaml` or `.yml` means YAML (else the first
    ///   character decides: `{` or `[` is JSON).
    public static func load(data: Data, name: String? = nil, options: Options = Options()) throws -> LoadedTaskDefinition {
        let bytes = Array(data)
        let yaml = isYAML(bytes, name: name)
        let root: JSONValue
        do {
            if yaml {
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw JSONSyntaxError(line: 1, column: 1, message: "the file is not UTF-8 text", language: "YAML")
                }
                root = try YAMLReader.parse(text)
            } else {
                root = try JSONParser.parse(bytes)
            }
        } catch let e as JSONSyntaxError {
            throw TaskDefinitionError(issues: [ValidationIssue("", e.description)])
        }
        var converted = try convert(root, options: options)
        fill(&converted, from: options)
        let (found, cleaned) = SchemaChecker.check(converted.document, shape: ECSSchema.document)
        let paths = converted.paths
        // A member the conversion already refused (an unresolvable value) is not also "required".
        let refused = Set(converted.issues.filter(\.isError).map(\.path))
        let located = found.map { $0.relocated(paths.locate) }.filter { !refused.contains($0.path) }
        let doc = cleaned ?? .object([])
        var loaded: LoadedTaskDefinition
        do {
            loaded = LoadedTaskDefinition(definition: try JSONValueDecoder.decode(ECS.TaskDefinition.self, from: doc),
                                          tags: try doc["tags"].map { try JSONValueDecoder.decode([ECS.Tag].self, from: $0) })
        } catch let e as DecodingError {
            // The checker let through only what matches the model; this would be our bug.
            throw TaskDefinitionError(issues: converted.issues.filter(\.isError) + located + [issue(e)])
        }
        loaded.issues = converted.issues.filter(\.isError) + located
        loaded.notes = converted.issues.filter { !$0.isError }
        loaded.paths = paths
        loaded.format = converted.format
        loaded.syntax = yaml ? "YAML" : "JSON"
        loaded.origin = converted.origin
        return loaded
    }

    static func isYAML(_ bytes: [UInt8], name: String?) -> Bool {
        if let name {
            let lower = name.lowercased()
            if lower.hasSuffix(".yaml") || lower.hasSuffix(".yml") { return true }
            if lower.hasSuffix(".json") { return false }
        }
        var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        return i < bytes.count && bytes[i] != UInt8(ascii: "{") && bytes[i] != UInt8(ascii: "[")
    }

    /// The document in the API's shape, whatever the file's shape.
    static func convert(_ root: JSONValue, options: Options) throws(TaskDefinitionError) -> ConvertedDocument {
        switch root {
        case .array:
            return TerraformInput.containerDefinitions(root, options: options)
        case .object(let members):
            if CloudFormationTemplate.isTemplate(root) { return try CloudFormationTemplate.convert(root, options: options) }
            if TerraformInput.isShowOutput(root) { return try TerraformInput.show(root, options: options) }
            if let inner = root["taskDefinition"] { return try describeOutput(inner, members) }
            let described = members.contains { ECSSchema.describeOnlyMembers.contains($0.0) }
            return ConvertedDocument(document: root, paths: SourcePaths(), issues: [], format: described ? .taskDefinition : .registerInput)
        default:
            throw TaskDefinitionError(issues: [ValidationIssue("", "expected a task definition (an object), a container_definitions list or a template, found \(root.kind)")])
        }
    }

    /// `aws ecs describe-task-definition` output: the definition under `taskDefinition`, its
    /// tags beside it.
    static func describeOutput(_ inner: JSONValue, _ members: [(String, JSONValue)]) throws(TaskDefinitionError) -> ConvertedDocument {
        guard case .object(var definition) = inner else {
            throw TaskDefinitionError(issues: [ValidationIssue("taskDefinition", "expected an object, found \(inner.kind)")])
        }
        var paths = SourcePaths(root: "taskDefinition", spelling: .api)
        var issues: [ValidationIssue] = []
        definition.removeAll { $0.0 == "tags" }
        for (key, value) in members where key != "taskDefinition" {
            if key == "tags" {
                definition.append(("tags", value))
                paths.record("tags", "tags")
            } else {
                let hint = SchemaChecker.suggestion(for: key, among: ["taskDefinition", "tags"]).map { ": did you mean \"\($0)\"?" }
                    ?? " (describe-task-definition output has taskDefinition and tags)"
                issues.append(ValidationIssue(key, "unknown member\(hint)"))
            }
        }
        return ConvertedDocument(document: .object(definition), paths: paths, issues: issues, format: .describeOutput)
    }

    /// Task members from flags, where the file has none; a flag for a member the file gives
    /// is refused (it would change the definition: `--overrides` does that, as RunTask does).
    static func fill(_ converted: inout ConvertedDocument, from options: Options) {
        guard case .object(var members) = converted.document else { return }
        for (name, flag, value) in options.taskMembers {
            guard let value else { continue }
            if members.contains(where: { $0.0 == name && $0.1 != .null }) {
                let overridable = ["cpu", "memory", "taskRoleArn", "executionRoleArn"].contains(name)
                converted.issues.append(ValidationIssue(converted.paths.locate(name),
                    "given by the file: \(flag) only fills in a member the file leaves out\(overridable ? " (--overrides changes it, as RunTask does)" : "")"))
                continue
            }
            members.removeAll { $0.0 == name }
            members.append((name, .string(value)))
            converted.paths.record(name, flag)
        }
        converted.document = .object(members)
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
