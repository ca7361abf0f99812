import Foundation
import GRDB
import LinuxSupport

/// What the ECS API remembers across host restarts, in SQLite (`<root>/control-plane.sqlite`,
/// WAL): clusters, task definitions and their revisions, tags, RunTask's idempotency tokens and
/// services. Tasks are not here: their descriptions live in their own state files.
public final class ControlPlaneStore: Sendable {
    let db: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(10)
        config.prepareDatabase { db in
            if try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" { try db.execute(sql: "PRAGMA journal_mode = WAL") }
            // The control plane's state is rebuilt by the clients that made it if it is lost in
            // a power failure; tasks and bills have their own durable records.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        let lock = try FileLock(path + ".lock")
        defer { lock.unlock() }
        db = try DatabaseQueue(path: path, configuration: config)
        try ControlPlaneStore.migrator.migrate(db)
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("control-plane-v1") { db in
            try db.execute(sql: """
                CREATE TABLE clusters (
                    name TEXT PRIMARY KEY,
                    arn TEXT NOT NULL,
                    status TEXT NOT NULL,
                    created_at REAL NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE TABLE task_definitions (
                    family TEXT NOT NULL,
                    revision INTEGER NOT NULL,
                    arn TEXT NOT NULL UNIQUE,
                    status TEXT NOT NULL,
                    registered_at REAL NOT NULL,
                    document TEXT NOT NULL,
                    PRIMARY KEY (family, revision)
                );
                CREATE TABLE families (
                    family TEXT PRIMARY KEY,
                    last_revision INTEGER NOT NULL
                );
                CREATE TABLE tags (
                    resource_arn TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (resource_arn, key)
                );
                -- Resources whose tags were ever set here: an empty list then means "none left".
                CREATE TABLE tagged_resources (
                    resource_arn TEXT PRIMARY KEY
                );
                CREATE TABLE run_tokens (
                    token TEXT PRIMARY KEY,
                    response TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE TABLE services (
                    arn TEXT PRIMARY KEY,
                    cluster TEXT NOT NULL,
                    name TEXT NOT NULL,
                    status TEXT NOT NULL,
                    document TEXT NOT NULL,
                    updated_at REAL NOT NULL
                );
                CREATE INDEX services_by_cluster ON services (cluster, name);
                """)
        }
        return m
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let e as ECSError { throw e } catch {
            throw ECSError.server("reading the control plane's state (\(path)): \(error)")
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.write(body) } catch let e as ECSError { throw e } catch {
            throw ECSError.server("writing the control plane's state (\(path)): \(error)")
        }
    }

    // MARK: Tags

    public func tags(of arn: String) throws -> [(String, String)] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT key, value FROM tags WHERE resource_arn = ? ORDER BY key", arguments: [arn])
                .map { ($0["key"], $0["value"]) }
        }
    }

    /// Whether the resource's tags were ever set here (its list is then the whole truth).
    public func hasTagRecord(_ arn: String) throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT 1 FROM tagged_resources WHERE resource_arn = ?", arguments: [arn]) ?? false }
    }

    public func setTags(_ tags: [(String, String)], on arn: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO tagged_resources (resource_arn) VALUES (?)", arguments: [arn])
            for (k, v) in tags {
                try db.execute(sql: "INSERT INTO tags (resource_arn, key, value) VALUES (?, ?, ?) ON CONFLICT (resource_arn, key) DO UPDATE SET value = excluded.value",
                               arguments: [arn, k, v])
            }
        }
    }

    public func removeTags(_ keys: [String], from arn: String) throws {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO tagged_resources (resource_arn) VALUES (?)", arguments: [arn])
            for k in keys { try db.execute(sql: "DELETE FROM tags WHERE resource_arn = ? AND key = ?", arguments: [arn, k]) }
        }
    }

    /// Everything, as `POST /moto-api/reset` asks (test mode only).
    public func reset() throws {
        try write { db in
            for table in ["clusters", "task_definitions", "families", "tags", "tagged_resources", "run_tokens", "services"] {
                try db.execute(sql: "DELETE FROM \(table)")
            }
        }
    }
}

/// JSON of the API's shapes, as the store keeps them and the wire carries them.
enum StoredJSON {
    static func encode(_ value: some Encodable) throws -> String {
        String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
