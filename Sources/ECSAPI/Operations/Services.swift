import ECSModel
import Foundation
import GRDB

/// Services as the store keeps them (the scheduler and its operations build on these).
extension ECSAPI {
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
