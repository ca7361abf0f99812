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
