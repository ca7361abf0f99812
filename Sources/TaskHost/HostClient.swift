#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import TaskRuntime

/// The CLI's side of the host's API (`ControlAPI`): one blocking HTTP/1.1 request per call on
/// the root-only unix socket. Blocking and small, because a CLI invocation makes one request
/// and its start time counts (no event loop, no threads to start).
public struct HostClient: Sendable {
    public let socketPath: String
    /// The state root, for messages.
    let rootPath: String

    public init(root: StateRoot) {
        socketPath = ControlAPI.socketPath(root)
        rootPath = root.path
    }

    /// Whether a host answers on the socket.
    public var isServing: Bool { (try? connect()).map { close($0); return true } ?? false }

    public func info() throws -> ControlAPI.HostInfo { try call("GET", "/v1/host") }

    public func run(_ request: TaskHost.RunRequest) throws -> ControlAPI.Tasks {
        try call("POST", "/v1/tasks", body: JSONEncoder().encode(request))
    }

    /// `run`, reading only each task's id, status and stop reason of the answer (see
    /// `waitOutcome`).
    public func runOutcome(_ request: TaskHost.RunRequest) throws -> ControlAPI.Started {
        try AnswerFields.started(answer("POST", "/v1/tasks", body: request.cliBody.map { Data($0) } ?? JSONEncoder().encode(request)))
    }

    public func stop(_ id: String, reason: String) throws -> ControlAPI.Stopped {
        try call("POST", "/v1/tasks/\(id)/stop", body: JSONEncoder().encode(ControlAPI.StopRequest(reason: reason)))
    }

    public func tasks() throws -> ControlAPI.Tasks { try call("GET", "/v1/tasks") }

    /// Blocks until the task has stopped; reads only what the CLI prints of the answer
    /// (`ControlAPI.TaskSummary`).
    public func waitOutcome(_ id: String) throws -> ControlAPI.Outcome { try AnswerFields.outcome(answer("GET", "/v1/tasks/\(id)/wait")) }

    /// One ECS API operation (`X-Amz-Target: AmazonEC2ContainerServiceV20141113.OPERATION`) on
    /// the socket, which needs no signature (it is root's only). The answer's HTTP status and
    /// body: ECS's JSON, or its `{"__type", "message"}` error.
    public func ecs(_ operation: String, _ body: Data) throws -> (status: Int, body: Data) {
        try exchange("POST", "/", body: body, headers: "X-Amz-Target: AmazonEC2ContainerServiceV20141113.\(operation)\r\n",
                     contentType: "application/x-amz-json-1.1")
    }

    /// Sends the request and decodes the answer; an error answer is thrown as the host's
    /// `ControlAPI.Problem`.
    func call<T: Decodable>(_ method: String, _ path: String, body: Data = Data()) throws -> T {
        try JSONDecoder().decode(T.self, from: answer(method, path, body: body))
    }

    /// Sends the request and returns the answer's body; an error answer is thrown as the
    /// host's `ControlAPI.Problem`.
    func answer(_ method: String, _ path: String, body: Data = Data()) throws -> Data {
        let (status, data) = try exchange(method, path, body: body)
        guard status == 200 else {
            throw (try? JSONDecoder().decode(ControlAPI.Problem.self, from: data))
                ?? ControlAPI.Problem(code: "HTTP\(status)", message: String(decoding: data, as: UTF8.self))
        }
        return data
    }

    func connect() throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard socketPath.utf8.count < capacity else { throw TaskRuntimeError(.unavailable, "\(socketPath) is too long for a unix socket") }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in socketPath.utf8.enumerated() { raw[i] = b } }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket", path: socketPath) }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        guard r == 0 else {
            let e = errno
            close(fd)
            throw TaskRuntimeError(.unavailable, "no fargate-run host serves \(rootPath): start one with `fargate-run serve --root \(rootPath) &` or `systemctl start fargate-run` (\(socketPath): \(String(cString: strerror(e))))")
        }
        return fd
    }

    func exchange(_ method: String, _ path: String, body: Data, headers: String = "", contentType: String = "application/json") throws -> (Int, Data) {
        let fd = try connect()
        defer { close(fd) }
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: fargate-run\r\nConnection: close\r\nContent-Type: \(contentType)\r\n\(headers)Content-Length: \(body.count)\r\n\r\n".utf8)
        request += body
        var off = 0
        while off < request.count {
            let n = request.withUnsafeBytes { write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw SystemError("write", path: socketPath) }
            off += n
        }
        // The host closes the connection after its answer.
        var response: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw SystemError("read", path: socketPath) }
            if n == 0 { break }
            response += buf[0..<n]
        }
        guard let split = response.firstRange(of: Array("\r\n\r\n".utf8)) else {
            throw TaskRuntimeError(.unavailable, "the host's answer was cut short (\(response.count) bytes)")
        }
        let head = String(decoding: response[..<split.lowerBound], as: UTF8.self)
        let status = head.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (status, Data(response[split.upperBound...]))
    }
}
