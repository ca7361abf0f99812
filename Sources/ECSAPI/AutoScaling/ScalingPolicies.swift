import Foundation
import Services

/// PutScalingPolicy (target tracking on ECSServiceAverageCPUUtilization and
/// ECSServiceAverageMemoryUtilization), DescribeScalingPolicies, DeleteScalingPolicy,
/// DescribeScalingActivities.
extension ECSAPI {
    /// What Application Auto Scaling uses when a target tracking policy gives no cooldown for ECS.
    static let defaultCooldown = 300

    func putScalingPolicy(_ r: AAS.PutScalingPolicyRequest, _ caller: Caller) throws -> AAS.PutScalingPolicyResponse {
        guard let name = r.policyName else { throw AutoScalingError.missing("policyName") }
        guard (1...256).contains(name.count), name.unicodeScalars.allSatisfy({ $0.value >= 0x20 && $0.value != 0x7f }) else {
            throw AutoScalingError.validation("PolicyName must be 1 to 256 printable characters.")
        }
        let key = try checkTargetKey(r.serviceNamespace, r.resourceId, r.scalableDimension)
        let type = r.policyType ?? (r.targetTrackingScalingPolicyConfiguration != nil ? "TargetTrackingScaling" : "StepScaling")
        guard AAS.policyTypes.contains(type) else { throw AutoScalingError.notInEnum(type, "policyType", AAS.policyTypes) }
        guard type == "TargetTrackingScaling" else {
            throw AutoScalingError.validation("PolicyType \(type) is not supported by fargate-run: use TargetTrackingScaling with PredefinedMetricType ECSServiceAverageCPUUtilization or ECSServiceAverageMemoryUtilization.")
        }
        guard r.stepScalingPolicyConfiguration == nil, r.predictiveScalingPolicyConfiguration == nil else {
            throw AutoScalingError.validation("A TargetTrackingScaling policy takes TargetTrackingScalingPolicyConfiguration only (not StepScalingPolicyConfiguration or PredictiveScalingPolicyConfiguration).")
        }
        guard var config = r.targetTrackingScalingPolicyConfiguration else {
            throw AutoScalingError.validation("TargetTrackingScalingPolicyConfiguration is required for a policy of type TargetTrackingScaling.")
        }
        let policy = try ECSAPI.trackingPolicy(name, config)
        config.scaleOutCooldown = Int(policy.scaleOutCooldown)
        config.scaleInCooldown = Int(policy.scaleInCooldown)
        config.disableScaleIn = policy.disableScaleIn
        guard try store.scalableTarget(key.namespace, key.resourceId, key.dimension) != nil else {
            throw AutoScalingError.notFound("No scalable target registered for service namespace: \(key.namespace), resource ID: \(key.resourceId), scalable dimension: \(key.dimension)")
        }
        let existing = try store.scalingPolicies(namespace: key.namespace).first { $0.resourceId == key.resourceId && $0.policyName == name }
        let id = UUID().uuidString.lowercased()
        let alarms = existing?.alarms ?? ["AlarmHigh", "AlarmLow"].map { kind in
            let alarm = "TargetTracking-\(key.resourceId)-\(kind)-\(UUID().uuidString.lowercased())"
            return AAS.Alarm(alarmName: alarm, alarmARN: "arn:aws:cloudwatch:\(settings.region):\(caller.account):alarm:\(alarm)")
        }
        let stored = AAS.ScalingPolicy(
            policyARN: existing?.policyARN
                ?? "arn:aws:autoscaling:\(settings.region):\(caller.account):scalingPolicy:\(id):resource/ecs/\(key.resourceId):policyName/\(name)",
            policyName: name, serviceNamespace: key.namespace, resourceId: key.resourceId, scalableDimension: key.dimension,
            policyType: type, targetTrackingScalingPolicyConfiguration: config, alarms: alarms, creationTime: existing?.creationTime ?? Date())
        try store.saveScalingPolicy(stored)
        return AAS.PutScalingPolicyResponse(policyARN: stored.policyARN, alarms: stored.alarms)
    }

    /// A stored target tracking configuration as the decision rules take it; the checks of
    /// PutScalingPolicy, whose messages name the member.
    static func trackingPolicy(_ name: String, _ c: AAS.TargetTrackingScalingPolicyConfiguration) throws -> TargetTracking.Policy {
        guard c.customizedMetricSpecification == nil else {
            throw AutoScalingError.validation("CustomizedMetricSpecification is not supported by fargate-run: give PredefinedMetricSpecification with PredefinedMetricType ECSServiceAverageCPUUtilization or ECSServiceAverageMemoryUtilization.")
        }
        guard let spec = c.predefinedMetricSpecification else {
            throw AutoScalingError.validation("TargetTrackingScalingPolicyConfiguration needs PredefinedMetricSpecification (ECSServiceAverageCPUUtilization or ECSServiceAverageMemoryUtilization).")
        }
        guard let type = spec.predefinedMetricType else { throw AutoScalingError.missing("targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType") }
        guard AAS.metricTypes.contains(type) else {
            throw AutoScalingError.notInEnum(type, "targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType", AAS.metricTypes)
        }
        guard let metric = TargetTracking.Metric(rawValue: type) else {
            throw AutoScalingError.validation("PredefinedMetricType \(type) is not supported by fargate-run for ECS services: use ECSServiceAverageCPUUtilization or ECSServiceAverageMemoryUtilization.")
        }
        guard let target = c.targetValue else { throw AutoScalingError.missing("targetTrackingScalingPolicyConfiguration.targetValue") }
        // The service's bounds for TargetValue: [8.515920e-109, 6.174716e+307].
        guard target.isFinite, target >= 8.515920e-109, target <= 6.174716e+307 else {
            throw AutoScalingError.validation("TargetValue must be between 8.515920e-109 and 6.174716e+307 (it is \(target)).")
        }
        let out = c.scaleOutCooldown ?? defaultCooldown, inn = c.scaleInCooldown ?? defaultCooldown
        guard out >= 0 else { throw AutoScalingError.validation("ScaleOutCooldown must be at least 0 seconds (it is \(out)).") }
        guard inn >= 0 else { throw AutoScalingError.validation("ScaleInCooldown must be at least 0 seconds (it is \(inn)).") }
        return TargetTracking.Policy(name: name, metric: metric, targetValue: target, scaleOutCooldown: TimeInterval(out),
                                     scaleInCooldown: TimeInterval(inn), disableScaleIn: c.disableScaleIn ?? false)
    }

    func describeScalingPolicies(_ r: AAS.DescribeScalingPoliciesRequest) throws -> AAS.DescribeScalingPoliciesResponse {
        let namespace = try checkNamespace(r.serviceNamespace)
        if r.scalableDimension != nil { try checkDimension(r.scalableDimension) }
        let names = r.policyNames.map(Set.init)
        let policies = try store.scalingPolicies(namespace: namespace).filter {
            (r.resourceId == nil || $0.resourceId == r.resourceId) && (names?.contains($0.policyName) ?? true)
        }
        let (page, next) = try AutoScalingPaging.page(policies, token: r.nextToken, max: r.maxResults)
        return AAS.DescribeScalingPoliciesResponse(scalingPolicies: page, nextToken: next)
    }

    func deleteScalingPolicy(_ r: AAS.DeleteScalingPolicyRequest) throws -> AAS.Empty {
        guard let name = r.policyName else { throw AutoScalingError.missing("policyName") }
        let key = try checkTargetKey(r.serviceNamespace, r.resourceId, r.scalableDimension)
        guard try store.deleteScalingPolicy(key.namespace, key.resourceId, key.dimension, name) else {
            throw AutoScalingError.notFound("No scaling policy found for service namespace: \(key.namespace), resource ID: \(key.resourceId), scalable dimension: \(key.dimension), policy name: \(name)")
        }
        return AAS.Empty()
    }

    /// Newest first. Only activities that changed the capacity are recorded, so
    /// IncludeNotScaledActivities adds nothing.
    func describeScalingActivities(_ r: AAS.DescribeScalingActivitiesRequest) throws -> AAS.DescribeScalingActivitiesResponse {
        let namespace = try checkNamespace(r.serviceNamespace)
        if r.scalableDimension != nil { try checkDimension(r.scalableDimension) }
        let activities = try store.scalingActivities(namespace: namespace).filter { r.resourceId == nil || $0.resourceId == r.resourceId }
        let (page, next) = try AutoScalingPaging.page(activities, token: r.nextToken, max: r.maxResults)
        return AAS.DescribeScalingActivitiesResponse(scalingActivities: page, nextToken: next)
    }
}
