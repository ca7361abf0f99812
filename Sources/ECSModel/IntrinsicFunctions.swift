import Foundation

/// Why a CloudFormation value has no value here.
enum IntrinsicFailure: Error {
    /// `AWS::NoValue`: the member (or list item) is removed, as CloudFormation removes it.
    case noValue
    /// Known only once the stack is deployed, or from outside the template: the message says
    /// what to pass (`--parameter NAME=VALUE`).
    case unresolved(String)
    /// Wrong in itself (an unknown name, a malformed call).
    case invalid(String)

    var message: String {
        switch self {
        case .noValue: return "AWS::NoValue"
        case .unresolved(let m), .invalid(let m): return m
        }
    }
}

/// Resolves CloudFormation's intrinsic functions where their values are static: `Ref`,
/// `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::GetAtt`, `Fn::If` (with the
/// template's `Conditions`: `Fn::Equals`, `Fn::And`, `Fn::Or`, `Fn::Not`, `Condition`),
/// `Fn::FindInMap`, `Fn::ImportValue`, `Fn::Base64`, and the pseudo-parameters.
///
/// Values come, in order, from `--parameter NAME=VALUE` (a template parameter, a
/// pseudo-parameter such as `AWS::AccountId`, a resource's `LOGICAL_ID` for its `Ref` or
/// `LOGICAL_ID.Attribute` for its `Fn::GetAtt`, an export's name for `Fn::ImportValue`); then
/// the template (a parameter's `Default`, `Mappings`, the properties of the few resources whose
/// `Ref` and ARN follow from them: log groups, IAM roles, ECR repositories, SSM parameters, S3
/// buckets); then the run (`AWS::Region`, and what follows from it). Anything else is known
/// only once the stack is deployed, and is reported with what to pass.
struct IntrinsicResolver {
    let parameters: [String: JSONValue]
    let mappings: [String: JSONValue]
    let conditions: [String: JSONValue]
    let resources: [String: JSONValue]
    let given: [String: String]
    let region: String
    /// `--parameter` names that something in the template asked for.
    private(set) var used: Set<String> = []
    /// Notes about values taken from fargate-run's own defaults, once each.
    private(set) var notes: [String: String] = [:]
    /// While set (a task role's value is resolved), an `AWS::IAM::Role` without a RoleName
    /// stands in under its logical id for its `Arn`, instead of being known only once
    /// deployed: the task still gets credentials, as on Fargate. `standIns` says so.
    var rolesStandIn = false
    /// What stood in since `takeStandIns()`, as warnings.
    private(set) var standIns: [String] = []
    private var conditionValues: [String: Bool] = [:]
    private var visiting: Set<String> = []

    /// The account fargate-run's ARNs name, and `AWS::AccountId` without `--parameter`.
    static let localAccount = "000000000000"

    init(template: JSONValue, given: [String: String], region: String) {
        func section(_ name: String) -> [String: JSONValue] {
            guard case .object(let m)? = template[name] else { return [:] }
            return Dictionary(m, uniquingKeysWith: { a, _ in a })
        }
        parameters = section("Parameters")
        mappings = section("Mappings")
        conditions = section("Conditions")
        resources = section("Resources")
        self.given = given
        self.region = region
    }

    var partition: String { region.hasPrefix("cn-") ? "aws-cn" : region.hasPrefix("us-gov-") ? "aws-us-gov" : "aws" }
    var urlSuffix: String { region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com" }

    /// The names `--parameter` may give: the template's parameters and resources, the
    /// pseudo-parameters.
    var knownNames: [String] {
        Array(parameters.keys) + Array(resources.keys) + IntrinsicResolver.pseudoParameters
    }

    static let pseudoParameters = ["AWS::AccountId", "AWS::NotificationARNs", "AWS::NoValue", "AWS::Partition", "AWS::Region",
                                   "AWS::StackId", "AWS::StackName", "AWS::URLSuffix"]

    /// The function's name and argument when `value` is a call (`{"Ref": ...}`, `{"Fn::...": ...}`).
    static func call(_ value: JSONValue) -> (String, JSONValue)? {
        guard case .object(let m) = value, m.count == 1, m[0].0 == "Ref" || m[0].0.hasPrefix("Fn::") else { return nil }
        return m[0]
    }

    /// `value` with the call at its top replaced by its result (again, while the result is a
    /// call: `Fn::If` picks a branch that may be one). Calls deeper inside are left to the caller
    /// that walks the value (`ShapeMapper`), so that each is reported at its own path.
    mutating func resolveCall(_ value: JSONValue) throws(IntrinsicFailure) -> JSONValue {
        var v = value
        var rounds = 0
        while let (name, argument) = IntrinsicResolver.call(v) {
            rounds += 1
            guard rounds <= JSONParser.maxDepth else { throw .invalid("functions nested deeper than \(JSONParser.maxDepth) levels") }
            v = try apply(name, argument)
        }
        return v
    }

    /// `value` with every call in it resolved: a function's arguments.
    mutating func resolveAll(_ value: JSONValue) throws(IntrinsicFailure) -> JSONValue {
        let v = try resolveCall(value)
        switch v {
        case .array(let items):
            var out: [JSONValue] = []
            for item in items {
                do { out.append(try resolveAll(item)) } catch .noValue { continue }
            }
            return .array(out)
        case .object(let members):
            var out: [(String, JSONValue)] = []
            for (k, item) in members {
                do { out.append((k, try resolveAll(item))) } catch .noValue { continue }
            }
            return .object(out)
        default:
            return v
        }
    }

    mutating func apply(_ name: String, _ argument: JSONValue) throws(IntrinsicFailure) -> JSONValue {
        switch name {
        case "Ref":
            guard case .string(let target) = argument else { throw .invalid("Ref takes a name, found \(argument.kind)") }
            return try ref(target)
        case "Fn::GetAtt":
            let parts: [JSONValue]
            switch try resolveAll(argument) {
            case .array(let a): parts = a
            case .string(let s): parts = s.split(separator: ".", maxSplits: 1).map { .string(String($0)) }
            default: throw .invalid("Fn::GetAtt takes [LOGICAL_ID, Attribute]")
            }
            guard parts.count == 2, case .string(let resource) = parts[0], case .string(let attribute) = parts[1] else {
                throw .invalid("Fn::GetAtt takes [LOGICAL_ID, Attribute]")
            }
            return try getAtt(resource, attribute)
        case "Fn::Sub":
            return .string(try sub(argument))
        case "Fn::Join":
            guard case .array(let a) = try resolveAll(argument), a.count == 2, case .string(let delimiter) = a[0],
                  case .array(let items) = a[1] else { throw .invalid("Fn::Join takes [DELIMITER, [VALUES]]") }
            var texts: [String] = []
            for item in items { texts.append(try IntrinsicResolver.text(item, in: "Fn::Join")) }
            return .string(texts.joined(separator: delimiter))
        case "Fn::Select":
            guard case .array(let a) = try resolveAll(argument), a.count == 2, case .array(let items) = a[1] else {
                throw .invalid("Fn::Select takes [INDEX, [VALUES]]")
            }
            guard let index = Int(try IntrinsicResolver.text(a[0], in: "Fn::Select")) else { throw .invalid("Fn::Select: the index is not a number") }
            guard items.indices.contains(index) else { throw .invalid("Fn::Select: index \(index) is outside a list of \(items.count)") }
            return items[index]
        case "Fn::Split":
            guard case .array(let a) = try resolveAll(argument), a.count == 2, case .string(let delimiter) = a[0], !delimiter.isEmpty,
                  case .string(let text) = a[1] else { throw .invalid("Fn::Split takes [DELIMITER, STRING]") }
            return .array(text.components(separatedBy: delimiter).map { .string($0) })
        case "Fn::If":
            guard case .array(let a) = argument, a.count == 3, case .string(let condition) = a[0] else {
                throw .invalid("Fn::If takes [CONDITION, VALUE_IF_TRUE, VALUE_IF_FALSE]")
            }
            return try self.condition(condition) ? a[1] : a[2]
        case "Fn::FindInMap":
            guard case .array(let a) = try resolveAll(argument), a.count == 3 || a.count == 4 else {
                throw .invalid("Fn::FindInMap takes [MAP, TOP_LEVEL_KEY, SECOND_LEVEL_KEY]")
            }
            let keys = try a.prefix(3).map { v throws(IntrinsicFailure) in try IntrinsicResolver.text(v, in: "Fn::FindInMap") }
            guard let map = mappings[keys[0]] else { throw .invalid("Fn::FindInMap: no mapping \"\(keys[0])\" in Mappings") }
            if let found = map[keys[1]]?[keys[2]] { return found }
            // The language extension's DefaultValue.
            if a.count == 4, let fallback = a[3]["DefaultValue"] { return fallback }
            throw .invalid("Fn::FindInMap: Mappings.\(keys[0]) has no \(keys[1]).\(keys[2])")
        case "Fn::ImportValue":
            let export = try IntrinsicResolver.text(try resolveAll(argument), in: "Fn::ImportValue")
            if let v = given[export] { used.insert(export); return .string(v) }
            throw .unresolved("Fn::ImportValue \(export) is another stack's export: pass --parameter \(export)=VALUE")
        case "Fn::Base64":
            let text = try IntrinsicResolver.text(try resolveAll(argument), in: "Fn::Base64")
            return .string(Data(text.utf8).base64EncodedString())
        default:
            throw .invalid("\(name) is not resolved by fargate-run (it resolves Ref, Fn::Sub, Fn::Join, Fn::Select, Fn::Split, Fn::GetAtt, Fn::If, Fn::FindInMap, Fn::ImportValue, Fn::Base64)")
        }
    }

    /// A scalar as the text a string function joins.
    static func text(_ v: JSONValue, in function: String) throws(IntrinsicFailure) -> String {
        switch v {
        case .string(let s), .number(let s): return s
        case .bool(let b): return b ? "true" : "false"
        default: throw .invalid("\(function): expected a string, found \(v.kind)")
        }
    }

    // MARK: Ref

    mutating func ref(_ name: String) throws(IntrinsicFailure) -> JSONValue {
        if name == "AWS::NoValue" { throw .noValue }
        if let v = given[name] {
            used.insert(name)
            try IntrinsicResolver.check(v, allowedBy: parameters[name], name: name, source: "--parameter")
            return IntrinsicResolver.isList(parameters[name]) ? IntrinsicResolver.list(v) : .string(v)
        }
        switch name {
        case "AWS::Region": return .string(region)
        case "AWS::Partition": return .string(partition)
        case "AWS::URLSuffix": return .string(urlSuffix)
        case "AWS::NotificationARNs": return .array([])
        case "AWS::AccountId":
            if notes[name] == nil {
                notes[name] = "AWS::AccountId is \(IntrinsicResolver.localAccount), the account of the ARNs fargate-run makes: pass --parameter AWS::AccountId=ID for your own (an ECR image of your account needs it)"
            }
            return .string(IntrinsicResolver.localAccount)
        case "AWS::StackName", "AWS::StackId":
            throw .unresolved("Ref \(name) is known once the stack is deployed: pass --parameter \(name)=\(name == "AWS::StackName" ? "NAME" : "ARN")")
        default: break
        }
        if let p = parameters[name] { return try parameter(name, p) }
        if let r = resources[name] { return try resourceValue(name, r, attribute: nil) }
        let hint = SchemaChecker.suggestion(for: name, among: knownNames).map { " (did you mean \"\($0)\"?)" } ?? ""
        throw .invalid("Ref \(name): not a parameter, resource or pseudo-parameter of this template\(hint)")
    }

    static func isList(_ parameter: JSONValue?) -> Bool {
        guard case .string(let type)? = parameter?["Type"] else { return false }
        return type == "CommaDelimitedList" || type.hasPrefix("List<") || type.hasPrefix("AWS::SSM::Parameter::Value<List<")
    }

    mutating func parameter(_ name: String, _ p: JSONValue) throws(IntrinsicFailure) -> JSONValue {
        let type: String
        if case .string(let t)? = p["Type"] { type = t } else { type = "String" }
        // Its Default names the SSM parameter; its value is read at deploy time.
        if type.hasPrefix("AWS::SSM::Parameter::Value<") {
            throw .unresolved("parameter \(name) is read from SSM Parameter Store when the stack is deployed: pass --parameter \(name)=VALUE")
        }
        guard let d = p["Default"] else {
            throw .unresolved("parameter \(name) has no Default: pass --parameter \(name)=VALUE")
        }
        let text = try IntrinsicResolver.text(d, in: "parameter \(name)")
        try IntrinsicResolver.check(text, allowedBy: p, name: name, source: "its Default")
        return IntrinsicResolver.isList(p) ? IntrinsicResolver.list(text) : .string(text)
    }

    /// A list parameter's value: its comma-separated items.
    static func list(_ text: String) -> JSONValue {
        .array(text.split(separator: ",", omittingEmptySubsequences: false).map { .string($0.trimmingCharacters(in: .whitespaces)) })
    }

    /// CloudFormation refuses a parameter value outside its AllowedValues.
    static func check(_ value: String, allowedBy parameter: JSONValue?, name: String, source: String) throws(IntrinsicFailure) {
        guard case .array(let allowed)? = parameter?["AllowedValues"] else { return }
        let texts = allowed.compactMap { try? IntrinsicResolver.text($0, in: "") }
        guard !texts.contains(value) else { return }
        throw .invalid("parameter \(name): \(source) \"\(value)\" is not one of its AllowedValues: \(texts.joined(separator: ", "))")
    }

    // MARK: Fn::GetAtt and resources

    mutating func getAtt(_ resource: String, _ attribute: String) throws(IntrinsicFailure) -> JSONValue {
        let key = resource + "." + attribute
        if let v = given[key] { used.insert(key); return .string(v) }
        guard let r = resources[resource] else {
            let hint = SchemaChecker.suggestion(for: resource, among: Array(resources.keys)).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw .invalid("Fn::GetAtt \(key): no resource \(resource) in this template\(hint)")
        }
        return try resourceValue(resource, r, attribute: attribute)
    }

    /// A resource's `Ref` (attribute nil) or attribute, when its properties fix it.
    mutating func resourceValue(_ id: String, _ r: JSONValue, attribute: String?) throws(IntrinsicFailure) -> JSONValue {
        let type: String
        if case .string(let t)? = r["Type"] { type = t } else { type = "?" }
        let what = attribute.map { "Fn::GetAtt \(id).\($0)" } ?? "Ref \(id)"
        let pass = attribute.map { "--parameter \(id).\($0)=VALUE" } ?? "--parameter \(id)=VALUE"
        let unresolved = IntrinsicFailure.unresolved("\(what) (\(type)) is known once the stack is deployed: pass \(pass)")
        guard let rule = IntrinsicResolver.staticResources[type] else { throw unresolved }
        guard !visiting.contains(id) else { throw .invalid("\(what): resources refer to each other in a cycle") }
        visiting.insert(id)
        defer { visiting.remove(id) }
        func property(_ name: String) throws(IntrinsicFailure) -> String? {
            guard let v = r["Properties"]?[name] else { return nil }
            return try IntrinsicResolver.text(try resolveAll(v), in: "\(id).\(name)")
        }
        let given = try property(rule.nameProperty)
        let standsIn = given == nil && rolesStandIn && type == "AWS::IAM::Role" && attribute == "Arn"
        guard let name = given ?? (standsIn ? id : nil) else { throw unresolved }
        guard let attribute else { return .string(name) }
        let account: String
        if case .string(let a) = try ref("AWS::AccountId") { account = a } else { account = IntrinsicResolver.localAccount }
        let context = StaticContext(name: name, partition: partition, region: region, account: account, urlSuffix: urlSuffix,
                                    path: try property("Path"))
        guard let make = rule.attributes[attribute] else { throw unresolved }
        let value = make(context)
        if standsIn {
            standIns.append("\(what) (\(type)) is known once the stack is deployed: pass \(pass); the task's role here is \(value)")
        }
        return .string(value)
    }

    /// The stand-ins made since the last call.
    mutating func takeStandIns() -> [String] {
        defer { standIns = [] }
        return standIns
    }

    struct StaticContext {
        var name, partition, region, account, urlSuffix: String
        var path: String?
    }

    struct StaticResource {
        /// The property that names the resource (its `Ref`).
        var nameProperty: String
        var attributes: [String: @Sendable (StaticContext) -> String]
    }

    /// Resources whose `Ref` is a name given in their properties, and attributes built from it.
    static let staticResources: [String: StaticResource] = [
        "AWS::Logs::LogGroup": StaticResource(nameProperty: "LogGroupName", attributes: [
            "Arn": { "arn:\($0.partition):logs:\($0.region):\($0.account):log-group:\($0.name):*" },
        ]),
        "AWS::IAM::Role": StaticResource(nameProperty: "RoleName", attributes: [
            "Arn": { "arn:\($0.partition):iam::\($0.account):role\($0.path ?? "/")\($0.name)" },
        ]),
        "AWS::ECR::Repository": StaticResource(nameProperty: "RepositoryName", attributes: [
            "Arn": { "arn:\($0.partition):ecr:\($0.region):\($0.account):repository/\($0.name)" },
            "RepositoryUri": { "\($0.account).dkr.ecr.\($0.region).\($0.urlSuffix)/\($0.name)" },
        ]),
        "AWS::SSM::Parameter": StaticResource(nameProperty: "Name", attributes: [:]),
        "AWS::S3::Bucket": StaticResource(nameProperty: "BucketName", attributes: [
            "Arn": { "arn:\($0.partition):s3:::\($0.name)" },
        ]),
    ]

    // MARK: Fn::Sub

    mutating func sub(_ argument: JSONValue) throws(IntrinsicFailure) -> String {
        var template: String
        var variables: [String: JSONValue] = [:]
        switch argument {
        case .string(let s): template = s
        case .array(let a) where a.count == 2:
            guard case .string(let s) = try resolveCall(a[0]), case .object(let vars) = a[1] else {
                throw .invalid("Fn::Sub takes a string, or [STRING, {VARIABLES}]")
            }
            template = s
            for (k, v) in vars { variables[k] = v }
        default:
            throw .invalid("Fn::Sub takes a string, or [STRING, {VARIABLES}]")
        }
        var out = ""
        while let open = template.range(of: "${") {
            out += template[..<open.lowerBound]
            guard let close = template[open.upperBound...].firstIndex(of: "}") else {
                out += template[open.lowerBound...]
                template = ""
                break
            }
            let name = String(template[open.upperBound..<close])
            template = String(template[template.index(after: close)...])
            if name.hasPrefix("!") {
                out += "${" + name.dropFirst() + "}"
                continue
            }
            let value: JSONValue
            if let v = variables[name] {
                value = try resolveAll(v)
            } else if !name.hasPrefix("AWS::"), let dot = name.firstIndex(of: ".") {
                value = try getAtt(String(name[..<dot]), String(name[name.index(after: dot)...]))
            } else {
                value = try ref(name)
            }
            out += try IntrinsicResolver.text(value, in: "Fn::Sub ${\(name)}")
        }
        return out + template
    }

    // MARK: Conditions

    mutating func condition(_ name: String) throws(IntrinsicFailure) -> Bool {
        if let v = conditionValues[name] { return v }
        guard let expression = conditions[name] else {
            let hint = SchemaChecker.suggestion(for: name, among: Array(conditions.keys)).map { " (did you mean \"\($0)\"?)" } ?? ""
            throw .invalid("no condition \(name) in Conditions\(hint)")
        }
        guard !visiting.contains("Conditions." + name) else { throw .invalid("condition \(name) refers to itself") }
        visiting.insert("Conditions." + name)
        defer { visiting.remove("Conditions." + name) }
        let v = try evaluate(expression)
        conditionValues[name] = v
        return v
    }

    mutating func evaluate(_ expression: JSONValue) throws(IntrinsicFailure) -> Bool {
        guard case .object(let m) = expression, m.count == 1 else { throw .invalid("a condition is one of Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition") }
        let (name, argument) = m[0]
        switch name {
        case "Condition":
            guard case .string(let other) = argument else { throw .invalid("Condition takes a condition's name") }
            return try condition(other)
        case "Fn::Equals":
            guard case .array(let a) = try resolveAll(argument), a.count == 2 else { throw .invalid("Fn::Equals takes [VALUE, VALUE]") }
            return a[0] == a[1] || ((try? IntrinsicResolver.text(a[0], in: "")) ?? "\u{0}") == ((try? IntrinsicResolver.text(a[1], in: "")) ?? "\u{1}")
        case "Fn::Not":
            guard case .array(let a) = argument, a.count == 1 else { throw .invalid("Fn::Not takes [CONDITION]") }
            return !(try evaluate(a[0]))
        case "Fn::And", "Fn::Or":
            guard case .array(let a) = argument, (2...10).contains(a.count) else { throw .invalid("\(name) takes 2 to 10 conditions") }
            var results: [Bool] = []
            for c in a { results.append(try evaluate(c)) }
            return name == "Fn::And" ? results.allSatisfy { $0 } : results.contains(true)
        default:
            throw .invalid("\(name) is not a condition function (Fn::Equals, Fn::And, Fn::Or, Fn::Not, Condition)")
        }
    }
}
