import ECSModel
import Foundation

/// A service as DescribeServices shows it, and the names it is discovered by.
public enum ServiceDescription {
    public static func render(_ r: ServiceRecord, observed: [String: ObservedTask], withTags: Bool = false) -> ECS.Service {
        func counts(_ tasks: [ServiceTaskRecord]) -> (running: Int, pending: Int) {
            var running = 0, pending = 0
            for t in tasks {
                switch observed[t.id]?.phase {
                case .running?: running += 1
                case .pending?: pending += 1
                default: break
                }
            }
            return (running, pending)
        }
        let all = counts(r.tasks)
        let deployments = r.deployments.map { d -> ECS.Deployment in
            let own = r.tasks.filter { $0.deployment == d.id }
            let c = counts(own)
            return ECS.Deployment(id: d.id, status: d.status, taskDefinition: d.taskDefinition,
                                  desiredCount: d.status == "PRIMARY" ? (r.status == "ACTIVE" ? r.desiredCount : 0) : own.filter { $0.stopReason == nil }.count,
                                  pendingCount: c.pending, runningCount: c.running, failedTasks: d.failedTasks,
                                  createdAt: ECS.Timestamp(d.createdAt), updatedAt: ECS.Timestamp(d.updatedAt),
                                  capacityProviderStrategy: r.capacityProviderStrategy,
                                  launchType: r.capacityProviderStrategy == nil ? ECS.LaunchType(rawValue: "FARGATE") : nil,
                                  platformVersion: "1.4.0", platformFamily: "Linux", networkConfiguration: d.networkConfiguration,
                                  rolloutState: ECS.DeploymentRolloutState(rawValue: d.rolloutState), rolloutStateReason: d.rolloutStateReason,
                                  serviceConnectConfiguration: r.serviceConnect)
        }
        var breaker = r.circuitBreaker ?? ECS.DeploymentCircuitBreaker(enable: false, rollback: false)
        breaker.enable = breaker.enable ?? false
        breaker.rollback = breaker.rollback ?? false
        return ECS.Service(serviceArn: r.arn, serviceName: r.name, clusterArn: r.clusterArn, loadBalancers: r.loadBalancers,
                           serviceRegistries: r.serviceRegistries, status: r.status, desiredCount: r.status == "ACTIVE" ? r.desiredCount : 0,
                           runningCount: all.running, pendingCount: all.pending,
                           launchType: r.capacityProviderStrategy == nil ? ECS.LaunchType(rawValue: "FARGATE") : nil,
                           capacityProviderStrategy: r.capacityProviderStrategy, platformVersion: "LATEST", platformFamily: "Linux",
                           taskDefinition: r.taskDefinition,
                           deploymentConfiguration: ECS.DeploymentConfiguration(deploymentCircuitBreaker: breaker, maximumPercent: r.maximumPercent,
                                                                                minimumHealthyPercent: r.minimumHealthyPercent),
                           deployments: deployments,
                           events: r.events.map { ECS.ServiceEvent(id: $0.id, createdAt: ECS.Timestamp($0.createdAt), message: $0.message) },
                           createdAt: ECS.Timestamp(r.createdAt), placementConstraints: [], placementStrategy: [],
                           networkConfiguration: r.networkConfiguration, healthCheckGracePeriodSeconds: r.healthCheckGracePeriodSeconds,
                           schedulingStrategy: ECS.SchedulingStrategy(rawValue: "REPLICA"),
                           deploymentController: ECS.DeploymentController(type: ECS.DeploymentControllerType(rawValue: "ECS")),
                           tags: withTags ? r.tags : nil, createdBy: r.createdBy, enableECSManagedTags: r.enableECSManagedTags,
                           propagateTags: ECS.PropagateTags(rawValue: r.propagateTags ?? "NONE"), enableExecuteCommand: r.enableExecuteCommand)
    }

    /// The DNS names the service's healthy tasks answer to: a service registry's name
    /// (`serve --service-registry ARN=NAME`, else `SERVICE.CLUSTER.local`), and Service Connect's
    /// client aliases, else `discoveryName.namespace`, else `portName.namespace`.
    public static func discoveryNames(_ r: ServiceRecord, registryNames: [String: String]) -> [String] {
        var names: [String] = []
        for reg in r.serviceRegistries {
            names.append(registryNames[reg.registryArn ?? ""] ?? "\(r.name).\(r.cluster).local")
        }
        if let sc = r.serviceConnect, sc.enabled == true {
            let namespace = (sc.namespace ?? r.cluster).split(separator: "/").last.map(String.init) ?? r.cluster
            for svc in sc.services ?? [] {
                let aliases = (svc.clientAliases ?? []).compactMap(\.dnsName)
                if !aliases.isEmpty {
                    names += aliases
                } else if let name = svc.discoveryName ?? svc.portName {
                    names.append("\(name).\(namespace)")
                }
            }
        }
        var seen = Set<String>()
        return names.map { $0.lowercased() }.filter { seen.insert($0).inserted }
    }
}
