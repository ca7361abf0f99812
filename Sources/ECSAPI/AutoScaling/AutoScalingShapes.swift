import Foundation

/// The Application Auto Scaling API's shapes this server reads and writes (botocore's
/// application-autoscaling 2016-02-06 service-2.json), with members named as in Swift: the
/// wire's PascalCase names (`ScalableTargetARN`) are these with their first letter upper-cased
/// (`AutoScalingJSON`). Members this server does not act on are left out of requests (JSON
/// decoding ignores them) unless their presence must be refused, which `Present` records.
enum AAS {
    /// Any JSON value, kept only as "it was given" (configurations this server refuses).
    struct Present: Codable, Equatable {
        init() {}
        init(from decoder: Decoder) throws {}
        func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            try c.encodeNil()
        }
    }

    struct SuspendedState: Codable, Equatable {
        var dynamicScalingInSuspended: Bool?
        var dynamicScalingOutSuspended: Bool?
        var scheduledScalingSuspended: Bool?
    }

    struct RegisterScalableTargetRequest: Decodable {
        var serviceNamespace: String?
        var resourceId: String?
        var scalableDimension: String?
        var minCapacity: Int?
        var maxCapacity: Int?
        var roleARN: String?
        var suspendedState: SuspendedState?
        var tags: [String: String]?
    }

    struct RegisterScalableTargetResponse: Encodable {
        var scalableTargetARN: String
    }

    struct ScalableTarget: Codable, Equatable {
        var serviceNamespace: String
        var resourceId: String
        var scalableDimension: String
        var minCapacity: Int
        var maxCapacity: Int
        var roleARN: String
        var creationTime: Date
        var suspendedState: SuspendedState?
        var scalableTargetARN: String
    }

    struct PredefinedMetricSpecification: Codable, Equatable {
        var predefinedMetricType: String?
        var resourceLabel: String?
    }

    struct TargetTrackingScalingPolicyConfiguration: Codable, Equatable {
        var targetValue: Double?
        var predefinedMetricSpecification: PredefinedMetricSpecification?
        var customizedMetricSpecification: Present?
        var scaleOutCooldown: Int?
        var scaleInCooldown: Int?
        var disableScaleIn: Bool?
    }

    struct PutScalingPolicyRequest: Decodable {
        var policyName: String?
        var serviceNamespace: String?
        var resourceId: String?
        var scalableDimension: String?
        var policyType: String?
        var stepScalingPolicyConfiguration: Present?
        var targetTrackingScalingPolicyConfiguration: TargetTrackingScalingPolicyConfiguration?
        var predictiveScalingPolicyConfiguration: Present?
    }

    struct Alarm: Codable, Equatable {
        var alarmName: String
        var alarmARN: String
    }

    struct PutScalingPolicyResponse: Encodable {
        var policyARN: String
        var alarms: [Alarm]
    }

    struct ScalingPolicy: Codable, Equatable {
        var policyARN: String
        var policyName: String
        var serviceNamespace: String
        var resourceId: String
        var scalableDimension: String
        var policyType: String
        var targetTrackingScalingPolicyConfiguration: TargetTrackingScalingPolicyConfiguration?
        var alarms: [Alarm]
        var creationTime: Date
    }

    struct DescribeScalableTargetsRequest: Decodable {
        var serviceNamespace: String?
        var resourceIds: [String]?
        var scalableDimension: String?
        var maxResults: Int?
        var nextToken: String?
    }

    struct DescribeScalableTargetsResponse: Encodable {
        var scalableTargets: [ScalableTarget]
        var nextToken: String?
    }

    struct DescribeScalingPoliciesRequest: Decodable {
        var policyNames: [String]?
        var serviceNamespace: String?
        var resourceId: String?
        var scalableDimension: String?
        var maxResults: Int?
        var nextToken: String?
    }

    struct DescribeScalingPoliciesResponse: Encodable {
        var scalingPolicies: [ScalingPolicy]
        var nextToken: String?
    }

    struct DescribeScalingActivitiesRequest: Decodable {
        var serviceNamespace: String?
        var resourceId: String?
        var scalableDimension: String?
        var maxResults: Int?
        var nextToken: String?
        var includeNotScaledActivities: Bool?
    }

    struct ScalingActivity: Codable, Equatable {
        var activityId: String
        var serviceNamespace: String
        var resourceId: String
        var scalableDimension: String
        var description: String
        var cause: String
        var startTime: Date
        var endTime: Date?
        var statusCode: String
        var statusMessage: String?
    }

    struct DescribeScalingActivitiesResponse: Encodable {
        var scalingActivities: [ScalingActivity]
        var nextToken: String?
    }

    struct DeleteScalingPolicyRequest: Decodable {
        var policyName: String?
        var serviceNamespace: String?
        var resourceId: String?
        var scalableDimension: String?
    }

    struct DeregisterScalableTargetRequest: Decodable {
        var serviceNamespace: String?
        var resourceId: String?
        var scalableDimension: String?
    }

    struct Empty: Codable {}

    /// The model's enums this server checks requests against (ServiceNamespace,
    /// ScalableDimension, PolicyType, MetricType), so a value outside them is refused as the
    /// service refuses it rather than as unsupported.
    static let serviceNamespaces = ["ecs", "elasticmapreduce", "ec2", "appstream", "dynamodb", "rds", "sagemaker", "custom-resource",
                                    "comprehend", "lambda", "cassandra", "kafka", "elasticache", "neptune", "workspaces"]
    static let scalableDimensions = [
        "ecs:service:DesiredCount", "ec2:spot-fleet-request:TargetCapacity", "elasticmapreduce:instancegroup:InstanceCount",
        "appstream:fleet:DesiredCapacity", "dynamodb:table:ReadCapacityUnits", "dynamodb:table:WriteCapacityUnits",
        "dynamodb:index:ReadCapacityUnits", "dynamodb:index:WriteCapacityUnits", "rds:cluster:ReadReplicaCount",
        "sagemaker:variant:DesiredInstanceCount", "custom-resource:ResourceType:Property",
        "comprehend:document-classifier-endpoint:DesiredInferenceUnits", "comprehend:entity-recognizer-endpoint:DesiredInferenceUnits",
        "lambda:function:ProvisionedConcurrency", "cassandra:table:ReadCapacityUnits", "cassandra:table:WriteCapacityUnits",
        "kafka:broker-storage:VolumeSize", "elasticache:cache-cluster:Nodes", "elasticache:replication-group:NodeGroups",
        "elasticache:replication-group:Replicas", "neptune:cluster:ReadReplicaCount", "sagemaker:variant:DesiredProvisionedConcurrency",
        "sagemaker:inference-component:DesiredCopyCount", "workspaces:workspacespool:DesiredUserSessions",
    ]
    static let policyTypes = ["StepScaling", "TargetTrackingScaling", "PredictiveScaling"]
    static let metricTypes = [
        "DynamoDBReadCapacityUtilization", "DynamoDBWriteCapacityUtilization", "ALBRequestCountPerTarget", "RDSReaderAverageCPUUtilization",
        "RDSReaderAverageDatabaseConnections", "EC2SpotFleetRequestAverageCPUUtilization", "EC2SpotFleetRequestAverageNetworkIn",
        "EC2SpotFleetRequestAverageNetworkOut", "SageMakerVariantInvocationsPerInstance", "ECSServiceAverageCPUUtilization",
        "ECSServiceAverageMemoryUtilization", "AppStreamAverageCapacityUtilization", "ComprehendInferenceUtilization",
        "LambdaProvisionedConcurrencyUtilization", "CassandraReadCapacityUtilization", "CassandraWriteCapacityUtilization",
        "KafkaBrokerStorageUtilization", "ElastiCacheEngineCPUUtilization", "ElastiCacheDatabaseMemoryUsagePercentage",
        "ElastiCachePrimaryEngineCPUUtilization", "ElastiCacheReplicaEngineCPUUtilization",
        "ElastiCacheDatabaseMemoryUsageCountedForEvictPercentage", "NeptuneReaderAverageCPUUtilization",
        "SageMakerVariantProvisionedConcurrencyUtilization", "ElastiCacheDatabaseCapacityUsageCountedForEvictPercentage",
        "SageMakerInferenceComponentInvocationsPerCopy", "WorkSpacesAverageUserSessionsCapacityUtilization",
        "SageMakerInferenceComponentConcurrentRequestsPerCopyHighResolution", "SageMakerVariantConcurrentRequestsPerModelHighResolution",
    ]
}

/// JSON of the Application Auto Scaling shapes: PascalCase members, timestamps as epoch seconds.
enum AutoScalingJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.dateEncodingStrategy = .secondsSince1970
        e.keyEncodingStrategy = .custom { path in Key(path.last!.stringValue.prefix(1).uppercased() + path.last!.stringValue.dropFirst()) }
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    static let decoder: JSONDecoder = {
        let d = JSONDecoder()
        d.dateDecodingStrategy = .secondsSince1970
        d.keyDecodingStrategy = .custom { path in Key(path.last!.stringValue.prefix(1).lowercased() + path.last!.stringValue.dropFirst()) }
        return d
    }()

    struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A request of type `T`, its members named in errors as the API spells them.
    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        try decodeRequest(T.self, body, with: decoder) { $0.prefix(1).uppercased() + $0.dropFirst() }
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }

    static func text(_ value: some Encodable) throws -> String {
        String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func value<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try decoder.decode(T.self, from: Data(text.utf8))
    }
}
