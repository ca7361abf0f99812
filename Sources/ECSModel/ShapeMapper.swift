import Foundation

/// Converts a tree written in another tool's spelling of the ECS API (CloudFormation's
/// PascalCase properties, Terraform's container_definitions) into the API's shape, guided by
/// the API model: member names, which values are maps (whose keys are kept as written) and
/// which are scalars of which type. The result is then checked by `SchemaChecker` like any
/// API document; the mapper only renames, drops what the tool itself drops, and records where
/// each node came from (`SourcePaths`).
struct ShapeMapper {
    enum Style {
        /// CloudFormation: PascalCase names (`CloudFormationNames`), exactly as the resource
        /// spec spells them; intrinsic functions resolved; scalars converted to the property's
        /// type as CloudFormation does (`"true"` for a boolean, `256` for a string, `"80"` for an
        /// integer); an unknown property is an error, as CloudFormation refuses the template.
        case cloudFormation
        /// Terraform's container_definitions, which the AWS provider decodes with Go's
        /// encoding/json: names match without regard to case, types are strict, and an
        /// unknown member is dropped without a word, so ECS never sees it (a warning here).
        case terraform
    }

    let style: Style
    var resolver: IntrinsicResolver?
    var paths: SourcePaths
    var issues: [ValidationIssue] = []

    init(style: Style, resolver: IntrinsicResolver? = nil, paths: SourcePaths) {
        self.style = style
        self.resolver = resolver
        self.paths = paths
    }

    /// `value` in the API's shape `shape`, or nil when it is absent (null, `AWS::NoValue`, or
    /// a value that could not be resolved, which is reported).
    /// - Parameters:
    ///   - api: the node's path in the API document; `source`: in the file.
    ///   - member: the API name of the member holding it (for CloudFormation's exceptions).
    mutating func map(_ value: JSONValue, shape: String, api: String, source: String, member: String = "") -> JSONValue? {
        var value = value
        // Recorded even when the value is dropped, so later checks of that member (awslogs
        // needs a group) land on the same path and are not said twice.
        paths.record(api, source)
        if resolver != nil {
            // A task role known once deployed (CDK's `Fn::GetAtt TaskRole.Arn`) still gives the
            // containers credentials, as on Fargate: under a stand-in ARN, with a warning.
            resolver!.rolesStandIn = api == "taskRoleArn"
            defer {
                resolver!.rolesStandIn = false
                _ = resolver!.takeStandIns()
            }
            do {
                value = try resolver!.resolveCall(value)
                for standIn in resolver!.takeStandIns() { issues.append(ValidationIssue(source, standIn, severity: .warning)) }
            } catch .noValue {
                return nil
            } catch {
                let severity: ValidationIssue.Severity = error.isUnresolved && ShapeMapper.withoutLocalEffect(api) ? .warning : .error
                issues.append(ValidationIssue(source, error.message + (severity == .warning ? "; left out (it has no effect here)" : ""), severity: severity))
                return nil
            }
        }
        if value == .null { return nil }
        guard let kind = ECSSchema.shapes[shape] else { return value }
        switch kind {
        case .structure(let members, _):
            guard case .object(let pairs) = value else { return value }
            var out: [(String, JSONValue)] = []
            for (key, v) in pairs {
                guard let (name, memberShape) = find(key, among: members, parent: member) else {
                    unknown(key, among: members, shape: shape, source: source, parent: member)
                    continue
                }
                if out.contains(where: { $0.0 == name }) {
                    issues.append(ValidationIssue(SchemaChecker.join(source, key), "\"\(name)\" is given twice (names match without regard to case)"))
                    continue
                }
                if let m = map(v, shape: memberShape, api: SchemaChecker.join(api, name), source: SchemaChecker.join(source, key), member: name) {
                    out.append((name, m))
                }
            }
            return .object(out)
        case .list(let itemShape, _, _):
            guard case .array(let items) = value else { return value }
            var out: [JSONValue] = []
            for (i, item) in items.enumerated() {
                // AWS::NoValue removes an item: later items move up, as in the deployed list.
                if let m = map(item, shape: itemShape, api: api + "[\(out.count)]", source: source + "[\(i)]", member: member) {
                    out.append(m)
                }
            }
            return .array(out)
        case .map(_, let valueShape):
            guard case .object(let pairs) = value else { return value }
            var out: [(String, JSONValue)] = []
            for (k, v) in pairs {
                if let m = map(v, shape: valueShape, api: SchemaChecker.join(api, k), source: SchemaChecker.join(source, k), member: k) { out.append((k, m)) }
            }
            return .object(out)
        case .string, .timestamp:
            guard style == .cloudFormation else { return value }
            switch value {
            case .number(let n): return .string(n)
            case .bool(let b): return .string(b ? "true" : "false")
            default: return value
            }
        case .integer, .long, .double:
            guard style == .cloudFormation, case .string(let s) = value else { return value }
            let t = s.trimmingCharacters(in: .whitespaces)
            if kind.isInteger ? Int64(t) != nil : Double(t)?.isFinite == true, !t.hasPrefix("+") { return .number(t) }
            return value
        case .boolean:
            guard style == .cloudFormation, case .string(let s) = value else { return value }
            switch s.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            default: return value
            }
        }
    }

    /// The API member a key of the file names, and its shape.
    func find(_ key: String, among members: [(String, String)], parent: String) -> (String, String)? {
        switch style {
        case .cloudFormation:
            return members.first { CloudFormationNames.property(for: $0.0, parent: parent) == key }
        case .terraform:
            // Go's encoding/json: an exact match first, else one without regard to case.
            if let m = members.first(where: { $0.0 == key }) { return m }
            let lower = key.lowercased()
            return members.first { $0.0.lowercased() == lower }
        }
    }

    mutating func unknown(_ key: String, among members: [(String, String)], shape: String, source: String, parent: String) {
        switch style {
        case .cloudFormation:
            let names = members.map { CloudFormationNames.property(for: $0.0, parent: parent) }
            let hint = SchemaChecker.suggestion(for: key, among: names).map { ": did you mean \"\($0)\"?" }
                ?? " (not a property of \(CloudFormationNames.typeName(shape)))"
            issues.append(ValidationIssue(SchemaChecker.join(source, key), "unknown property\(hint)"))
        case .terraform:
            let hint = SchemaChecker.suggestion(for: key, among: members.map(\.0)).map { " (did you mean \"\($0)\"?)" } ?? ""
            issues.append(ValidationIssue(SchemaChecker.join(source, key), "not a member of \(shape): the AWS provider drops it, so ECS never sees it\(hint)",
                                          severity: .warning))
        }
    }

    /// Members whose value changes nothing here: one that cannot be resolved is left out with
    /// a warning rather than refusing the template (a CDK template's role ARNs are known only
    /// once the stack is deployed).
    static func withoutLocalEffect(_ api: String) -> Bool {
        api == "executionRoleArn" || api == "tags" || api.hasPrefix("tags[")
            || (api.hasPrefix("containerDefinitions[") && api.contains(".dockerLabels"))
    }
}

extension ECSSchema.Shape {
    var isInteger: Bool {
        switch self {
        case .integer, .long: return true
        default: return false
        }
    }
}
