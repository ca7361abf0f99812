import ECSModel
import Images
import TaskNetwork

/// The variables Fargate gives a container about its task's endpoint and its place: the
/// metadata URIs (v3, v4, the agent API), the credentials URI when the task has a role,
/// AWS_EXECUTION_ENV, and the region.
public enum EndpointEnvironment {
    /// What every container of the task is given; `credentialsId` when the task serves
    /// task-role credentials.
    public static func variables(endpointId: String, credentialsId: String?) -> [(String, String)] {
        let base = "http://" + TaskEndpointAddress.ip
        var out = [("ECS_CONTAINER_METADATA_URI", "\(base)/v3/\(endpointId)"), ("ECS_CONTAINER_METADATA_URI_V4", "\(base)/v4/\(endpointId)"),
                   ("ECS_AGENT_URI", "\(base)/api/\(endpointId)"), ("AWS_EXECUTION_ENV", "AWS_ECS_FARGATE")]
        if let credentialsId { out.append(("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/\(credentialsId)")) }
        return out
    }

    /// AWS_REGION and AWS_DEFAULT_REGION, both, unless the container already has either from
    /// its definition's environment, its environment files, its secrets or its image's Env
    /// (even empty), as the agent decides it: never one of the two alone.
    public static func region(_ region: String, definition c: ECS.ContainerDefinition, image: ImageConfig.RuntimeConfig?,
                              files: [(String, String)], secrets: [(String, String)]) -> [(String, String)] {
        let keys: Set<String> = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        let imageKeys = (image?.Env ?? []).map { String($0.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]) }
        let given = (c.environment ?? []).compactMap(\.name) + files.map(\.0) + secrets.map(\.0) + imageKeys
        guard !region.isEmpty, !given.contains(where: keys.contains) else { return [] }
        return [("AWS_REGION", region), ("AWS_DEFAULT_REGION", region)]
    }
}
