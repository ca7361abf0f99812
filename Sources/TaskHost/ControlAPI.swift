import ECSModel
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPServing
import TaskRuntime

/// The host's own API, for the fargate-run CLI (`run -d`, `stop`) on the root-only unix socket
/// `<root>/host.sock`: JSON over HTTP, so `curl --unix-socket` reads it too.
///
///     GET  /v1/host                 {pid, root, tasks}
///     POST /v1/tasks                TaskHost.RunRequest → {tasks: [Task]} once each is RUNNING (or stopped)
///     GET  /v1/tasks                {tasks: [Task]}, the tasks this host runs
///     POST /v1/tasks/ID/stop        {reason} → {taskArn}
///     GET  /v1/tasks/ID/wait        → {task, exitCode} once it has stopped
///
/// Errors are `{code, message}` with 400 (bad request), 404 (no such task), 409 (not in a
/// state for it), 500.
public struct ControlAPI: Sendable {
    public let host: TaskHost

    public init(host: TaskHost) {
        self.host = host
    }

    public static func socketPath(_ root: StateRoot) -> String { root.path + "/host.sock" }

    public struct HostInfo: Codable, Sendable {
        public var pid: Int32
        public var root: String
        public var tasks: Int
        /// Clients waiting for a task to end (`GET /v1/tasks/ID/wait`).
        public var waiting: Int?
    }

    public struct Tasks: Codable, Sendable {
        public var tasks: [ECS.Task]
    }

    public struct StopRequest: Codable, Sendable {
        public var reason: String?
    }

    public struct Stopped: Codable, Sendable {
        public var taskArn: String
    }

    public struct Ended: Codable, Sendable {
        public var task: ECS.Task
        public var exitCode: Int32
        public var failure: String?
    }

    /// What a client that only reports a stop reads of `Ended` (`AnswerFields.outcome`).
    public struct Outcome: Sendable {
        public var task: TaskSummary
        public var exitCode: Int32
    }

    /// What a client that prints task ids reads of `Tasks` (`AnswerFields.started`).
    public struct Started: Sendable {
        public var tasks: [TaskSummary]
    }

    /// The few members of an `ECS.Task` the CLI prints: decoding all of them is most of a
    /// short command's time (the Swift runtime's first look at each of their types).
    public struct TaskSummary: Sendable, Equatable {
        public var taskArn: String?
        public var lastStatus: String?
        public var stopCode: String?
        public var stoppedReason: String?

        public init(taskArn: String?, lastStatus: String?, stopCode: String?, stoppedReason: String?) {
            (self.taskArn, self.lastStatus, self.stopCode, self.stoppedReason) = (taskArn, lastStatus, stopCode, stoppedReason)
        }

        /// What the CLI prints of `task`.
        public init(_ task: ECS.Task) {
            self.init(taskArn: task.taskArn, lastStatus: task.lastStatus, stopCode: task.stopCode?.rawValue, stoppedReason: task.stoppedReason)
        }
    }

    public struct Problem: Codable, Sendable, Error {
        public var code: String
        public var message: String
    }

    public func handle(_ request: HTTPRequest) async -> HTTPResponse {
        let parts = request.path.split(separator: "/").map(String.init)
        do {
            let route = parts.count == 4 && parts[0] == "v1" && parts[1] == "tasks" ? "v1/tasks/*/" + parts[3] : parts.joined(separator: "/")
            switch (request.method, route) {
            case ("GET", "v1/host"):
                return try json(HostInfo(pid: getpid(), root: host.base.root.path, tasks: await host.taskIds.count, waiting: await host.waiting))
            case ("POST", "v1/tasks"):
                let body = try decode(TaskHost.RunRequest.self, request.body)
                return try json(Tasks(tasks: try await host.run(body)))
            case ("GET", "v1/tasks"):
                return try json(Tasks(tasks: await host.describe()))
            case ("POST", "v1/tasks/*/stop"):
                let body = request.body.isEmpty ? StopRequest() : try decode(StopRequest.self, request.body)
                return try json(Stopped(taskArn: try await host.stop(parts[2], reason: body.reason ?? "Task stopped by user")))
            case ("GET", "v1/tasks/*/wait"):
                // A client killed while it waits (`fargate-run wait` and ^C) is forgotten.
                let (host, id) = (host, parts[2])
                let r = try await request.connection.cancellingIfClosed { try await host.wait(id) }
                return try json(Ended(task: r.task, exitCode: r.exitCode, failure: r.failure))
            default:
                return problem(404, "NotFound", "no route \(request.method) \(request.path)")
            }
        } catch let e as Problem {
            return problem(400, e.code, e.message)
        } catch let e as TaskRuntimeError {
            let status = switch e.code {
            case .notFound: 404
            case .invalidState: 409
            case .invalidContainer, .unsupported: 400
            case .unavailable, .internal: 500
            }
            return problem(status, e.code.rawValue, e.description)
        } catch let e as TaskDefinitionError {
            return problem(400, "InvalidTaskDefinition", e.description)
        } catch let e as LocalInputError {
            return problem(400, "InvalidInput", e.description)
        } catch {
            return problem(500, "InternalError", "\(error)")
        }
    }

    func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(body)) } catch {
            throw Problem(code: "BadRequest", message: "the request body is not a valid \(T.self): \(error)")
        }
    }

    func json(_ value: some Encodable, status: Int = 200) throws -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(try JSONEncoder().encode(value)))
    }

    func problem(_ status: Int, _ code: String, _ message: String) -> HTTPResponse {
        let body = (try? JSONEncoder().encode(Problem(code: code, message: message))) ?? Data()
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: Array(body))
    }
}
