import ECSModel
import Foundation
import GRDB

/// RegisterTaskDefinition, DescribeTaskDefinition, ListTaskDefinitions,
/// ListTaskDefinitionFamilies, DeregisterTaskDefinition, DeleteTaskDefinitions. Definitions are
/// checked by the same loader and rules as `fargate-run validate`; revisions count per family,
/// never reused.
/// A registered revision as the store keeps it.
struct StoredTaskDefinition {
    var family: String
    var revision: Int
    var arn: String
    var status: String
    var document: ECS.TaskDefinition
}

extension ControlPlaneStore {
    /// The definition `ref` names: `family` (its latest ACTIVE revision), `family:revision` or
    /// its ARN.
    func taskDefinition(_ ref: String?) throws -> StoredTaskDefinition? {
        try read { db in try taskDefinition(ref, in: db) }
    }

    /// The same, in a transaction of the caller's.
    func taskDefinition(_ ref: String?, in db: Database) throws -> StoredTaskDefinition? {
        guard let ref, !ref.isEmpty else { return nil }
        let id = ARN.resourceId(ref)
        let parts = id.split(separator: ":")
        let row: Row?
        if parts.count == 2, let rev = Int(parts[1]) {
            row = try Row.fetchOne(db, sql: "SELECT * FROM task_definitions WHERE family = ? AND revision = ?", arguments: [String(parts[0]), rev])
        } else if parts.count == 1 {
            row = try Row.fetchOne(db, sql: "SELECT * FROM task_definitions WHERE family = ? AND status = 'ACTIVE' ORDER BY revision DESC LIMIT 1",
                                   arguments: [id])
        } else {
            row = nil
        }
        return try row.map { r in
            var doc = try StoredJSON.decode(ECS.TaskDefinition.self, r["document"])
            doc.status = ECS.TaskDefinitionStatus(rawValue: r["status"])
            return StoredTaskDefinition(family: r["family"], revision: r["revision"], arn: r["arn"], status: r["status"], document: doc)
        }
    }
}

extension ECSAPI {
    func registerTaskDefinition(_ r: ECS.RegisterTaskDefinitionRequest, _ body: [UInt8], _ caller: Caller) throws -> ECS.RegisterTaskDefinitionResponse {
        // The request is a task definition file's register-input shape: the same checks and
        // messages as `fargate-run validate`.
        let loaded: LoadedTaskDefinition
        do {
            loaded = try TaskDefinitionLoader.load(data: Data(body), name: "RegisterTaskDefinition",
                                                   options: .init(region: settings.region))
        } catch let e as TaskDefinitionError {
            throw ECSError.client(Self.message(e.issues))
        }
        // ECS registers what EC2 could run and checks Fargate's rules only for a definition that
        // requires FARGATE; one that does not, and breaks them, is registered without FARGATE in
        // its compatibilities, and a Fargate RunTask or service of it is refused.
        let fargateIssues = loaded.allIssues
        let requiresFargate = loaded.definition.requiresCompatibilities?.contains { $0.rawValue == "FARGATE" } ?? false
        let issues = requiresFargate ? fargateIssues : loaded.issues + loaded.overrideIssues
        // A container without a name or image gets ECS's own sentence first, as ECS checks it first.
        if loaded.issues.isEmpty { try Self.checkContainers(loaded.definition) }
        guard issues.isEmpty, let family = loaded.definition.family else { throw ECSError.client(Self.message(issues)) }
        let tags = try Validation.tags(r.tags)
        let stored = try store.write { db in
            try register(loaded.definition, family: family, fargate: fargateIssues.isEmpty, account: caller.account, in: db)
        }
        if !tags.isEmpty { try store.setTags(tags, on: stored.arn) }
        return ECS.RegisterTaskDefinitionResponse(taskDefinition: stored.document, tags: tags.map { ECS.Tag(key: $0.0, value: $0.1) })
    }

    /// `d` as the family's next revision.
    func register(_ d: ECS.TaskDefinition, family: String, fargate: Bool, account: String, in db: Database) throws -> StoredTaskDefinition {
        let now = Date()
        let last = try Int.fetchOne(db, sql: "SELECT last_revision FROM families WHERE family = ?", arguments: [family]) ?? 0
        let revision = last + 1
        let arn = ARN.taskDefinition(region: settings.region, account: account, family: family, revision: revision)
        let document = ECSAPI.registered(d, arn: arn, revision: revision, size: TaskDefinitionValidator.size(of: d), fargate: fargate, at: now,
                                         by: "arn:aws:iam::\(account):root")
        try db.execute(sql: "INSERT OR REPLACE INTO families (family, last_revision) VALUES (?, ?)", arguments: [family, revision])
        try db.execute(sql: "INSERT INTO task_definitions (family, revision, arn, status, registered_at, document) VALUES (?, ?, ?, 'ACTIVE', ?, ?)",
                       arguments: [family, revision, arn, now.timeIntervalSince1970, try StoredJSON.encode(document)])
        return StoredTaskDefinition(family: family, revision: revision, arn: arn, status: "ACTIVE", document: document)
    }

    /// The registered revision a task definition file that the host runs (`run -d FILE`) is,
    /// so that a task's taskDefinitionArn names what DescribeTaskDefinition shows: the
    /// family's latest ACTIVE revision when it holds this same definition, else a new one,
    /// registered as RegisterTaskDefinition would (ECS runs only what is registered).
    public func revision(ofFile d: ECS.TaskDefinition) throws -> (arn: String, revision: Int) {
        guard let family = d.family else { throw ECSError.client("the task definition has no family") }
        let stored = try store.write { db -> StoredTaskDefinition in
            if let latest = try store.taskDefinition(family, in: db) {
                var same = ECSAPI.registered(d, arn: latest.arn, revision: latest.revision, size: TaskDefinitionValidator.size(of: d), fargate: true,
                                             at: Date(), by: "")
                (same.registeredAt, same.registeredBy, same.status) = (latest.document.registeredAt, latest.document.registeredBy, latest.document.status)
                if same == latest.document { return latest }
            }
            return try register(d, family: family, fargate: true, account: settings.account, in: db)
        }
        return (stored.arn, stored.revision)
    }

    /// What ECS adds to a definition it registers: its ARN, revision and status, the sizes
    /// normalized ("1 vCPU" → "1024"), what it is compatible with, when and by whom, and the
    /// container defaults it reports (Terraform compares against exactly these).
    static func registered(_ input: ECS.TaskDefinition, arn: String, revision: Int, size: FargateSize?, fargate: Bool, at: Date, by: String) -> ECS.TaskDefinition {
        var d = input
        d.taskDefinitionArn = arn
        d.revision = revision
        d.status = ECS.TaskDefinitionStatus(rawValue: "ACTIVE")
        if let size {
            d.cpu = String(size.cpu)
            d.memory = String(size.memory)
        }
        d.volumes = d.volumes ?? []
        d.placementConstraints = d.placementConstraints ?? []
        d.compatibilities = fargate ? [ECS.Compatibility(rawValue: "EC2"), ECS.Compatibility(rawValue: "FARGATE")] : [ECS.Compatibility(rawValue: "EC2")]
        d.requiresAttributes = d.requiresAttributes ?? []
        d.registeredAt = ECS.Timestamp(at)
        d.registeredBy = by
        d.deregisteredAt = nil
        d.containerDefinitions = d.containerDefinitions?.map { c in
            var c = c
            c.cpu = c.cpu ?? 0
            c.essential = c.essential ?? true
            c.environment = c.environment ?? []
            c.mountPoints = c.mountPoints ?? []
            c.volumesFrom = c.volumesFrom ?? []
            c.portMappings = (c.portMappings ?? []).map { pm in
                var pm = pm
                // On awsvpc the host port is the container port (ECS fills it in).
                if pm.containerPort != nil, pm.hostPort == nil { pm.hostPort = pm.containerPort }
                if pm.protocol == nil { pm.protocol = ECS.TransportProtocol(rawValue: "tcp") }
                return pm
            }
            return c
        }
        return d
    }

    /// What ECS checks of every definition, Fargate or not, with its messages.
    static func checkContainers(_ d: ECS.TaskDefinition) throws {
        let containers = d.containerDefinitions ?? []
        guard !containers.isEmpty else { throw ECSError.client("Container list cannot be empty.") }
        for c in containers {
            guard !(c.name ?? "").isEmpty else { throw ECSError.client("Container.name should not be null or empty.") }
            guard !(c.image ?? "").isEmpty else { throw ECSError.client("Container.image should not be null or empty.") }
        }
    }

    /// Every problem on one line each, as a ClientException's message.
    static func message(_ issues: [ValidationIssue]) -> String {
        issues.isEmpty ? "Invalid task definition." : issues.map(\.description).joined(separator: "\n")
    }

    /// The definition `ref` names: `family` (its latest ACTIVE revision), `family:revision` or
    /// its ARN.
    func taskDefinition(_ ref: String?) throws -> StoredTaskDefinition? { try store.taskDefinition(ref) }

    func describeTaskDefinition(_ r: ECS.DescribeTaskDefinitionRequest, _ caller: Caller) throws -> ECS.DescribeTaskDefinitionResponse {
        guard let td = try taskDefinition(r.taskDefinition) else { throw ECSError.client("Unable to describe task definition.") }
        let tags = (r.include ?? []).contains { $0.rawValue == "TAGS" } ? try store.tags(of: td.arn).map { ECS.Tag(key: $0.0, value: $0.1) } : nil
        return ECS.DescribeTaskDefinitionResponse(taskDefinition: td.document, tags: tags)
    }

    func listTaskDefinitions(_ r: ECS.ListTaskDefinitionsRequest, _ caller: Caller) throws -> ECS.ListTaskDefinitionsResponse {
        let status = r.status?.rawValue ?? "ACTIVE"
        guard ["ACTIVE", "INACTIVE", "DELETE_IN_PROGRESS"].contains(status) else {
            throw ECSError.invalidParameter("status must be one of ACTIVE, INACTIVE, DELETE_IN_PROGRESS")
        }
        let descending = r.sort?.rawValue == "DESC"
        guard r.sort == nil || ["ASC", "DESC"].contains(r.sort!.rawValue) else { throw ECSError.invalidParameter("sort must be ASC or DESC") }
        let order = descending ? "family DESC, revision DESC" : "family ASC, revision ASC"
        let arns = try store.read { db -> [String] in
            if let family = r.familyPrefix {
                return try String.fetchAll(db, sql: "SELECT arn FROM task_definitions WHERE status = ? AND family = ? ORDER BY \(order)", arguments: [status, family])
            }
            return try String.fetchAll(db, sql: "SELECT arn FROM task_definitions WHERE status = ? ORDER BY \(order)", arguments: [status])
        }
        let (page, next) = try Paging.page(arns, token: r.nextToken, max: r.maxResults)
        return ECS.ListTaskDefinitionsResponse(taskDefinitionArns: page, nextToken: next)
    }

    func listTaskDefinitionFamilies(_ r: ECS.ListTaskDefinitionFamiliesRequest, _ caller: Caller) throws -> ECS.ListTaskDefinitionFamiliesResponse {
        let status = r.status?.rawValue ?? "ALL"
        guard ["ACTIVE", "INACTIVE", "ALL"].contains(status) else { throw ECSError.invalidParameter("status must be one of ACTIVE, INACTIVE, ALL") }
        let families = try store.read { db -> [String] in
            let active = Set(try String.fetchAll(db, sql: "SELECT DISTINCT family FROM task_definitions WHERE status = 'ACTIVE'"))
            let all = try String.fetchAll(db, sql: "SELECT family FROM families ORDER BY family")
            return all.filter { f in
                guard r.familyPrefix.map({ f.hasPrefix($0) }) ?? true else { return false }
                switch status {
                case "ACTIVE": return active.contains(f)
                case "INACTIVE": return !active.contains(f)
                default: return true
                }
            }
        }
        let (page, next) = try Paging.page(families, token: r.nextToken, max: r.maxResults)
        return ECS.ListTaskDefinitionFamiliesResponse(families: page, nextToken: next)
    }

    func deregisterTaskDefinition(_ r: ECS.DeregisterTaskDefinitionRequest, _ caller: Caller) throws -> ECS.DeregisterTaskDefinitionResponse {
        guard let ref = r.taskDefinition else { throw ECSError.invalidParameter("taskDefinition is required") }
        let parts = ARN.resourceId(ref).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw ECSError.client("Revision is missing.") }
        guard Int(parts[1]) != nil else { throw ECSError.invalidParameter("Invalid revision number. Number: \(parts[1])") }
        guard var td = try taskDefinition(ref) else { throw ECSError.client("Unable to describe task definition.") }
        let now = Date()
        if td.status == "ACTIVE" {
            td.document.status = ECS.TaskDefinitionStatus(rawValue: "INACTIVE")
            td.document.deregisteredAt = ECS.Timestamp(now)
            let text = try StoredJSON.encode(td.document)
            try store.write { db in
                try db.execute(sql: "UPDATE task_definitions SET status = 'INACTIVE', document = ? WHERE arn = ?", arguments: [text, td.arn])
            }
        }
        return ECS.DeregisterTaskDefinitionResponse(taskDefinition: td.document)
    }

    func deleteTaskDefinitions(_ r: ECS.DeleteTaskDefinitionsRequest, _ caller: Caller) throws -> ECS.DeleteTaskDefinitionsResponse {
        let refs = r.taskDefinitions ?? []
        guard !refs.isEmpty else { throw ECSError.invalidParameter("size of TaskDefinition references list must be greater than 0") }
        guard refs.count <= 10 else { throw ECSError.invalidParameter("Size of TaskDefinition references list cannot exceed 10") }
        var deleted: [ECS.TaskDefinition] = [], failures: [ECS.Failure] = []
        for ref in refs {
            let parts = ARN.resourceId(ref).split(separator: ":")
            guard parts.count == 2, Int(parts[1]) != nil else {
                failures.append(ECS.Failure(arn: ref, reason: "The specified task definition identifier is invalid. Specify a valid name or ARN and try again."))
                continue
            }
            guard var td = try taskDefinition(ref) else {
                failures.append(ECS.Failure(arn: ref, reason: "The specified task definition does not exist. Specify a valid account, family, revision and try again."))
                continue
            }
            guard td.status != "ACTIVE" else {
                failures.append(ECS.Failure(arn: td.arn, reason: "The specified task definition is still in ACTIVE status. Please deregister the target and try again."))
                continue
            }
            td.document.status = ECS.TaskDefinitionStatus(rawValue: "DELETE_IN_PROGRESS")
            let text = try StoredJSON.encode(td.document)
            try store.write { db in
                try db.execute(sql: "UPDATE task_definitions SET status = 'DELETE_IN_PROGRESS', document = ? WHERE arn = ?", arguments: [text, td.arn])
            }
            deleted.append(td.document)
        }
        return ECS.DeleteTaskDefinitionsResponse(taskDefinitions: deleted, failures: failures)
    }
}
