import ArgumentParser
import ECSModel
import Foundation

/// `service create NAME TASK-DEFINITION`: registers the definition and creates the service.
struct ServiceCreate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Register a task definition file and run it as a service.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var definition: DefinitionFlags

    @Argument(help: "The service's name.")
    var name: String

    @Argument(help: "The task definition file (any format fargate-run run reads).")
    var taskDefinition: String

    @Option(name: .long, help: "How many tasks to keep running.")
    var desiredCount = 1

    @Option(name: .long, help: "Percent of the desired count kept healthy during a deployment (ECS: 100).")
    var minimumHealthyPercent: Int?

    @Option(name: .long, help: "Percent of the desired count that may run during a deployment (ECS: 200).")
    var maximumPercent: Int?

    @Flag(name: .long, help: "Fail a deployment whose tasks keep failing and roll back to the last completed one.")
    var circuitBreaker = false

    @Option(name: .long, parsing: .singleValue, help: "A security group the tasks join (repeatable; default: the host's default group).")
    var securityGroup: [String] = []

    @Option(name: .long, help: ArgumentHelp("Put the tasks behind a target group: TARGET-GROUP-ARN=CONTAINER:PORT.", valueName: "arn=container:port"))
    var loadBalancer: String?

    @Option(name: .long, help: "Seconds during which failing target health checks do not count.")
    var healthCheckGracePeriod: Int?

    @Flag(name: .long, help: "Wait until the service is steady (exit 1 if its deployment fails).")
    var wait = false

    @Option(name: .long, help: "Longest --wait, in seconds.")
    var waitTimeout = 600

    func validate() throws {
        if let lb = loadBalancer { _ = try ServiceCreate.loadBalancer(lb) }
    }

    static func loadBalancer(_ text: String) throws -> ECS.LoadBalancer {
        guard let eq = text.lastIndex(of: "="), let colon = text[eq...].lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ValidationError("--load-balancer \(text): expected TARGET-GROUP-ARN=CONTAINER:PORT")
        }
        return ECS.LoadBalancer(targetGroupArn: String(text[..<eq]), containerName: String(text[text.index(after: eq)..<colon]), containerPort: port)
    }

    func run() async throws {
        let client = try ServiceClient(options.global)
        let arn = try client.register(taskDefinition, definition: definition)
        var deployment = ECS.DeploymentConfiguration(maximumPercent: maximumPercent, minimumHealthyPercent: minimumHealthyPercent)
        if circuitBreaker { deployment.deploymentCircuitBreaker = ECS.DeploymentCircuitBreaker(enable: true, rollback: true) }
        let request = ECS.CreateServiceRequest(
            cluster: options.cluster, serviceName: name, taskDefinition: arn, loadBalancers: try loadBalancer.map { [try ServiceCreate.loadBalancer($0)] },
            desiredCount: desiredCount, launchType: .init(rawValue: "FARGATE"), deploymentConfiguration: deployment,
            networkConfiguration: ECS.NetworkConfiguration(awsvpcConfiguration: ECS.AwsVpcConfiguration(subnets: ["local"], securityGroups: securityGroup.isEmpty ? nil : securityGroup)),
            healthCheckGracePeriodSeconds: healthCheckGracePeriod)
        let r: ECS.CreateServiceResponse = try client.call("CreateService", request)
        writeOut(1, (r.service?.serviceArn ?? name) + "\n")
        if wait { try client.waitSteady(name, cluster: options.cluster, timeout: waitTimeout) }
    }
}

/// `service update NAME`: a new task definition, desired count or deployment.
struct ServiceUpdate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "update", abstract: "Change a service's task definition or desired count, or redeploy it.")

    @OptionGroup var options: ServiceOptions
    @OptionGroup var definition: DefinitionFlags

    @Argument(help: "The service's name.")
    var name: String

    @Option(name: .long, help: "A task definition file to register and deploy.")
    var taskDefinition: String?

    @Option(name: .long, help: "How many tasks to keep running.")
    var desiredCount: Int?

    @Flag(name: .long, help: "Replace every task even if nothing changed.")
    var forceNewDeployment = false

    @Flag(name: .long, help: "Wait until the service is steady (exit 1 if its deployment fails).")
    var wait = false

    @Option(name: .long, help: "Longest --wait, in seconds.")
    var waitTimeout = 600

    func validate() throws {
        if taskDefinition == nil && desiredCount == nil && !forceNewDeployment {
            throw ValidationError("nothing to change: give --task-definition, --desired-count or --force-new-deployment")
        }
    }

    func run() async throws {
        let client = try ServiceClient(options.global)
        let arn = try taskDefinition.map { try client.register($0, definition: definition) }
        let request = ECS.UpdateServiceRequest(cluster: options.cluster, service: name, desiredCount: desiredCount, taskDefinition: arn,
                                               forceNewDeployment: forceNewDeployment ? true : nil)
        let r: ECS.UpdateServiceResponse = try client.call("UpdateService", request)
        let primary = r.service?.deployments?.first { $0.status == "PRIMARY" }
        writeOut(1, "\(name): \(primary?.id ?? "?") \(primary?.taskDefinition.map(ARN.resourceId) ?? "")\n")
        if wait { try client.waitSteady(name, cluster: options.cluster, timeout: waitTimeout) }
    }
}

/// `service rm NAME`: deletes the service (its tasks are stopped).
struct ServiceRemove: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a service; its tasks are stopped.")

    @OptionGroup var options: ServiceOptions

    @Argument(help: "The service's name.")
    var name: String

    @Flag(name: .shortAndLong, help: "Delete it even while its desired count is above 0.")
    var force = false

    func run() async throws {
        let client = try ServiceClient(options.global)
        let r: ECS.DeleteServiceResponse = try client.call("DeleteService", ECS.DeleteServiceRequest(cluster: options.cluster, service: name, force: force ? true : nil))
        writeOut(1, "\(name): \(r.service?.status ?? "DRAINING")\n")
    }
}
