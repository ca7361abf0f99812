import ECSModel
import Foundation

/// Each operation: its request decoded, its handler called, its response encoded.
extension ECSAPI {
    func dispatch(_ op: String, _ body: [UInt8], _ caller: Caller) async throws -> [UInt8] {
        func run<Request: Decodable, Response: Encodable>(_: Request.Type, _ handler: (Request) async throws -> Response) async throws -> [UInt8] {
            try APIJSON.encode(try await handler(try APIJSON.decode(Request.self, body)))
        }
        switch op {
        case "CreateCluster": return try await run(ECS.CreateClusterRequest.self) { try createCluster($0, caller) }
        case "DescribeClusters": return try await run(ECS.DescribeClustersRequest.self) { try await describeClusters($0, caller) }
        case "ListClusters": return try await run(ECS.ListClustersRequest.self) { try listClusters($0, caller) }
        case "DeleteCluster": return try await run(ECS.DeleteClusterRequest.self) { try await deleteCluster($0, caller) }
        case "UpdateCluster": return try await run(ECS.UpdateClusterRequest.self) { try await updateCluster($0, caller) }
        case "RegisterTaskDefinition": return try await run(ECS.RegisterTaskDefinitionRequest.self) { try registerTaskDefinition($0, body, caller) }
        case "DescribeTaskDefinition": return try await run(ECS.DescribeTaskDefinitionRequest.self) { try describeTaskDefinition($0, caller) }
        case "ListTaskDefinitions": return try await run(ECS.ListTaskDefinitionsRequest.self) { try listTaskDefinitions($0, caller) }
        case "ListTaskDefinitionFamilies":
            return try await run(ECS.ListTaskDefinitionFamiliesRequest.self) { try listTaskDefinitionFamilies($0, caller) }
        case "DeregisterTaskDefinition":
            return try await run(ECS.DeregisterTaskDefinitionRequest.self) { try deregisterTaskDefinition($0, caller) }
        case "DeleteTaskDefinitions": return try await run(ECS.DeleteTaskDefinitionsRequest.self) { try deleteTaskDefinitions($0, caller) }
        case "RunTask": return try await run(ECS.RunTaskRequest.self) { try await runTask($0, caller) }
        case "DescribeTasks": return try await run(ECS.DescribeTasksRequest.self) { try await describeTasks($0, caller) }
        case "ListTasks": return try await run(ECS.ListTasksRequest.self) { try await listTasks($0, caller) }
        case "StopTask": return try await run(ECS.StopTaskRequest.self) { try await stopTask($0, caller) }
        case "CreateService": return try await run(ECS.CreateServiceRequest.self) { try await createService($0, caller) }
        case "UpdateService": return try await run(ECS.UpdateServiceRequest.self) { try await updateService($0, caller) }
        case "DescribeServices": return try await run(ECS.DescribeServicesRequest.self) { try await describeServices($0, caller) }
        case "ListServices": return try await run(ECS.ListServicesRequest.self) { try await listServices($0, caller) }
        case "DeleteService": return try await run(ECS.DeleteServiceRequest.self) { try await deleteService($0, caller) }
        case "TagResource": return try await run(ECS.TagResourceRequest.self) { try await tagResource($0, caller) }
        case "UntagResource": return try await run(ECS.UntagResourceRequest.self) { try await untagResource($0, caller) }
        case "ListTagsForResource": return try await run(ECS.ListTagsForResourceRequest.self) { try await listTagsForResource($0, caller) }
        case "PutAccountSetting", "PutAccountSettingDefault":
            return try await run(ECS.PutAccountSettingRequest.self) { try putAccountSetting($0, caller) }
        case "ListAccountSettings": return try await run(ECS.ListAccountSettingsRequest.self) { _ in ECS.ListAccountSettingsResponse(settings: []) }
        default:
            if ECSAPI.modelOperations.contains(op) {
                throw ECSError("UnsupportedFeatureException", "\(op) is not supported by fargate-run")
            }
            throw ECSError("UnknownOperationException", "Unknown operation \(op)")
        }
    }

    /// Every operation of the ECS API model (service-2.json, 2014-11-13): those not served are
    /// refused as unsupported rather than unknown.
    static let modelOperations: Set<String> = [
        "ContinueServiceDeployment", "CreateCapacityProvider", "CreateCluster", "CreateDaemon",
        "CreateExpressGatewayService", "CreateService", "CreateTaskSet", "DeleteAccountSetting", "DeleteAttributes",
        "DeleteCapacityProvider", "DeleteCluster", "DeleteDaemon", "DeleteDaemonTaskDefinition",
        "DeleteExpressGatewayService", "DeleteService", "DeleteTaskDefinitions", "DeleteTaskSet",
        "DeregisterContainerInstance", "DeregisterTaskDefinition", "DescribeCapacityProviders", "DescribeClusters",
        "DescribeContainerInstances", "DescribeDaemon", "DescribeDaemonDeployments", "DescribeDaemonRevisions",
        "DescribeDaemonTaskDefinition", "DescribeExpressGatewayService", "DescribeServiceDeployments",
        "DescribeServiceRevisions", "DescribeServices", "DescribeTaskDefinition", "DescribeTaskSets", "DescribeTasks",
        "DiscoverPollEndpoint", "ExecuteCommand", "GetTaskProtection", "ListAccountSettings", "ListAttributes",
        "ListClusters", "ListContainerInstances", "ListDaemonDeployments", "ListDaemonTaskDefinitions", "ListDaemons",
        "ListServiceDeployments", "ListServices", "ListServicesByNamespace", "ListTagsForResource",
        "ListTaskDefinitionFamilies", "ListTaskDefinitions", "ListTasks", "PutAccountSetting",
        "PutAccountSettingDefault", "PutAttributes", "PutClusterCapacityProviders", "RegisterContainerInstance",
        "RegisterDaemonTaskDefinition", "RegisterTaskDefinition", "RunTask", "StartTask", "StopServiceDeployment",
        "StopTask", "SubmitAttachmentStateChanges", "SubmitContainerStateChange", "SubmitTaskStateChange",
        "TagResource", "UntagResource", "UpdateCapacityProvider", "UpdateCluster", "UpdateClusterSettings",
        "UpdateContainerAgent", "UpdateContainerInstancesState", "UpdateDaemon", "UpdateExpressGatewayService",
        "UpdateService", "UpdateServicePrimaryTaskSet", "UpdateTaskProtection", "UpdateTaskSet",
    ]

    /// PutAccountSetting: the long ARN formats are always on here; the answer echoes the setting.
    func putAccountSetting(_ r: ECS.PutAccountSettingRequest, _ caller: Caller) throws -> ECS.PutAccountSettingResponse {
        guard let name = r.name, let value = r.value else { throw ECSError.invalidParameter("name and value are required") }
        return ECS.PutAccountSettingResponse(setting: ECS.Setting(name: name, value: value,
                                                                  principalArn: r.principalArn ?? "arn:aws:iam::\(caller.account):root"))
    }
}
