import ECSModel
import Foundation
import HTTPServing
import TaskRuntime

/// The agent API's task scale-in protection (`/api/{id}/task-protection/v1/state`): GET says
/// whether the task is protected, PUT `{"ProtectionEnabled": true, "ExpiresInMinutes": 60}`
/// sets it. The agent asks ECS with the task's role credentials; here the task's runner keeps
/// it (and its state file, where a service's scale-in reads it). As on ECS, a task without
/// task-role credentials is refused.
extension TaskEndpoint {
    func protection(_ request: HTTPRequest, id: String) async -> HTTPResponse {
        func error(_ status: Int, arn: String?, _ code: String, _ message: String, requestId: String? = nil) -> HTTPResponse {
            var e: [(String, GoJSON)] = []
            if let arn { e.append(("Arn", .string(arn))) }
            e += [("Code", .string(code)), ("Message", .string(message))]
            var body: [(String, GoJSON)] = []
            if let requestId { body.append(("requestID", .string(requestId))) }
            body.append(("error", .object(e)))
            return TaskEndpoint.json(status, .object(body))
        }
        // The body is decoded before the task is looked up, as the agent does.
        var enabled: Bool?
        var minutes: Int?
        if request.method == "PUT" {
            guard let fields = TaskEndpoint.protectionRequest(request.body) else {
                return error(400, arn: nil, "InvalidParameterException", "UpdateTaskProtection: failed to decode request")
            }
            (enabled, minutes) = fields
        }
        let task = await runner.snapshot()
        guard task.plan.containers.contains(where: { task.identity.runtimeId($0.name) == id }) else {
            return error(404, arn: nil, "ResourceNotFoundException", "Failed to find a task for the request")
        }
        let arn = task.identity.taskArn
        if request.method == "PUT", enabled == nil {
            return error(400, arn: arn, "InvalidParameterException", "Invalid request: does not contain 'ProtectionEnabled' field")
        }
        guard task.hasTaskCredentials else {
            return error(403, arn: arn, "AccessDeniedException", "Invalid Request: no task IAM role credentials available for task")
        }
        var state = task.protection
        if request.method == "PUT", let enabled {
            if enabled, let m = minutes, !TaskProtection.minutes.contains(m) {
                // ECS's own refusal, passed on with its status.
                return error(400, arn: arn, "InvalidParameterException",
                             "expiresInMinutes must be between \(TaskProtection.minutes.lowerBound) and \(TaskProtection.minutes.upperBound)",
                             requestId: UUID().uuidString.lowercased())
            }
            state = await runner.protectTask(enabled, minutes: minutes)
        }
        let expiration: GoJSON = state.expiresAt.map { .string(GoTime($0).rfc3339Nano) } ?? .null
        return TaskEndpoint.json(200, .object([("protection", .object([
            ("ExpirationDate", expiration), ("ProtectionEnabled", .bool(state.enabled)), ("TaskArn", .string(arn)),
        ]))]))
    }

    /// The PUT body as Go decodes it into `{ProtectionEnabled *bool; ExpiresInMinutes *int64}`
    /// with unknown fields refused: names match without regard to case. nil when it does not
    /// decode (an empty body, another type, an unknown field).
    static func protectionRequest(_ body: [UInt8]) -> (Bool?, Int?)? {
        guard case .object(let members)? = try? JSONParser.parse(body) else { return nil }
        var enabled: Bool?
        var minutes: Int?
        for (key, value) in members {
            switch (key.lowercased(), value) {
            case ("protectionenabled", .null), ("expiresinminutes", .null): continue
            case ("protectionenabled", .bool(let b)): enabled = b
            case ("expiresinminutes", .number(let n)):
                guard let i = Int(n) else { return nil }
                minutes = i
            default: return nil
            }
        }
        return (enabled, minutes)
    }
}
