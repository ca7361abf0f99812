import ECSModel
import Foundation
import GRDB
import Services

/// CreateService, UpdateService, DescribeServices, ListServices, DeleteService. The checks and
/// their messages are here; the services themselves are the scheduler's (`ServiceScheduler`).
extension ECSAPI {
    /// The most tasks one service may want (ECS's quota of tasks per service).
    static let maxDesiredCount = 5000

    func createService(_ r: ECS.CreateServiceRequest, _ caller: Caller) async throws -> ECS.CreateServiceResponse {
        let cluster = try activeCluster(r.cluster)
        guard let name = r.serviceName, Validation.isName(name, max: 255) else {
            throw ECSError.invalidParameter("serviceName can have up to 255 letters (uppercase and lowercase), numbers, underscores, and hyphens.")
        }
        if try service(name, in: cluster.name) != nil { throw ECSError.invalidParameter("Creation of service was not idempotent.") }
        if let s = r.schedulingStrategy?.rawValue, s != "REPLICA" {
            throw ECSError.invalidParameter("Fargate services use the REPLICA scheduling strategy; \(s) is not supported.")
        }
        try checkController(r.deploymentController)
        let td = try activeDefinition(r.taskDefinition)
        let desired = r.desiredCount ?? 0
        try checkDesired(desired)
        let provider = try capacityProvider(launchType: r.launchType?.rawValue, strategy: r.capacityProviderStrategy)
        if let lt = r.launchType?.rawValue, lt != "FARGATE" {
            throw ECSError.invalidParameter("fargate-run runs services on FARGATE only: launchType \(lt) is not supported here.")
        }
        _ = provider
        try checkNetwork(r.networkConfiguration)
        let (minimum, maximum, breaker) = try deploymentConfiguration(r.deploymentConfiguration, current: nil)
        try await checkLoadBalancers(r.loadBalancers ?? [], td.document)
        try checkRegistries(r.serviceRegistries ?? [], r.serviceConnectConfiguration, td.document)
        let tags = try Validation.tags(r.tags)
        let grace = r.healthCheckGracePeriodSeconds ?? 0
        guard grace >= 0 else { throw ECSError.invalidParameter("healthCheckGracePeriodSeconds cannot be negative.") }
        let arn = "arn:aws:ecs:\(settings.region):\(caller.account):service/\(cluster.name)/\(name)"
        var record = ServiceRecord(arn: arn, name: name, cluster: cluster.name, clusterArn: cluster.arn, desiredCount: desired,
                                   taskDefinition: td.arn, minimumHealthyPercent: minimum, maximumPercent: maximum, circuitBreaker: breaker,
                                   networkConfiguration: r.networkConfiguration, loadBalancers: r.loadBalancers ?? [],
                                   serviceRegistries: r.serviceRegistries ?? [], serviceConnect: r.serviceConnectConfiguration,
                                   healthCheckGracePeriodSeconds: grace, capacityProviderStrategy: r.capacityProviderStrategy,
                                   propagateTags: r.propagateTags?.rawValue, enableECSManagedTags: r.enableECSManagedTags ?? false,
                                   enableExecuteCommand: r.enableExecuteCommand ?? false,
                                   tags: tags.map { ECS.Tag(key: $0.0, value: $0.1) }, createdAt: Date(),
                                   createdBy: "arn:aws:iam::\(caller.account):root", account: caller.account)
        record = try await scheduler.create(record)
        if !tags.isEmpty { try store.setTags(tags, on: arn) }
        return ECS.CreateServiceResponse(service: await describeService(record, withTags: false))
    }

    func updateService(_ r: ECS.UpdateServiceRequest, _ caller: Caller) async throws -> ECS.UpdateServiceResponse {
        let cluster = try activeCluster(r.cluster)
        guard let ref = r.service else { throw ECSError.invalidParameter("service is required") }
        guard let arn = try service(ref, in: cluster.name), let current = await scheduler.record(arn) else { throw ECSError.serviceNotFound() }
        guard current.status == "ACTIVE" else { throw ECSError("ServiceNotActiveException", "Service was not ACTIVE.") }
        try checkController(r.deploymentController)
        let td = try r.taskDefinition.map { try activeDefinition($0) }
        if let d = r.desiredCount { try checkDesired(d) }
        if r.networkConfiguration != nil { try checkNetwork(r.networkConfiguration) }
        if r.capacityProviderStrategy != nil { _ = try capacityProvider(launchType: nil, strategy: r.capacityProviderStrategy) }
        let (minimum, maximum, breaker) = try deploymentConfiguration(r.deploymentConfiguration, current: current)
        let definition = try td?.document ?? activeOrAnyDefinition(current.taskDefinition)
        if let lbs = r.loadBalancers { try await checkLoadBalancers(lbs, definition) }
        if r.serviceRegistries != nil || r.serviceConnectConfiguration != nil {
            try checkRegistries(r.serviceRegistries ?? current.serviceRegistries, r.serviceConnectConfiguration ?? current.serviceConnect, definition)
        }
        if let grace = r.healthCheckGracePeriodSeconds, grace < 0 { throw ECSError.invalidParameter("healthCheckGracePeriodSeconds cannot be negative.") }
        let updated = try await scheduler.update(arn) { s in
            var redeploy = r.forceNewDeployment ?? false
            if let td, td.arn != s.taskDefinition {
                s.taskDefinition = td.arn
                redeploy = true
            }
            if let d = r.desiredCount { s.desiredCount = d }
            s.minimumHealthyPercent = minimum
            s.maximumPercent = maximum
            s.circuitBreaker = breaker
            if let n = r.networkConfiguration, n != s.networkConfiguration {
                s.networkConfiguration = n
                redeploy = true
            }
            if let lbs = r.loadBalancers, lbs != s.loadBalancers {
                s.loadBalancers = lbs
                redeploy = true
            }
            if let regs = r.serviceRegistries, regs != s.serviceRegistries {
                s.serviceRegistries = regs
                redeploy = true
            }
            if let sc = r.serviceConnectConfiguration, sc != s.serviceConnect {
                s.serviceConnect = sc
                redeploy = true
            }
            if let strategy = r.capacityProviderStrategy, strategy != s.capacityProviderStrategy ?? [] {
                s.capacityProviderStrategy = strategy
                redeploy = true
            }
            if let grace = r.healthCheckGracePeriodSeconds { s.healthCheckGracePeriodSeconds = grace }
            if let e = r.enableExecuteCommand { s.enableExecuteCommand = e }
            if let p = r.propagateTags { s.propagateTags = p.rawValue }
            if let m = r.enableECSManagedTags { s.enableECSManagedTags = m }
            return redeploy
        }
        guard let updated else { throw ECSError.serviceNotFound() }
        return ECS.UpdateServiceResponse(service: await describeService(updated, withTags: false))
    }

    func describeServices(_ r: ECS.DescribeServicesRequest, _ caller: Caller) async throws -> ECS.DescribeServicesResponse {
        let cluster = try activeCluster(r.cluster)
        let refs = r.services ?? []
        guard !refs.isEmpty else { throw ECSError.invalidParameter("Services cannot be empty.") }
        guard refs.count <= 10 else { throw ECSError.invalidParameter("services can have at most 10 items.") }
        let withTags = (r.include ?? []).contains { $0.rawValue == "TAGS" }
        var services: [ECS.Service] = [], failures: [ECS.Failure] = []
        for ref in refs {
            let name = ARN.resourceId(ref).split(separator: "/").last.map(String.init) ?? ref
            if let record = try storedService(name, in: cluster.name) {
                services.append(await describeService(record, withTags: withTags))
            } else {
                failures.append(ECS.Failure(arn: ref.hasPrefix("arn:") ? ref : "arn:aws:ecs:\(settings.region):\(caller.account):service/\(cluster.name)/\(name)",
                                            reason: "MISSING"))
            }
        }
        return ECS.DescribeServicesResponse(services: services, failures: failures)
    }

    func listServices(_ r: ECS.ListServicesRequest, _ caller: Caller) async throws -> ECS.ListServicesResponse {
        let cluster = try activeCluster(r.cluster)
        if let lt = r.launchType?.rawValue, lt != "FARGATE" { return ECS.ListServicesResponse(serviceArns: []) }
        if let s = r.schedulingStrategy?.rawValue, s != "REPLICA" { return ECS.ListServicesResponse(serviceArns: []) }
        let arns = try store.read { db in
            try String.fetchAll(db, sql: "SELECT arn FROM services WHERE cluster = ? AND status != 'INACTIVE' ORDER BY name", arguments: [cluster.name])
        }
        let (page, next) = try Paging.page(arns, token: r.nextToken, max: r.maxResults, defaultMax: 10)
        return ECS.ListServicesResponse(serviceArns: page, nextToken: next)
    }

    func deleteService(_ r: ECS.DeleteServiceRequest, _ caller: Caller) async throws -> ECS.DeleteServiceResponse {
        let cluster = try activeCluster(r.cluster)
        guard let ref = r.service else { throw ECSError.invalidParameter("service is required") }
        guard let arn = try service(ref, in: cluster.name), let current = await scheduler.record(arn) else { throw ECSError.serviceNotFound() }
        if current.status == "ACTIVE" && current.desiredCount > 0 && r.force != true {
            throw ECSError.invalidParameter("The service cannot be stopped while it is scaled above 0.")
        }
        let deleted = try await scheduler.update(arn) { s in
            s.status = "DRAINING"
            s.desiredCount = 0
            return false
        }
        guard let deleted else { throw ECSError.serviceNotFound() }
        return ECS.DeleteServiceResponse(service: await describeService(deleted, withTags: false))
    }

    // MARK: Helpers

    func describeService(_ record: ServiceRecord, withTags: Bool) async -> ECS.Service {
        var s = await scheduler.describe(record.arn) ?? ServiceDescription.render(record, observed: [:])
        s.tags = withTags ? ((try? store.tags(of: record.arn))?.map { ECS.Tag(key: $0.0, value: $0.1) } ?? []) : nil
        return s
    }

    /// The service named in `cluster` as last saved, INACTIVE ones too (DescribeServices shows
    /// deleted services for a while, as ECS does).
    func storedService(_ name: String, in cluster: String) throws -> ServiceRecord? {
        try store.read { db in
            try String.fetchOne(db, sql: "SELECT document FROM services WHERE cluster = ? AND name = ? ORDER BY updated_at DESC LIMIT 1",
                                arguments: [cluster, name])
        }.map { try StoredJSON.decode(ServiceRecord.self, $0) }
    }

    func activeDefinition(_ ref: String?) throws -> StoredTaskDefinition {
        guard let ref, !ref.isEmpty else { throw ECSError.invalidParameter("taskDefinition is required") }
        guard let td = try taskDefinition(ref) else { throw ECSError.client("TaskDefinition not found.") }
        guard td.status == "ACTIVE" else { throw ECSError.invalidParameter("TaskDefinition is inactive") }
        guard td.document.compatibilities?.contains(where: { $0.rawValue == "FARGATE" }) ?? false else {
            throw ECSError.invalidParameter("Task definition does not support launch_type FARGATE.")
        }
        return td
    }

    func activeOrAnyDefinition(_ arn: String) throws -> ECS.TaskDefinition {
        guard let td = try taskDefinition(arn) else { throw ECSError.client("TaskDefinition not found.") }
        return td.document
    }

    func checkDesired(_ n: Int) throws {
        guard n >= 0 else { throw ECSError.invalidParameter("desiredCount cannot be negative.") }
        guard n <= ECSAPI.maxDesiredCount else {
            throw ECSError.invalidParameter("desiredCount \(n) is more than the \(ECSAPI.maxDesiredCount) tasks a service may have.")
        }
    }

    func checkController(_ c: ECS.DeploymentController?) throws {
        if let type = c?.type?.rawValue, type != "ECS" {
            throw ECSError.invalidParameter("deploymentController \(type) is not supported here: fargate-run deploys with the ECS controller (rolling updates).")
        }
    }

    func checkNetwork(_ n: ECS.NetworkConfiguration?) throws {
        guard let vpc = n?.awsvpcConfiguration else {
            throw ECSError.invalidParameter("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
        }
        guard !(vpc.subnets ?? []).isEmpty else { throw ECSError.invalidParameter("subnets can not be empty.") }
        guard (vpc.securityGroups ?? []).count <= 5 else { throw ECSError.invalidParameter("securityGroups can have at most 5 items.") }
    }

    /// minimumHealthyPercent (default 100) and maximumPercent (default 200), each kept from
    /// `current` when not given, and the circuit breaker.
    func deploymentConfiguration(_ c: ECS.DeploymentConfiguration?, current: ServiceRecord?) throws -> (Int, Int, ECS.DeploymentCircuitBreaker?) {
        let minimum = c?.minimumHealthyPercent ?? current?.minimumHealthyPercent ?? 100
        let maximum = c?.maximumPercent ?? current?.maximumPercent ?? 200
        guard (0...100).contains(minimum) else {
            throw ECSError.invalidParameter("deploymentConfiguration.minimumHealthyPercent must be between 0 and 100 (it is \(minimum)).")
        }
        guard maximum >= 100 else {
            throw ECSError.invalidParameter("deploymentConfiguration.maximumPercent must be at least 100 (it is \(maximum)).")
        }
        if let s = c?.strategy?.rawValue, s != "ROLLING" {
            throw ECSError.invalidParameter("deploymentConfiguration.strategy \(s) is not supported here: fargate-run deploys ROLLING.")
        }
        return (minimum, maximum, c?.deploymentCircuitBreaker ?? current?.circuitBreaker)
    }

    func checkLoadBalancers(_ lbs: [ECS.LoadBalancer], _ td: ECS.TaskDefinition) async throws {
        for (i, lb) in lbs.enumerated() {
            guard lb.loadBalancerName == nil else {
                throw ECSError.invalidParameter("loadBalancers[\(i)]: Classic Load Balancers (loadBalancerName) are not supported on Fargate; give a targetGroupArn.")
            }
            guard let tg = lb.targetGroupArn, ECSAPI.isTargetGroupArn(tg) else {
                throw ECSError.invalidParameter("loadBalancers[\(i)].targetGroupArn \(lb.targetGroupArn ?? "(none)") is not a target group ARN (arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID).")
            }
            guard let name = lb.containerName, let port = lb.containerPort else {
                throw ECSError.invalidParameter("loadBalancers[\(i)]: containerName and containerPort are required.")
            }
            guard let c = td.containerDefinitions?.first(where: { $0.name == name }) else {
                throw ECSError.invalidParameter("The container \(name) does not exist in the task definition.")
            }
            guard (c.portMappings ?? []).contains(where: { $0.containerPort == port }) else {
                throw ECSError.invalidParameter("The container \(name) did not have a container port \(port) defined.")
            }
            // Target groups the operator declared (serve --target-group) are the only ones there are.
            if !settings.targetGroups.isEmpty && settings.targetGroups[tg] == nil {
                throw ECSError.invalidParameter("The target group with targetGroupArn \(tg) does not have an associated load balancer.")
            }
            let listener = settings.listener(of: tg, containerPort: port)
            for other in await scheduler.all where other.status == "ACTIVE" {
                for o in other.loadBalancers where o.targetGroupArn != tg {
                    if settings.listener(of: o.targetGroupArn ?? "", containerPort: o.containerPort ?? 0) == listener {
                        throw ECSError.invalidParameter("loadBalancers[\(i)]: \(listener.address):\(listener.port) is already the listener of \(o.targetGroupArn ?? "") (service \(other.name)); give this target group its own with serve --target-group \(tg)=ADDRESS:PORT.")
                    }
                }
            }
        }
        guard lbs.count <= 1 else { throw ECSError.invalidParameter("loadBalancers: fargate-run puts a service behind one target group.") }
    }

    static func isTargetGroupArn(_ s: String) -> Bool {
        let parts = s.split(separator: ":", maxSplits: 5, omittingEmptySubsequences: false)
        return parts.count == 6 && parts[0] == "arn" && parts[2] == "elasticloadbalancing" && parts[5].hasPrefix("targetgroup/")
            && parts[5].split(separator: "/").count == 3
    }

    func checkRegistries(_ regs: [ECS.ServiceRegistry], _ sc: ECS.ServiceConnectConfiguration?, _ td: ECS.TaskDefinition) throws {
        for (i, reg) in regs.enumerated() {
            guard let arn = reg.registryArn, arn.hasPrefix("arn:"), arn.contains(":servicediscovery:") else {
                throw ECSError.invalidParameter("serviceRegistries[\(i)].registryArn must be a Cloud Map service ARN (arn:aws:servicediscovery:REGION:ACCOUNT:service/srv-ID).")
            }
        }
        guard let sc, sc.enabled == true else { return }
        let portNames = Set((td.containerDefinitions ?? []).flatMap { $0.portMappings ?? [] }.compactMap(\.name))
        for (i, svc) in (sc.services ?? []).enumerated() {
            guard let port = svc.portName, portNames.contains(port) else {
                throw ECSError.invalidParameter("serviceConnectConfiguration.services[\(i)].portName \(svc.portName ?? "(none)") is not the name of a port mapping in the task definition (\(portNames.sorted().joined(separator: ", "))).")
            }
            for alias in svc.clientAliases ?? [] {
                if let dns = alias.dnsName, !ECSAPI.isDNSName(dns) {
                    throw ECSError.invalidParameter("serviceConnectConfiguration.services[\(i)].clientAliases dnsName \(dns): up to 127 of a-z, 0-9, '.', '-' and '_', not starting with '-'.")
                }
            }
        }
    }

    static func isDNSName(_ s: String) -> Bool {
        (1...127).contains(s.count) && !s.hasPrefix("-") && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 46 || $0 == 45 || $0 == 95 }
    }

    /// The ARN of the service `ref` (name or ARN) in `cluster`, unless it is INACTIVE (deleted).
    func service(_ ref: String, in cluster: String) throws -> String? {
        let name = ARN.resourceId(ref).split(separator: "/").last.map(String.init) ?? ref
        return try store.read { db in
            try String.fetchOne(db, sql: "SELECT arn FROM services WHERE cluster = ? AND name = ? AND status != 'INACTIVE'",
                                arguments: [cluster, name])
        }
    }

    /// How many ACTIVE services a cluster has (DescribeClusters; DeleteCluster refuses then).
    func activeServiceCount(_ cluster: String) throws -> Int {
        try store.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM services WHERE cluster = ? AND status = 'ACTIVE'", arguments: [cluster]) ?? 0
        }
    }

    /// Running and pending tasks per cluster name, as DescribeClusters counts them.
    func taskCounts() async -> [String: (running: Int, pending: Int)] {
        var counts: [String: (running: Int, pending: Int)] = [:]
        for t in await host.describe() {
            let name = ARN.resourceId(t.clusterArn ?? "")
            var c = counts[name] ?? (0, 0)
            switch t.lastStatus {
            case "RUNNING": c.running += 1
            case "PROVISIONING", "PENDING", "ACTIVATING": c.pending += 1
            default: break
            }
            counts[name] = c
        }
        return counts
    }
}
