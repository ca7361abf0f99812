import Foundation
import HTTPServing

/// The Application Auto Scaling API (JSON 1.1, `X-Amz-Target: AnyScaleFrontendService.<Op>`,
/// signing name `application-autoscaling`) on the ECS API's listener, for ECS services only:
/// what `aws application-autoscaling ...`, boto3 and Terraform's aws_appautoscaling_* call.
/// Errors are the service's (ValidationException, ObjectNotFoundException, ...) with a
/// `Message`, as its model shapes them.
extension ECSAPI {
    public static let autoScalingTargetPrefix = "AnyScaleFrontendService."

    /// One Application Auto Scaling request (its X-Amz-Target has the service's prefix).
    func handleAutoScaling(_ request: HTTPRequest, op: String, requestId: String) async -> HTTPResponse {
        let name = String(op.dropFirst(ECSAPI.autoScalingTargetPrefix.count))
        do {
            let caller = try authenticate(request)
            let body = try await dispatchAutoScaling(name, request.body.isEmpty ? Array("{}".utf8) : request.body, caller)
            logger.debug("application auto scaling api", metadata: ["op": "\(name)", "request": "\(requestId)"])
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", requestId)], body: body)
        } catch let e as ECSError {
            logger.info("application auto scaling api error", metadata: ["op": "\(name)", "code": "\(e.code)", "message": "\(e.message)"])
            return ECSAPI.autoScalingErrorResponse(e, requestId: requestId)
        } catch {
            return ECSAPI.autoScalingErrorResponse(ECSError("InternalServiceException", "\(error)", status: 500), requestId: requestId)
        }
    }

    /// The service's error shapes carry `Message` (capitalized), unlike ECS's `message`.
    static func autoScalingErrorResponse(_ e: ECSError, requestId: String) -> HTTPResponse {
        let body = (try? JSONSerialization.data(withJSONObject: ["__type": e.code, "Message": e.message])) ?? Data()
        return HTTPResponse(status: e.status, headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", requestId),
                                                        ("x-amzn-ErrorType", e.code)], body: Array(body))
    }

    func dispatchAutoScaling(_ op: String, _ body: [UInt8], _ caller: Caller) async throws -> [UInt8] {
        func run<Request: Decodable, Response: Encodable>(_: Request.Type, _ handler: (Request) async throws -> Response) async throws -> [UInt8] {
            try AutoScalingJSON.encode(try await handler(try AutoScalingJSON.decode(Request.self, body)))
        }
        switch op {
        case "RegisterScalableTarget": return try await run(AAS.RegisterScalableTargetRequest.self) { try await registerScalableTarget($0, caller) }
        case "DescribeScalableTargets": return try await run(AAS.DescribeScalableTargetsRequest.self) { try describeScalableTargets($0) }
        case "DeregisterScalableTarget": return try await run(AAS.DeregisterScalableTargetRequest.self) { try deregisterScalableTarget($0) }
        case "PutScalingPolicy": return try await run(AAS.PutScalingPolicyRequest.self) { try putScalingPolicy($0, caller) }
        case "DescribeScalingPolicies": return try await run(AAS.DescribeScalingPoliciesRequest.self) { try describeScalingPolicies($0) }
        case "DeleteScalingPolicy": return try await run(AAS.DeleteScalingPolicyRequest.self) { try deleteScalingPolicy($0) }
        case "DescribeScalingActivities": return try await run(AAS.DescribeScalingActivitiesRequest.self) { try describeScalingActivities($0) }
        default:
            if ECSAPI.autoScalingModelOperations.contains(op) {
                throw AutoScalingError.validation("\(op) is not supported by fargate-run: it serves RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget, PutScalingPolicy (target tracking), DescribeScalingPolicies, DeleteScalingPolicy and DescribeScalingActivities.")
            }
            throw ECSError("UnknownOperationException", "Unknown operation \(op)")
        }
    }

    /// Every operation of the Application Auto Scaling model (2016-02-06).
    static let autoScalingModelOperations: Set<String> = [
        "DeleteScalingPolicy", "DeleteScheduledAction", "DeregisterScalableTarget", "DescribeScalableTargets",
        "DescribeScalingActivities", "DescribeScalingPolicies", "DescribeScheduledActions", "GetPredictiveScalingForecast",
        "ListTagsForResource", "PutScalingPolicy", "PutScheduledAction", "RegisterScalableTarget", "TagResource", "UntagResource",
    ]
}

/// The Application Auto Scaling API's errors.
enum AutoScalingError {
    static func validation(_ message: String) -> ECSError { ECSError("ValidationException", message) }
    static func notFound(_ message: String) -> ECSError { ECSError("ObjectNotFoundException", message) }
    static func invalidToken() -> ECSError { ECSError("InvalidNextTokenException", "Invalid NextToken") }

    /// A required member left out, worded as the service words it.
    static func missing(_ member: String) -> ECSError {
        validation("1 validation error detected: Value null at '\(member)' failed to satisfy constraint: Member must not be null")
    }

    /// A value outside one of the model's enums.
    static func notInEnum(_ value: String, _ member: String, _ values: [String]) -> ECSError {
        validation("1 validation error detected: Value '\(value)' at '\(member)' failed to satisfy constraint: Member must satisfy enum value set: [\(values.joined(separator: ", "))]")
    }
}
