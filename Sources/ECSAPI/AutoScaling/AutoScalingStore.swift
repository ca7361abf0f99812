import Foundation
import GRDB

/// Application Auto Scaling's state in the control plane's SQLite: scalable targets (with when
/// each last scaled out and in, so cooldowns outlive a host restart), their policies and their
/// scaling activities. Each row keeps its shape as the API returns it (JSON).
extension ControlPlaneStore {
    static func registerAutoScalingMigration(_ m: inout DatabaseMigrator) {
        m.registerMigration("autoscaling-v1") { db in
            try db.execute(sql: """
                CREATE TABLE scalable_targets (
                    namespace TEXT NOT NULL,
                    resource_id TEXT NOT NULL,
                    dimension TEXT NOT NULL,
                    document TEXT NOT NULL,
                    last_scale_out REAL,
                    last_scale_in REAL,
                    PRIMARY KEY (namespace, resource_id, dimension)
                );
                CREATE TABLE scaling_policies (
                    namespace TEXT NOT NULL,
                    resource_id TEXT NOT NULL,
                    dimension TEXT NOT NULL,
                    name TEXT NOT NULL,
                    document TEXT NOT NULL,
                    PRIMARY KEY (namespace, resource_id, dimension, name)
                );
                CREATE TABLE scaling_activities (
                    id TEXT PRIMARY KEY,
                    namespace TEXT NOT NULL,
                    resource_id TEXT NOT NULL,
                    dimension TEXT NOT NULL,
                    start_time REAL NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE INDEX scaling_activities_by_target ON scaling_activities (namespace, resource_id, start_time);
                """)
        }
    }

    static let autoScalingTables = ["scalable_targets", "scaling_policies", "scaling_activities"]

    /// A scalable target with what the scaler remembers of it.
    struct StoredScalableTarget {
        var target: AAS.ScalableTarget
        var lastScaleOut: Date?
        var lastScaleIn: Date?
    }

    func scalableTargets(namespace: String) throws -> [StoredScalableTarget] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT document, last_scale_out, last_scale_in FROM scalable_targets WHERE namespace = ? ORDER BY resource_id, dimension",
                             arguments: [namespace])
                .map { row in
                    StoredScalableTarget(target: try AutoScalingJSON.value(AAS.ScalableTarget.self, row["document"]),
                                         lastScaleOut: (row["last_scale_out"] as Double?).map(Date.init(timeIntervalSince1970:)),
                                         lastScaleIn: (row["last_scale_in"] as Double?).map(Date.init(timeIntervalSince1970:)))
                }
        }
    }

    func scalableTarget(_ namespace: String, _ resourceId: String, _ dimension: String) throws -> StoredScalableTarget? {
        try scalableTargets(namespace: namespace).first { $0.target.resourceId == resourceId && $0.target.scalableDimension == dimension }
    }

    /// Adds or replaces a target's document (its scaling times are kept).
    func saveScalableTarget(_ t: AAS.ScalableTarget) throws {
        let text = try AutoScalingJSON.text(t)
        try write { db in
            try db.execute(sql: """
                INSERT INTO scalable_targets (namespace, resource_id, dimension, document) VALUES (?, ?, ?, ?)
                ON CONFLICT (namespace, resource_id, dimension) DO UPDATE SET document = excluded.document
                """, arguments: [t.serviceNamespace, t.resourceId, t.scalableDimension, text])
        }
    }

    /// Removes a target and its policies (DeregisterScalableTarget); its activities stay.
    func deleteScalableTarget(_ namespace: String, _ resourceId: String, _ dimension: String) throws {
        try write { db in
            try db.execute(sql: "DELETE FROM scalable_targets WHERE namespace = ? AND resource_id = ? AND dimension = ?",
                           arguments: [namespace, resourceId, dimension])
            try db.execute(sql: "DELETE FROM scaling_policies WHERE namespace = ? AND resource_id = ? AND dimension = ?",
                           arguments: [namespace, resourceId, dimension])
        }
    }

    func scalingPolicies(namespace: String) throws -> [AAS.ScalingPolicy] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT document FROM scaling_policies WHERE namespace = ? ORDER BY resource_id, dimension, name",
                                arguments: [namespace])
        }.map { try AutoScalingJSON.value(AAS.ScalingPolicy.self, $0) }
    }

    func saveScalingPolicy(_ p: AAS.ScalingPolicy) throws {
        let text = try AutoScalingJSON.text(p)
        try write { db in
            try db.execute(sql: """
                INSERT INTO scaling_policies (namespace, resource_id, dimension, name, document) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (namespace, resource_id, dimension, name) DO UPDATE SET document = excluded.document
                """, arguments: [p.serviceNamespace, p.resourceId, p.scalableDimension, p.policyName, text])
        }
    }

    /// Whether a policy was there to delete.
    func deleteScalingPolicy(_ namespace: String, _ resourceId: String, _ dimension: String, _ name: String) throws -> Bool {
        try write { db in
            try db.execute(sql: "DELETE FROM scaling_policies WHERE namespace = ? AND resource_id = ? AND dimension = ? AND name = ?",
                           arguments: [namespace, resourceId, dimension, name])
            return db.changesCount > 0
        }
    }

    /// Newest first.
    func scalingActivities(namespace: String) throws -> [AAS.ScalingActivity] {
        try read { db in
            try String.fetchAll(db, sql: "SELECT document FROM scaling_activities WHERE namespace = ? ORDER BY start_time DESC, rowid DESC",
                                arguments: [namespace])
        }.map { try AutoScalingJSON.value(AAS.ScalingActivity.self, $0) }
    }

    /// Records a scaling activity and, in the same transaction, when the target last scaled in
    /// its direction (`out` true for a scale-out).
    func recordScaling(_ a: AAS.ScalingActivity, out: Bool) throws {
        let text = try AutoScalingJSON.text(a)
        try write { db in
            try db.execute(sql: "INSERT INTO scaling_activities (id, namespace, resource_id, dimension, start_time, document) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [a.activityId, a.serviceNamespace, a.resourceId, a.scalableDimension, a.startTime.timeIntervalSince1970, text])
            try db.execute(sql: "UPDATE scalable_targets SET \(out ? "last_scale_out" : "last_scale_in") = ? WHERE namespace = ? AND resource_id = ? AND dimension = ?",
                           arguments: [a.startTime.timeIntervalSince1970, a.serviceNamespace, a.resourceId, a.scalableDimension])
        }
    }
}
