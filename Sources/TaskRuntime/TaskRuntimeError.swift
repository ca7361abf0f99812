/// Failures of the task runtime itself (not of the containers), each with a code an API can
/// map to its own errors and a message naming what failed.
public struct TaskRuntimeError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// A container cannot be made from its definition and image (no command, ...).
        case invalidContainer
        /// The task asks for what this host's setup cannot give (ports without a network, ...).
        case unsupported
        /// The task is not in a state that allows the operation.
        case invalidState
        /// No such task, container or host.
        case notFound
        /// The host or a task's monitor could not be reached or answered wrongly.
        case unavailable
        case `internal`
    }

    public var code: Code
    public var message: String
    /// What caused it, when another error did.
    public var cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String { cause.map { "\(message): \($0)" } ?? message }

    static func invalidContainer(_ name: String, _ why: String) -> TaskRuntimeError {
        TaskRuntimeError(.invalidContainer, why)
    }
}
