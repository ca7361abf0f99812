/// An error as the ECS API returns it: the exception's name (`__type`), its message, and the
/// HTTP status (400 for every client error, 500 only for ServerException).
public struct ECSError: Error, Sendable, CustomStringConvertible {
    public var code: String
    public var message: String
    public var status: Int

    public init(_ code: String, _ message: String, status: Int = 400) {
        self.code = code
        self.message = message
        self.status = status
    }

    public var description: String { "\(code): \(message)" }

    public static func clusterNotFound() -> ECSError { ECSError("ClusterNotFoundException", "Cluster not found.") }
    public static func serviceNotFound() -> ECSError { ECSError("ServiceNotFoundException", "Service not found.") }
    public static func invalidParameter(_ message: String) -> ECSError { ECSError("InvalidParameterException", message) }
    public static func client(_ message: String) -> ECSError { ECSError("ClientException", message) }
    public static func server(_ message: String) -> ECSError { ECSError("ServerException", message, status: 500) }
    /// A body that is not JSON, or a member of the wrong type.
    public static func serialization(_ message: String) -> ECSError { ECSError("SerializationException", message) }
}
