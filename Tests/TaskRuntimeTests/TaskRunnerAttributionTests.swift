import ECSModel
import Foundation
import Metering
@testable import TaskRuntime
import TestSupport
import Testing

/// Who a task ran for and on which capacity provider, from its identity (RunTask's cluster,
/// startedBy, group, tags and capacityProviderStrategy) to its bill.
extension TaskRunnerTests {
    @Test func aSpotTaskOfAServiceIsBilledAtSpotRatesWithItsAttribution() async throws {
        let dir = try TemporaryDirectory("fr-runner")
        defer { dir.remove() }
        let backend = FakeTaskBackend()
        var config = RunConfiguration(root: try StateRoot(path: dir.path + "/root"))
        config.network.mode = .none
        let identity = TaskIdentity(taskId: TaskIdentity.newTaskId(), region: "us-east-1", account: "000000000000", cluster: "blue",
                                    startedBy: "ecs-svc/1234", group: "service:web", tags: [ECS.Tag(key: "team", value: "pay")],
                                    capacityProvider: "FARGATE_SPOT")
        let r = TaskRunner(plan: try plan(#"[{"name": "app", "image": "x"}]"#), config: config, identity: identity, backend: backend,
                           observer: SilentObserver())
        async let result = r.run()
        try await until { backend.running == ["app"] }
        backend.exit("app", code: 0)
        _ = await result
        let records = try Ledger(path: dir.path + "/root/ledger.sqlite").records()
        try #require(records.count == 1)
        let bill = records[0]
        #expect(bill.pricePlatform == "linux/x86_64/spot" && bill.vcpuHourNanos == 12_144_000 && bill.gbHourNanos == 1_333_500)
        // A minute (a machine that held the test longer bills what it held), of 0.25 vCPU +
        // 0.5 GB at Spot's rates: for 60 s 61,712.5 nano-dollars, rounded half up.
        #expect(bill.billedSeconds == Billing.billedSeconds(startMicros: bill.billingStartMicros, endMicros: bill.billingEndMicros))
        #expect(bill.billedSeconds > 60 || bill.costNanos == 61_713)
        #expect(bill.costNanos == (bill.billedSeconds * (12_144_000 / 4 + 1_333_500 / 2) + 1800) / 3600)
        #expect(bill.cluster == "blue" && bill.startedBy == "ecs-svc/1234" && bill.group == "service:web" && bill.service == "web")
        #expect(bill.tags == ["team": "pay"])
    }
}
