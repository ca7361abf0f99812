import Foundation
import TestSupport
import Testing

/// What tasks started through the ECS API cost, by service and cluster: a service's tasks (on
/// Fargate Spot) and a RunTask task on a real `serve`, driven by the aws CLI, then
/// `fargate-run report --group-by service` and `--group-by cluster` over the ledger they leave.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct ServiceCostTests {
    let clients = ECSAPIClientTests()

    @Test func aServicesTasksAreReportedByServiceAndClusterWithTheirCost() throws {
        let host = try HostTests.Host(["--task-healthy-after", "1"])
        defer { host.cleanup() }
        let h = host.h
        let file = try h.task(#"""
            {"family": "priced", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["sh", "-c", "exec sleep 1000"], "stopTimeout": 2}]}
            """#, name: "priced.json")
        #expect(try clients.aws(host, ["register-task-definition", "--cli-input-json", "file://" + file]).status == 0)
        #expect(try clients.aws(host, ["create-cluster", "--cluster-name", "blue"]).status == 0)
        let network = ["--network-configuration", "awsvpcConfiguration={subnets=[subnet-1]}"]

        // Two tasks of a service on Fargate Spot in cluster blue, one RunTask task on demand in default.
        let create = try clients.aws(host, ["create-service", "--cluster", "blue", "--service-name", "web", "--task-definition", "priced",
                                            "--desired-count", "2", "--capacity-provider-strategy", "capacityProvider=FARGATE_SPOT,weight=1"] + network)
        #expect(create.status == 0, "\(create.stderr)")
        let runTask = try clients.aws(host, ["run-task", "--task-definition", "priced", "--started-by", "cost-test", "--group", "batch",
                                             "--tags", "key=team,value=pay", "--query", "tasks[0].taskArn", "--output", "text"] + network)
        #expect(runTask.status == 0, "\(runTask.stderr)")
        let stable = try clients.aws(host, ["wait", "services-stable", "--cluster", "blue", "--services", "web"])
        #expect(stable.status == 0, "\(stable.stderr)")

        // Everything stops: the service is deleted, the RunTask task stopped; each is billed once.
        #expect(try clients.aws(host, ["delete-service", "--cluster", "blue", "--service", "web", "--force"]).status == 0)
        #expect(try clients.aws(host, ["stop-task", "--task", runTask.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]).status == 0)
        #expect(eventually(timeout: 60) { (try? h.sqlite("SELECT count(*) FROM billing_records")) == "3" }, "three tasks billed")
        #expect(try h.sqlite("SELECT count(*) FROM open_tasks") == "0")

        // The ledger has who each task ran for, and the service's at Spot's rates.
        let rows = try h.sqlite("""
            SELECT cluster, task_group, price_platform, vcpu_hour_nanos, substr(started_by, 1, 8) FROM billing_records ORDER BY task_group, task_arn
            """).split(separator: "\n").map(String.init)
        #expect(rows == ["default|batch|linux/x86_64|40480000|cost-tes",
                         "blue|service:web|linux/x86_64/spot|12144000|ecs-svc/", "blue|service:web|linux/x86_64/spot|12144000|ecs-svc/"], "\(rows)")
        #expect(try h.sqlite("SELECT key || '=' || value FROM task_tags") == "team=pay")

        // report --group-by service: the service's row costs what its two tasks cost.
        let serviceCost = try h.sqlite("SELECT sum(cost_nanos) FROM billing_records WHERE task_group = 'service:web'")
        let byService = try h.metering("report", ["--group-by", "service", "--format", "json"])
        #expect(byService.status == 0, "\(byService.stderr)")
        let serviceRows = try #require(try json(byService.stdout)["rows"] as? [[String: Any]])
        let web = try #require(serviceRows.first { ($0["key"] as? [String: String])?["service"] == "web" }, "\(byService.stdout)")
        #expect(web["tasks"] as? Int == 2)
        #expect(web["cost"] as? String == dollars(serviceCost), "\(web)")
        #expect(serviceRows.count == 2, "web, and the RunTask task outside any service")
        let table = try h.metering("report", ["--group-by", "service"])
        #expect(table.status == 0 && table.stdout.contains("web"), "\(table.stdout)\(table.stderr)")

        // report --group-by cluster: blue is the service's, default the RunTask task's; the total is exact.
        let byCluster = try h.metering("report", ["--group-by", "cluster", "--format", "json"])
        let report = try json(byCluster.stdout)
        let clusterRows = try #require(report["rows"] as? [[String: Any]])
        let costs = Dictionary(uniqueKeysWithValues: clusterRows.compactMap { row in
            ((row["key"] as? [String: String])?["cluster"]).map { ($0, row["cost"] as? String ?? "") }
        })
        #expect(costs == ["blue": dollars(serviceCost),
                          "default": dollars(try h.sqlite("SELECT cost_nanos FROM billing_records WHERE cluster = 'default'"))], "\(byCluster.stdout)")
        #expect(report["totalCost"] as? String == dollars(try h.sqlite("SELECT sum(cost_nanos) FROM billing_records")))
    }

    /// Nano-dollars as reports print them ("0.000123426").
    func dollars(_ nanos: String) -> String {
        let n = Int64(nanos) ?? -1
        var frac = String(n % 1_000_000_000)
        frac = String(repeating: "0", count: 9 - frac.count) + frac
        while frac.count > 2 && frac.hasSuffix("0") { frac.removeLast() }
        return "\(n / 1_000_000_000).\(frac)"
    }
}
