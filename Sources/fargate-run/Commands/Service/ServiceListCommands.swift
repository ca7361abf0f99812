import ArgumentParser
import ECSAPI
import ECSModel
import Foundation
import Services

/// `service ls`: the cluster's services with their counts and deployments.
struct ServiceList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a cluster's services.")

    @OptionGroup var options: ServiceOptions

    func run() async throws {
        let client = try ServiceClient(options.global)
        var arns: [String] = []
        var token: String?
        repeat {
            let page: ECS.ListServicesResponse = try client.call("ListServices", ECS.ListServicesRequest(cluster: options.cluster, nextToken: token))
            arns += page.serviceArns ?? []
            token = page.nextToken
        } while token != nil
        var rows: [[String]] = [["SERVICE", "STATUS", "DESIRED", "RUNNING", "PENDING", "TASK DEFINITION", "ROLLOUT"]]
        for batch in stride(from: 0, to: arns.count, by: 10).map({ Array(arns[$0..<min($0 + 10, arns.count)]) }) {
            let r: ECS.DescribeServicesResponse = try client.call("DescribeServices", ECS.DescribeServicesRequest(cluster: options.cluster, services: batch))
            for s in r.services ?? [] {
                let primary = s.deployments?.first { $0.status == "PRIMARY" }
                let others = (s.deployments?.count ?? 1) - 1
                rows.append([s.serviceName ?? "?", s.status ?? "?", "\(s.desiredCount ?? 0)", "\(s.runningCount ?? 0)", "\(s.pendingCount ?? 0)",
                             s.taskDefinition.map(ARN.resourceId) ?? "?",
                             (primary?.rolloutState?.rawValue ?? "-") + (others > 0 ? " (+\(others) draining)" : "")])
            }
        }
        writeOut(1, Table.render(rows))
    }
}

/// `service ps NAME`: the service's tasks.
struct ServiceTasks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ps", abstract: "List a service's tasks.")

    @OptionGroup var options: ServiceOptions

    @Argument(help: "The service's name.")
    var name: String

    @Flag(name: .shortAndLong, help: "Stopped tasks too (those the host still describes).")
    var all = false

    func run() async throws {
        let client = try ServiceClient(options.global)
        _ = try client.describe(name, cluster: options.cluster)
        var arns: [String] = []
        for status in all ? ["RUNNING", "STOPPED"] : ["RUNNING"] {
            var token: String?
            repeat {
                let page: ECS.ListTasksResponse = try client.call("ListTasks", ECS.ListTasksRequest(cluster: options.cluster, nextToken: token, serviceName: name,
                                                                                                   desiredStatus: .init(rawValue: status)))
                arns += page.taskArns ?? []
                token = page.nextToken
            } while token != nil
        }
        let targets = ServiceTasks.targetStates(root: client.root.path, cluster: options.cluster ?? "default", service: name)
        var rows: [[String]] = [["TASK", "STATUS", "HEALTH", "TARGET", "IP", "TASK DEFINITION", "DEPLOYMENT", "STARTED", "STOPPED REASON"]]
        for batch in stride(from: 0, to: arns.count, by: 100).map({ Array(arns[$0..<min($0 + 100, arns.count)]) }) {
            let r: ECS.DescribeTasksResponse = try client.call("DescribeTasks", ECS.DescribeTasksRequest(cluster: options.cluster, tasks: batch))
            for t in (r.tasks ?? []).sorted(by: { ($0.createdAt?.date ?? .distantPast) < ($1.createdAt?.date ?? .distantPast) }) {
                let ip = t.containers?.first?.networkInterfaces?.first?.privateIpv4Address ?? "-"
                let id = ARN.resourceId(t.taskArn ?? "").split(separator: "/").last.map(String.init) ?? ""
                rows.append([String(id.prefix(12)), t.lastStatus ?? "?", t.healthStatus?.rawValue ?? "-", targets[id] ?? "-", ip,
                             t.taskDefinitionArn.map(ARN.resourceId) ?? "?", t.startedBy ?? "-",
                             t.startedAt.map { ISO8601DateFormatter().string(from: $0.date) } ?? "-", t.stoppedReason ?? ""])
            }
        }
        writeOut(1, Table.render(rows))
    }
}

extension ServiceTasks {
    /// Each task's target health state in the service's target group, as the scheduler last
    /// saved it (ELB's states: initial, healthy, unhealthy, draining, unused). Empty for a
    /// service without a load balancer.
    static func targetStates(root: String, cluster: String, service: String) -> [String: String] {
        guard let record = ServiceTargets.record(root: root, cluster: cluster, service: service), !record.loadBalancers.isEmpty else { return [:] }
        var out: [String: String] = [:]
        for t in record.tasks { out[t.id] = t.target?.state ?? "-" }
        return out
    }
}

/// `service events NAME`: what the scheduler did, newest first, as DescribeServices has it.
struct ServiceEvents: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "events", abstract: "Show a service's events, newest first.")

    @OptionGroup var options: ServiceOptions

    @Argument(help: "The service's name.")
    var name: String

    @Option(name: .shortAndLong, help: "Show at most this many.")
    var number = 20

    func run() async throws {
        let client = try ServiceClient(options.global)
        let s = try client.describe(name, cluster: options.cluster)
        for e in (s.events ?? []).prefix(max(0, number)) {
            writeOut(1, (e.createdAt.map { ISO8601DateFormatter().string(from: $0.date) } ?? "-") + "  " + (e.message ?? "") + "\n")
        }
    }
}
