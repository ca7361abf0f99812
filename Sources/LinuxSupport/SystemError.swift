#if canImport(Glibc)
import Glibc
#endif

/// A failed system call, with what was attempted, on which path, and the errno.
///
/// Every module reports kernel refusals through this type so an error message always says
/// what failed, where and why, e.g. `mount /x/rootfs: Operation not permitted (errno 1)`.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The operation, usually the system call's name ("mkdir", "openat2", "write").
    public let operation: String
    /// The path or object involved, if any.
    public let path: String?
    /// The errno value.
    public let errno: Int32

    public init(_ operation: String, path: String? = nil, errno: Int32 = Glibc.errno) {
        self.operation = operation
        self.path = path
        self.errno = errno
    }

    public var description: String {
        let target = path.map { " \($0)" } ?? ""
        return "\(operation)\(target): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Runs a system call, retrying on EINTR, and throws `SystemError` when it returns -1.
@discardableResult
public func syscallRetrying<T: FixedWidthInteger>(_ operation: String, path: String? = nil,
                                                  _ body: () -> T) throws(SystemError) -> T {
    while true {
        let r = body()
        if r != -1 { return r }
        let e = Glibc.errno
        if e == EINTR { continue }
        throw SystemError(operation, path: path, errno: e)
    }
}
