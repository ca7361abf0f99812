import ECSModel
import Foundation
import GRDB

/// CreateCluster, DescribeClusters, ListClusters, DeleteCluster, UpdateCluster. A `default`
/// cluster exists from the start, as on ECS.
extension ECSAPI {
    /// A cluster as the store keeps it: its document without the counts and tags, which are
    /// read when described.
    struct StoredCluster {
        var name: String
        var arn: String
        var status: String
        var document: ECS.Cluster
    }

    func ensureDefaultCluster(account: String) throws {
        let arn = ARN.cluster(region: settings.region, account: account, name: "default")
        try store.write { db in
            let doc = try StoredJSON.encode(ECS.Cluster(clusterArn: arn, clusterName: "default", status: "ACTIVE", settings: [], capacityProviders: [],
                                                         defaultCapacityProviderStrategy: []))
            try db.execute(sql: "INSERT OR IGNORE INTO clusters (name, arn, status, created_at, document) VALUES ('default', ?, 'ACTIVE', ?, ?)",
                           arguments: [arn, Date().timeIntervalSince1970, doc])
        }
    }

    /// The cluster a request names (name or ARN; absent: `default`), which must exist and be ACTIVE.
    func activeCluster(_ ref: String?) throws -> StoredCluster {
        guard let c = try cluster(ARN.resourceId(ref ?? "default")), c.status == "ACTIVE" else { throw ECSError.clusterNotFound() }
        return c
    }

    func cluster(_ name: String) throws -> StoredCluster? {
        try store.read { db in
            try Row.fetchOne(db, sql: "SELECT name, arn, status, document FROM clusters WHERE name = ?", arguments: [name]).map {
                StoredCluster(name: $0["name"], arn: $0["arn"], status: $0["status"], document: try StoredJSON.decode(ECS.Cluster.self, $0["document"]))
            }
        }
    }

    func createCluster(_ r: ECS.CreateClusterRequest, _ caller: Caller) throws -> ECS.CreateClusterResponse {
        let name = r.clusterName ?? "default"
        guard Validation.isName(name, max: 255) else {
            throw ECSError.invalidParameter("Cluster name can have up to 255 characters: letters (upper and lower case), numbers, hyphens and underscores.")
        }
        let tags = try Validation.tags(r.tags)
        let arn = ARN.cluster(region: settings.region, account: caller.account, name: name)
        let doc = ECS.Cluster(clusterArn: arn, clusterName: name, configuration: r.configuration, status: "ACTIVE", settings: r.settings ?? [],
                              capacityProviders: r.capacityProviders ?? [], defaultCapacityProviderStrategy: r.defaultCapacityProviderStrategy ?? [])
        let text = try StoredJSON.encode(doc)
        try store.write { db in
            // An ACTIVE cluster of that name is returned as it is (ECS's create is idempotent).
            if try String.fetchOne(db, sql: "SELECT status FROM clusters WHERE name = ?", arguments: [name]) != "ACTIVE" {
                try db.execute(sql: "INSERT OR REPLACE INTO clusters (name, arn, status, created_at, document) VALUES (?, ?, 'ACTIVE', ?, ?)",
                               arguments: [name, arn, Date().timeIntervalSince1970, text])
            }
        }
        if !tags.isEmpty { try store.setTags(tags, on: arn) }
        return ECS.CreateClusterResponse(cluster: try describe(try cluster(name)!, include: [.tags]))
    }

    func describeClusters(_ r: ECS.DescribeClustersRequest, _ caller: Caller) async throws -> ECS.DescribeClustersResponse {
        let refs = r.clusters ?? ["default"]
        guard refs.count <= 100 else { throw ECSError.invalidParameter("clusters can have at most 100 items.") }
        let include = Set((r.include ?? []).map(\.rawValue))
        for i in include where !["ATTACHMENTS", "CONFIGURATIONS", "SETTINGS", "STATISTICS", "TAGS"].contains(i) {
            throw ECSError.invalidParameter("include: \(i) is not one of ATTACHMENTS, CONFIGURATIONS, SETTINGS, STATISTICS, TAGS")
        }
        var clusters: [ECS.Cluster] = [], failures: [ECS.Failure] = []
        let counts = await taskCounts()
        for ref in refs {
            let name = ARN.resourceId(ref)
            guard let c = try cluster(name) else {
                failures.append(ECS.Failure(arn: ARN.cluster(region: settings.region, account: caller.account, name: name), reason: "MISSING"))
                continue
            }
            var d = try describe(c, include: include.contains("TAGS") ? [.tags] : [])
            d.runningTasksCount = counts[c.name]?.running ?? 0
            d.pendingTasksCount = counts[c.name]?.pending ?? 0
            d.activeServicesCount = try activeServiceCount(c.name)
            if !include.contains("SETTINGS") && !include.contains("CONFIGURATIONS") { d.configuration = nil }
            if include.contains("STATISTICS") { d.statistics = [] }
            clusters.append(d)
        }
        return ECS.DescribeClustersResponse(clusters: clusters, failures: failures)
    }

    enum ClusterPart { case tags }

    func describe(_ c: StoredCluster, include: Set<ClusterPart>) throws -> ECS.Cluster {
        var d = c.document
        d.status = c.status
        d.registeredContainerInstancesCount = 0
        d.runningTasksCount = d.runningTasksCount ?? 0
        d.pendingTasksCount = d.pendingTasksCount ?? 0
        d.activeServicesCount = d.activeServicesCount ?? 0
        d.statistics = []
        if include.contains(.tags) { d.tags = try store.tags(of: c.arn).map { ECS.Tag(key: $0.0, value: $0.1) } }
        return d
    }

    func listClusters(_ r: ECS.ListClustersRequest, _ caller: Caller) throws -> ECS.ListClustersResponse {
        let arns = try store.read { db in try String.fetchAll(db, sql: "SELECT arn FROM clusters WHERE status = 'ACTIVE' ORDER BY name") }
        let (page, next) = try Paging.page(arns, token: r.nextToken, max: r.maxResults)
        return ECS.ListClustersResponse(clusterArns: page, nextToken: next)
    }

    func deleteCluster(_ r: ECS.DeleteClusterRequest, _ caller: Caller) async throws -> ECS.DeleteClusterResponse {
        guard let ref = r.cluster else { throw ECSError.invalidParameter("cluster is required") }
        let c = try activeCluster(ref)
        if try activeServiceCount(c.name) > 0 {
            throw ECSError("ClusterContainsServicesException", "The Cluster cannot be deleted while Services are active.")
        }
        if let n = await taskCounts()[c.name], n.running + n.pending > 0 {
            throw ECSError("ClusterContainsTasksException", "The Cluster cannot be deleted while Tasks are active.")
        }
        try store.write { db in try db.execute(sql: "UPDATE clusters SET status = 'INACTIVE' WHERE name = ?", arguments: [c.name]) }
        var d = try describe(c, include: [])
        d.status = "INACTIVE"
        return ECS.DeleteClusterResponse(cluster: d)
    }

    func updateCluster(_ r: ECS.UpdateClusterRequest, _ caller: Caller) async throws -> ECS.UpdateClusterResponse {
        var c = try activeCluster(r.cluster)
        if let s = r.settings { c.document.settings = s }
        if let conf = r.configuration { c.document.configuration = conf }
        let text = try StoredJSON.encode(c.document)
        try store.write { db in try db.execute(sql: "UPDATE clusters SET document = ? WHERE name = ?", arguments: [text, c.name]) }
        return ECS.UpdateClusterResponse(cluster: try describe(c, include: []))
    }
}

/// Checks ECS makes on names and tags, with its messages.
enum Validation {
    /// 1 to `max` of letters, digits, hyphens and underscores.
    static func isName(_ s: String, max: Int) -> Bool {
        (1...max).contains(s.utf8.count) && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 }
    }

    /// RunTask's startedBy: up to 128 letters, digits, hyphens, slashes and underscores.
    static func isStartedBy(_ s: String) -> Bool {
        s.utf8.count <= 128 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 47 }
    }

    /// Tags as key/value pairs: at most 50, keys 1-128 characters and unique, values at most
    /// 256, no key in the reserved `aws:` prefix.
    static func tags(_ tags: [ECS.Tag]?) throws -> [(String, String)] {
        let list = tags ?? []
        guard list.count <= 50 else { throw ECSError.invalidParameter("Tags can have at most 50 items.") }
        var seen = Set<String>()
        return try list.map { t in
            guard let k = t.key, (1...128).contains(k.count) else { throw ECSError.invalidParameter("Tag keys must be 1 to 128 characters.") }
            let v = t.value ?? ""
            guard v.count <= 256 else { throw ECSError.invalidParameter("Tag values can have at most 256 characters.") }
            guard !k.lowercased().hasPrefix("aws:") else {
                throw ECSError.invalidParameter("Tag keys may not start with 'aws:': the prefix is reserved for AWS use.")
            }
            guard seen.insert(k).inserted else { throw ECSError.invalidParameter("Tag keys must be unique: \(k) is given twice.") }
            return (k, v)
        }
    }
}

/// `nextToken` paging: the token is the offset of the next page, opaque to clients.
enum Paging {
    static func page<T>(_ items: [T], token: String?, max: Int?, defaultMax: Int = 100) throws -> ([T], String?) {
        let size = max ?? defaultMax
        guard (1...100).contains(size) else { throw ECSError.invalidParameter("maxResults must be between 1 and 100.") }
        var start = 0
        if let token {
            guard let data = Data(base64Encoded: token), let n = Int(String(decoding: data, as: UTF8.self)), n >= 0, n <= items.count else {
                throw ECSError.invalidParameter("Invalid nextToken.")
            }
            start = n
        }
        let end = min(items.count, start + size)
        let next = end < items.count ? Data(String(end).utf8).base64EncodedString() : nil
        return (Array(items[start..<end]), next)
    }
}
