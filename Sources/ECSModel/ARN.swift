/// Amazon Resource Names of ECS resources, in AWS's exact shapes: clients (Terraform, the
/// deploy action) split them by "/" and ":".
public enum ARN {
    public static func cluster(region: String, account: String, name: String) -> String {
        "arn:aws:ecs:\(region):\(account):cluster/\(name)"
    }

    public static func task(region: String, account: String, cluster: String, id: String) -> String {
        "arn:aws:ecs:\(region):\(account):task/\(cluster)/\(id)"
    }

    public static func container(region: String, account: String, cluster: String, taskId: String, runtimeId: String) -> String {
        "arn:aws:ecs:\(region):\(account):container/\(cluster)/\(taskId)/\(runtimeId)"
    }

    public static func taskDefinition(region: String, account: String, family: String, revision: Int) -> String {
        "arn:aws:ecs:\(region):\(account):task-definition/\(family):\(revision)"
    }

    /// The last path component of an ARN (a task id, `family:revision`), or the text itself
    /// when it is no ARN.
    public static func resourceId(_ text: String) -> String {
        text.split(separator: "/").last.map(String.init) ?? text
    }
}
