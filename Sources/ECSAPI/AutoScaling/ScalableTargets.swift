import Foundation

/// RegisterScalableTarget, DescribeScalableTargets, DeregisterScalableTarget for ECS services
/// (namespace `ecs`, dimension `ecs:service:DesiredCount`, ResourceId `service/CLUSTER/SERVICE`).
extension ECSAPI {
    static let ecsNamespace = "ecs"
    static let desiredCountDimension = "ecs:service:DesiredCount"

    /// A scalable target's identity, checked: the model's enums, then what this server scales.
    struct ScalableTargetKey: Equatable {
        var resourceId: String
        var cluster: String
        var service: String
        var namespace: String { ECSAPI.ecsNamespace }
        var dimension: String { ECSAPI.desiredCountDimension }
    }

    /// ServiceNamespace alone (the Describe operations take it without a resource).
    func checkNamespace(_ namespace: String?) throws -> String {
        guard let namespace else { throw AutoScalingError.missing("serviceNamespace") }
        guard AAS.serviceNamespaces.contains(namespace) else { throw AutoScalingError.notInEnum(namespace, "serviceNamespace", AAS.serviceNamespaces) }
        guard namespace == ECSAPI.ecsNamespace else {
            throw AutoScalingError.validation("ServiceNamespace \(namespace) is not supported by fargate-run: it scales ECS services only (ServiceNamespace ecs).")
        }
        return namespace
    }

    func checkDimension(_ dimension: String?) throws {
        guard let dimension else { throw AutoScalingError.missing("scalableDimension") }
        guard AAS.scalableDimensions.contains(dimension) else { throw AutoScalingError.notInEnum(dimension, "scalableDimension", AAS.scalableDimensions) }
        guard dimension == ECSAPI.desiredCountDimension else {
            throw AutoScalingError.validation("Unsupported service namespace, resource type or scalable dimension: ScalableDimension \(dimension) is not ecs:service:DesiredCount.")
        }
    }

    func checkTargetKey(_ namespace: String?, _ resourceId: String?, _ dimension: String?) throws -> ScalableTargetKey {
        _ = try checkNamespace(namespace)
        guard let resourceId else { throw AutoScalingError.missing("resourceId") }
        try checkDimension(dimension)
        let parts = resourceId.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, parts[0] == "service", !parts[1].isEmpty, !parts[2].isEmpty else {
            throw AutoScalingError.validation("Unsupported service namespace, resource type or scalable dimension: ResourceId \(resourceId) is not service/CLUSTER/SERVICE.")
        }
        return ScalableTargetKey(resourceId: resourceId, cluster: parts[1], service: parts[2])
    }

    /// The ARN of the ECS service a target scales, if it exists and is not deleted.
    func scaledService(_ key: ScalableTargetKey) throws -> String? {
        guard try cluster(key.cluster) != nil else { return nil }
        return try service(key.service, in: key.cluster)
    }

    func registerScalableTarget(_ r: AAS.RegisterScalableTargetRequest, _ caller: Caller) async throws -> AAS.RegisterScalableTargetResponse {
        let key = try checkTargetKey(r.serviceNamespace, r.resourceId, r.scalableDimension)
        // As Application Auto Scaling does, a target must name a service that exists.
        guard let serviceArn = try scaledService(key), let service = await scheduler.record(serviceArn), service.status == "ACTIVE" else {
            throw AutoScalingError.validation("ECS service doesn't exist: \(key.resourceId)")
        }
        let existing = try store.scalableTarget(key.namespace, key.resourceId, key.dimension)?.target
        guard let minimum = r.minCapacity ?? existing?.minCapacity, let maximum = r.maxCapacity ?? existing?.maxCapacity else {
            throw AutoScalingError.validation("MinCapacity and MaxCapacity are required when registering a new scalable target (\(key.resourceId)).")
        }
        guard minimum >= 0 else { throw AutoScalingError.validation("MinCapacity must be at least 0 (it is \(minimum)).") }
        guard maximum >= 0 else { throw AutoScalingError.validation("MaxCapacity must be at least 0 (it is \(maximum)).") }
        guard minimum <= maximum else {
            throw AutoScalingError.validation("Minimum capacity cannot be greater than maximum capacity (MinCapacity \(minimum), MaxCapacity \(maximum)).")
        }
        guard maximum <= ECSAPI.maxDesiredCount else {
            throw AutoScalingError.validation("MaxCapacity \(maximum) is more than the \(ECSAPI.maxDesiredCount) tasks an ECS service may have.")
        }
        var suspended = existing?.suspendedState ?? AAS.SuspendedState(dynamicScalingInSuspended: false, dynamicScalingOutSuspended: false,
                                                                       scheduledScalingSuspended: false)
        if let s = r.suspendedState {
            if let v = s.dynamicScalingInSuspended { suspended.dynamicScalingInSuspended = v }
            if let v = s.dynamicScalingOutSuspended { suspended.dynamicScalingOutSuspended = v }
            if let v = s.scheduledScalingSuspended { suspended.scheduledScalingSuspended = v }
        }
        let target = AAS.ScalableTarget(
            serviceNamespace: key.namespace, resourceId: key.resourceId, scalableDimension: key.dimension, minCapacity: minimum, maxCapacity: maximum,
            // The service-linked role Application Auto Scaling uses for ECS when none is given.
            roleARN: r.roleARN ?? existing?.roleARN
                ?? "arn:aws:iam::\(caller.account):role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService",
            creationTime: existing?.creationTime ?? Date(), suspendedState: suspended,
            scalableTargetARN: existing?.scalableTargetARN
                ?? "arn:aws:application-autoscaling:\(settings.region):\(caller.account):scalable-target/" + ECSAPI.hexId(36))
        try store.saveScalableTarget(target)
        return AAS.RegisterScalableTargetResponse(scalableTargetARN: target.scalableTargetARN)
    }

    func describeScalableTargets(_ r: AAS.DescribeScalableTargetsRequest) throws -> AAS.DescribeScalableTargetsResponse {
        let namespace = try checkNamespace(r.serviceNamespace)
        if r.scalableDimension != nil { try checkDimension(r.scalableDimension) }
        let wanted = r.resourceIds.map(Set.init)
        let targets = try store.scalableTargets(namespace: namespace).map(\.target).filter { wanted?.contains($0.resourceId) ?? true }
        let (page, next) = try AutoScalingPaging.page(targets, token: r.nextToken, max: r.maxResults)
        return AAS.DescribeScalableTargetsResponse(scalableTargets: page, nextToken: next)
    }

    func deregisterScalableTarget(_ r: AAS.DeregisterScalableTargetRequest) throws -> AAS.Empty {
        let key = try checkTargetKey(r.serviceNamespace, r.resourceId, r.scalableDimension)
        guard try store.scalableTarget(key.namespace, key.resourceId, key.dimension) != nil else {
            throw AutoScalingError.notFound("No scalable target found for service namespace: \(key.namespace), resource ID: \(key.resourceId), scalable dimension: \(key.dimension)")
        }
        try store.deleteScalableTarget(key.namespace, key.resourceId, key.dimension)
        return AAS.Empty()
    }

    static func hexId(_ n: Int) -> String {
        String((0..<n).map { _ in "0123456789abcdef".randomElement()! })
    }
}

/// MaxResults (1 to 50, default 50) and NextToken of the Describe operations.
enum AutoScalingPaging {
    static func page<T>(_ items: [T], token: String?, max: Int?) throws -> ([T], String?) {
        let size = max ?? 50
        guard (1...50).contains(size) else { throw AutoScalingError.validation("MaxResults must be between 1 and 50 (it is \(size)).") }
        var start = 0
        if let token {
            guard let data = Data(base64Encoded: token), let n = Int(String(decoding: data, as: UTF8.self)), n >= 0, n <= items.count else {
                throw AutoScalingError.invalidToken()
            }
            start = n
        }
        let end = min(items.count, start + size)
        return (Array(items[start..<end]), end < items.count ? Data(String(end).utf8).base64EncodedString() : nil)
    }
}
