/// The ECS API model's shapes as data, for decoding that reports every problem with its path.
/// The table itself is generated (`Generated/Schema+Generated.swift`).
public enum ECSSchema {
    public enum Shape: Sendable {
        case structure(members: [(String, String)], required: [String])
        case list(member: String, min: Int?, max: Int?)
        case map(key: String, value: String)
        case string(enumValues: [String]?, min: Int?, max: Int?)
        /// A 32-bit integer (the API's Integer and BoxedInteger).
        case integer
        /// A 64-bit integer.
        case long
        case boolean
        case timestamp
        case double
    }
}

extension ECSSchema {
    /// The shape of a task definition as files hold it: the API's `TaskDefinition` (so the
    /// read-only members of describe-task-definition output and console exports type-check)
    /// with RegisterTaskDefinition's `tags` beside them, as the console's JSON view shows them.
    public static let document = "TaskDefinitionDocument"

    /// Shapes of our own, for `SchemaChecker`.
    static let documentShapes: [String: Shape] = {
        guard case .structure(let members, _)? = shapes["TaskDefinition"] else { return [:] }
        return [document: .structure(members: members + [("tags", "Tags")], required: [])]
    }()

    /// The members of a structure shape (empty for any other shape).
    static func members(of shape: String) -> [(String, String)] {
        guard case .structure(let members, _)? = shapes[shape] ?? documentShapes[shape] else { return [] }
        return members
    }

    /// The members describe-task-definition output has and RegisterTaskDefinition does not take.
    public static let describeOnlyMembers: Set<String> = {
        let register = Set(members(of: "RegisterTaskDefinitionRequest").map(\.0))
        return Set(members(of: "TaskDefinition").map(\.0)).subtracting(register)
    }()
}
