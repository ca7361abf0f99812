import ArgumentParser
import ECSAPI
import ECSModel
import Foundation
import Services

/// `service targets NAME`: the service's targets with ELB's health state, reason and
/// description, as the scheduler last saved them. ECS leaves this to ELB's
/// DescribeTargetHealth, which is not served here (Docs/SERVICES.md); `--output json` prints
/// what `aws elbv2 describe-target-health` would.
struct ServiceTargets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "targets", abstract: "Show a service's load balancer targets and their health.")

    @OptionGroup var options: ServiceOptions

    @Argument(help: "The service's name.")
    var name: String

    @Option(name: .long, help: "text, or json shaped as `aws elbv2 describe-target-health` prints it.")
    var output: OutputFormat = .text

    /// `aws elbv2 describe-target-health`'s answer.
    struct Answer: Encodable {
        struct Entry: Encodable {
            struct Address: Encodable {
                var Id: String
                var Port: Int
            }
            struct Health: Encodable {
                var State: String
                var Reason: String?
                var Description: String?
            }
            var Target: Address
            var HealthCheckPort: String
            var TargetHealth: Health
        }
        var TargetHealthDescriptions: [Entry]
    }

    func run() async throws {
        let client = try ServiceClient(options.global)
        let cluster = options.cluster ?? "default"
        let described = try client.describe(name, cluster: options.cluster)
        guard let lb = described.loadBalancers?.first, let port = lb.containerPort else {
            writeOut(2, "fargate-run: service \(name) has no load balancer: it has no targets\n")
            throw ExitCode(1)
        }
        let tasks = ServiceTargets.record(root: client.root.path, cluster: cluster, service: name)?.tasks ?? []
        var addresses: [String: String] = [:]
        for batch in stride(from: 0, to: tasks.count, by: 100).map({ Array(tasks[$0..<min($0 + 100, tasks.count)]) }) {
            let r: ECS.DescribeTasksResponse = try client.call("DescribeTasks", ECS.DescribeTasksRequest(cluster: options.cluster, tasks: batch.map(\.arn)))
            for t in r.tasks ?? [] {
                let id = ARN.resourceId(t.taskArn ?? "").split(separator: "/").last.map(String.init) ?? ""
                if let ip = t.containers?.first?.networkInterfaces?.first?.privateIpv4Address { addresses[id] = ip }
            }
        }
        if output == .json {
            // As ELB answers: targets by address (one without an address yet is not registered).
            let descriptions = tasks.compactMap { t -> Answer.Entry? in
                guard let ip = addresses[t.id], let h = t.target else { return nil }
                return .init(Target: .init(Id: ip, Port: port), HealthCheckPort: "\(port)",
                             TargetHealth: .init(State: h.state, Reason: h.reason, Description: h.description))
            }
            writeOut(1, try JSONOutput.text(Answer(TargetHealthDescriptions: descriptions)))
            return
        }
        var rows: [[String]] = [["TASK", "TARGET", "STATE", "REASON", "DESCRIPTION"]]
        for t in tasks {
            rows.append([String(t.id.prefix(12)), addresses[t.id].map { "\($0):\(port)" } ?? "-", t.target?.state ?? "-",
                         t.target?.reason ?? "", t.target?.description ?? ""])
        }
        writeOut(1, "target group \(lb.targetGroupArn ?? "?")\n" + Table.render(rows))
    }

    /// The service's record as the scheduler last saved it in the root's control plane.
    static func record(root: String, cluster: String, service: String) -> ServiceRecord? {
        guard let store = try? ControlPlaneStore(path: root + "/control-plane.sqlite") else { return nil }
        return (try? store.services())?.first { $0.cluster == cluster && $0.name == service && $0.status != "INACTIVE" }
    }
}
