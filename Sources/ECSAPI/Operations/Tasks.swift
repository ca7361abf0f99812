import ECSModel
import Foundation
import GRDB
import TaskHost
import TaskRuntime

/// RunTask, DescribeTasks, ListTasks, StopTask over the host's real tasks. A task started here
/// is the same task `fargate-run ps`, `logs`, `exec` and `stop` see; stopped tasks stay
/// describable for `Settings.stoppedTaskRetention` (their state files outlive them).
extension ECSAPI {
    func runTask(_ r: ECS.RunTaskRequest, _ caller: Caller) async throws -> ECS.RunTaskResponse {
        let cluster = try activeCluster(r.cluster)
        if let token = r.clientToken {
            guard token.count <= 64 else { throw ECSError.invalidParameter("clientToken can have at most 64 characters.") }
            // The SDKs fill clientToken in and send the same one again when they retry.
            if let earlier = try store.read({ db in
                try String.fetchOne(db, sql: "SELECT response FROM run_tokens WHERE token = ?", arguments: [token])
            }) {
                return try StoredJSON.decode(ECS.RunTaskResponse.self, earlier)
            }
        }
        guard let ref = r.taskDefinition, !ref.isEmpty else { throw ECSError.invalidParameter("taskDefinition is required") }
        guard let td = try taskDefinition(ref) else { throw ECSError.client("TaskDefinition not found.") }
        guard td.status == "ACTIVE" else { throw ECSError.invalidParameter("TaskDefinition is inactive") }
        let count = r.count ?? 1
        guard (1...10).contains(count) else { throw ECSError.invalidParameter("count must be between 1 and 10.") }
        if let startedBy = r.startedBy, !Validation.isStartedBy(startedBy) {
            throw ECSError.invalidParameter("startedBy can have up to 128 letters (uppercase and lowercase), numbers, hyphens, forward slashes and underscores.")
        }
        if let group = r.group, !(1...255).contains(group.count) { throw ECSError.invalidParameter("group can have 1 to 255 characters.") }
        if r.propagateTags?.rawValue == "SERVICE" {
            throw ECSError.invalidParameter("PropagateTags SERVICE is only valid for tasks started by a service.")
        }
        var tags = try Validation.tags(r.tags)
        let provider = try capacityProvider(launchType: r.launchType?.rawValue, strategy: r.capacityProviderStrategy)
        if let launchType = r.launchType?.rawValue, launchType != "FARGATE" {
            // A cluster here has no container instances: what ECS answers for such a cluster.
            return ECS.RunTaskResponse(tasks: [], failures: [ECS.Failure(arn: cluster.arn, reason: "No Container Instances were found in your cluster.")])
        }
        guard td.document.compatibilities?.contains(where: { $0.rawValue == "FARGATE" }) ?? false else {
            throw ECSError.invalidParameter("Task definition does not support launch_type FARGATE.")
        }
        guard let vpc = r.networkConfiguration?.awsvpcConfiguration else {
            throw ECSError.invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        }
        guard !(vpc.subnets ?? []).isEmpty else { throw ECSError.invalidParameter("subnets can not be empty.") }
        let groups = vpc.securityGroups ?? []
        guard groups.count <= 5 else { throw ECSError.invalidParameter("securityGroups can have at most 5 items.") }
        guard groups.allSatisfy({ (1...255).contains($0.count) }) else {
            throw ECSError.invalidParameter("securityGroups: each name has 1 to 255 characters.")
        }
        if r.propagateTags?.rawValue == "TASK_DEFINITION" {
            let own = Set(tags.map(\.0))
            tags += try store.tags(of: td.arn).filter { !own.contains($0.0) }
        }
        let overrides = try r.overrides.map { String(decoding: try APIJSON.encoder.encode($0), as: UTF8.self) }
        let request = TaskHost.RunRequest(definitionPath: td.arn, overrides: overrides, secretsPath: settings.secretsPath,
                                          workingDirectory: settings.workingDirectory, count: count, cluster: cluster.name,
                                          startedBy: r.startedBy, group: r.group,
                                          tags: tags.isEmpty ? nil : tags.map { ECS.Tag(key: $0.0, value: $0.1) },
                                          definition: td.document, account: caller.account,
                                          securityGroups: groups.isEmpty ? nil : groups, waitUntilStarted: false,
                                          capacityProvider: provider == "FARGATE" ? nil : provider, publishPorts: false)
        var tasks: [ECS.Task]
        do { tasks = try await host.run(request) } catch {
            throw ECSAPI.runError(error)
        }
        for i in tasks.indices {
            if let arn = tasks[i].taskArn, !tags.isEmpty { try store.setTags(tags, on: arn) }
            tasks[i].enableExecuteCommand = r.enableExecuteCommand ?? false
            if !tags.isEmpty { tasks[i].tags = tags.map { ECS.Tag(key: $0.0, value: $0.1) } }
        }
        let response = ECS.RunTaskResponse(tasks: tasks, failures: [])
        if let token = r.clientToken {
            let text = try StoredJSON.encode(response)
            try store.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO run_tokens (token, response, created_at) VALUES (?, ?, ?)",
                               arguments: [token, text, Date().timeIntervalSince1970])
            }
        }
        return response
    }

    /// FARGATE or FARGATE_SPOT, from launchType or capacityProviderStrategy (not both): the
    /// provider with a base is used first, as ECS places the first tasks; else the heaviest.
    func capacityProvider(launchType: String?, strategy: [ECS.CapacityProviderStrategyItem]?) throws -> String {
        let strategy = strategy ?? []
        if launchType != nil && !strategy.isEmpty {
            throw ECSError.invalidParameter("Specify either Launch Type or Capacity Provider Strategy, but not both.")
        }
        if let lt = launchType, !["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"].contains(lt) {
            throw ECSError.invalidParameter("launchType must be one of EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES.")
        }
        guard !strategy.isEmpty else { return "FARGATE" }
        guard strategy.count <= 20 else { throw ECSError.invalidParameter("capacityProviderStrategy can have at most 20 items.") }
        for item in strategy {
            guard let name = item.capacityProvider, ["FARGATE", "FARGATE_SPOT"].contains(name) else {
                throw ECSError.invalidParameter("The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associated capacity providers here: FARGATE, FARGATE_SPOT.")
            }
            guard (0...1000).contains(item.weight ?? 0), (0...100_000).contains(item.base ?? 0) else {
                throw ECSError.invalidParameter("capacityProviderStrategy: weight must be 0 to 1000 and base 0 to 100000.")
            }
        }
        if let based = strategy.first(where: { ($0.base ?? 0) > 0 }) { return based.capacityProvider! }
        return strategy.max { ($0.weight ?? 0) < ($1.weight ?? 0) }!.capacityProvider!
    }

    /// What the host's refusal of a task means to an API client.
    static func runError(_ error: any Error) -> ECSError {
        switch error {
        case let e as TaskDefinitionError: return .client(message(e.issues))
        case let e as LocalInputError: return .invalidParameter(e.description)
        case let e as TaskRuntimeError: return e.code == .internal || e.code == .unavailable ? .server(e.description) : .invalidParameter(e.description)
        default: return .server("\(error)")
        }
    }

    func describeTasks(_ r: ECS.DescribeTasksRequest, _ caller: Caller) async throws -> ECS.DescribeTasksResponse {
        let cluster = try activeCluster(r.cluster)
        let refs = r.tasks ?? []
        guard !refs.isEmpty else { throw ECSError.invalidParameter("Tasks cannot be empty.") }
        guard refs.count <= 100 else { throw ECSError.invalidParameter("taskIds can have at most 100 items.") }
        let withTags = (r.include ?? []).contains { $0.rawValue == "TAGS" }
        var tasks: [ECS.Task] = [], failures: [ECS.Failure] = []
        for ref in refs {
            guard var task = await task(ref, in: cluster) else {
                failures.append(ECS.Failure(arn: ref.hasPrefix("arn:") ? ref : ARN.task(region: settings.region, account: caller.account,
                                                                                        cluster: cluster.name, id: ref),
                                            reason: "MISSING"))
                continue
            }
            task.tags = withTags ? try tags(of: task) : nil
            tasks.append(task)
        }
        return ECS.DescribeTasksResponse(tasks: tasks, failures: failures)
    }

    /// The task `ref` (an id or ARN) names in `cluster`, running or stopped within the
    /// retention; nil otherwise.
    func task(_ ref: String, in cluster: StoredCluster) async -> ECS.Task? {
        let id = ARN.resourceId(ref).split(separator: "/").last.map(String.init) ?? ref
        let found: ECS.Task
        if let running = await host.describe(id) {
            found = running
        } else if let state = host.recorded(id) {
            let stoppedAt = state.task.stoppedAt?.date ?? .distantFuture
            guard Date().timeIntervalSince(stoppedAt) <= settings.stoppedTaskRetention else { return nil }
            found = state.task
        } else {
            return nil
        }
        guard ARN.resourceId(found.clusterArn ?? "") == cluster.name else { return nil }
        return found
    }

    /// A task's tags: those it was started with, then what TagResource and UntagResource did.
    func tags(of task: ECS.Task) throws -> [ECS.Tag] {
        guard let arn = task.taskArn else { return [] }
        let stored = try store.tags(of: arn)
        if try !stored.isEmpty || store.hasTagRecord(arn) { return stored.map { ECS.Tag(key: $0.0, value: $0.1) } }
        return task.tags ?? []
    }

    func listTasks(_ r: ECS.ListTasksRequest, _ caller: Caller) async throws -> ECS.ListTasksResponse {
        let cluster = try activeCluster(r.cluster)
        let desired = r.desiredStatus?.rawValue ?? "RUNNING"
        guard ["RUNNING", "PENDING", "STOPPED"].contains(desired) else {
            throw ECSError.invalidParameter("desiredStatus must be one of RUNNING, PENDING, STOPPED.")
        }
        if let service = r.serviceName, (try self.service(service, in: cluster.name)) == nil { throw ECSError.serviceNotFound() }
        if r.containerInstance != nil { return ECS.ListTasksResponse(taskArns: []) }
        if let lt = r.launchType?.rawValue, lt != "FARGATE" { return ECS.ListTasksResponse(taskArns: []) }
        var candidates = await host.describe()
        if desired == "STOPPED" {
            let running = Set(candidates.compactMap(\.taskArn))
            let since = Date().addingTimeInterval(-settings.stoppedTaskRetention)
            candidates += host.recorded(since: since).map(\.task).filter { t in
                !running.contains(t.taskArn ?? "") && (t.stoppedAt?.date ?? .distantPast) >= since
            }
        }
        let family = r.family.map { ARN.resourceId($0) }
        let arns = candidates.filter { t in
            guard ARN.resourceId(t.clusterArn ?? "") == cluster.name, t.desiredStatus == desired else { return false }
            if let family, ARN.resourceId(t.taskDefinitionArn ?? "").split(separator: ":").first.map(String.init) != family { return false }
            if let s = r.startedBy, t.startedBy != s { return false }
            if let service = r.serviceName, t.group != "service:" + ARN.resourceId(service) { return false }
            return true
        }
        .sorted { ($0.createdAt?.date ?? .distantPast, $0.taskArn ?? "") < ($1.createdAt?.date ?? .distantPast, $1.taskArn ?? "") }
        .compactMap(\.taskArn)
        let (page, next) = try Paging.page(arns, token: r.nextToken, max: r.maxResults)
        return ECS.ListTasksResponse(taskArns: page, nextToken: next)
    }

    func stopTask(_ r: ECS.StopTaskRequest, _ caller: Caller) async throws -> ECS.StopTaskResponse {
        let cluster = try activeCluster(r.cluster)
        guard let ref = r.task, !ref.isEmpty else { throw ECSError.invalidParameter("task is required") }
        let id = ARN.resourceId(ref).split(separator: "/").last.map(String.init) ?? ref
        guard TaskStore.isTaskId(id) else { throw ECSError.invalidParameter("Task Identifier is invalid") }
        let reason = r.reason ?? "Task stopped by user"
        guard reason.count <= 255 else { throw ECSError.invalidParameter("reason can have at most 255 characters.") }
        guard var task = await task(id, in: cluster) else { throw ECSError.invalidParameter("The referenced task was not found.") }
        if task.lastStatus != "STOPPED" {
            _ = try? await host.stop(id, reason: reason)
            // The stop is asynchronous, as on ECS: the answer shows what was asked.
            task = await host.describe(id) ?? host.recorded(id)?.task ?? task
            if task.desiredStatus != "STOPPED" {
                task.desiredStatus = "STOPPED"
                task.stopCode = ECS.TaskStopCode(rawValue: "UserInitiated")
                task.stoppedReason = reason
            }
        }
        task.tags = nil
        return ECS.StopTaskResponse(task: task)
    }
}
