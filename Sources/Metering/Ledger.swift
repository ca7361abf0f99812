import Foundation
import GRDB
import LinuxSupport

/// One task's bill: what was requested, for how long, and what it cost.
public struct BillingRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "billing_records"

    public var taskArn: String
    public var family: String
    public var revision: Int
    /// Task cpu units (1024 = 1 vCPU) and memory in MiB, as requested.
    public var cpu: Int64
    public var memory: Int64
    public var ephemeralStorageGiB: Int64
    /// "X86_64" or "ARM64".
    public var architecture: String
    /// The price-table key used ("linux/x86_64").
    public var pricePlatform: String
    public var region: String
    /// Billing interval in microseconds since the epoch: pull start to task end.
    public var billingStartMicros: Int64
    public var billingEndMicros: Int64
    public var billedSeconds: Int64
    public var costNanos: Int64
    /// The rates applied, kept with the record so old rows stay explainable after a price change.
    public var vcpuHourNanos: Int64
    public var gbHourNanos: Int64
    public var stopCode: String?
    /// Measured use from the task's cgroup: CPU time and peak memory.
    public var cpuUsageNanos: Int64?
    public var memoryPeakBytes: Int64?
    /// Who the task ran for (v2; nil on rows billed before): its cluster, RunTask's startedBy
    /// and group ("service:NAME" for a service's tasks), and its tags (kept in `task_tags`).
    public var cluster: String?
    public var startedBy: String?
    public var group: String?
    public var tags: [String: String] = [:]

    public init(taskArn: String, family: String, revision: Int, cpu: Int64, memory: Int64, ephemeralStorageGiB: Int64,
                architecture: String, pricePlatform: String, region: String, billingStartMicros: Int64,
                billingEndMicros: Int64, billedSeconds: Int64, costNanos: Int64, vcpuHourNanos: Int64, gbHourNanos: Int64,
                stopCode: String?, cpuUsageNanos: Int64?, memoryPeakBytes: Int64?) {
        self.taskArn = taskArn
        self.family = family
        self.revision = revision
        self.cpu = cpu
        self.memory = memory
        self.ephemeralStorageGiB = ephemeralStorageGiB
        self.architecture = architecture
        self.pricePlatform = pricePlatform
        self.region = region
        self.billingStartMicros = billingStartMicros
        self.billingEndMicros = billingEndMicros
        self.billedSeconds = billedSeconds
        self.costNanos = costNanos
        self.vcpuHourNanos = vcpuHourNanos
        self.gbHourNanos = gbHourNanos
        self.stopCode = stopCode
        self.cpuUsageNanos = cpuUsageNanos
        self.memoryPeakBytes = memoryPeakBytes
    }

    public var cost: Money { Money(nanos: costNanos) }
    public var billingStart: Date { Date(timeIntervalSince1970: Double(billingStartMicros) / 1e6) }
    public var billingEnd: Date { Date(timeIntervalSince1970: Double(billingEndMicros) / 1e6) }

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case taskArn = "task_arn", family, revision, cpu, memory, ephemeralStorageGiB = "ephemeral_storage_gib", architecture
        case pricePlatform = "price_platform", region, billingStartMicros = "billing_start_us", billingEndMicros = "billing_end_us"
        case billedSeconds = "billed_seconds", costNanos = "cost_nanos", vcpuHourNanos = "vcpu_hour_nanos"
        case gbHourNanos = "gb_hour_nanos", stopCode = "stop_code", cpuUsageNanos = "cpu_usage_ns", memoryPeakBytes = "memory_peak_bytes"
        case cluster, startedBy = "started_by", group = "task_group"
    }

    /// The records `request` selects, read column by column (Codable's decoding of 100,000
    /// records took most of a report's time), in order of billing start, then id: sorted here
    /// (they mostly come in that order already) rather than by SQLite, whose sort of 100,000
    /// whole rows took 0.15 s.
    static func fetchFast(_ db: Database, _ request: QueryInterfaceRequest<BillingRecord>) throws -> [BillingRecord] {
        let columns: [CodingKeys] = [.taskArn, .family, .revision, .cpu, .memory, .ephemeralStorageGiB, .architecture, .pricePlatform,
                                     .region, .billingStartMicros, .billingEndMicros, .billedSeconds, .costNanos, .vcpuHourNanos,
                                     .gbHourNanos, .stopCode, .cpuUsageNanos, .memoryPeakBytes, .cluster, .startedBy, .group]
        let prepared = try request.select(columns.map { Column($0.rawValue) } + [Column("id")]).makePreparedRequest(db)
        var out: [BillingRecord] = []
        var order: [(start: Int64, id: Int64)] = []
        var sorted = true
        try RawColumns.forEach(prepared.statement) { c in
            let key = (start: c.int(9), id: c.int(21))
            if let last = order.last, (last.start, last.id) > (key.start, key.id) { sorted = false }
            order.append(key)
            var r = BillingRecord(taskArn: c.string(0), family: c.string(1), revision: Int(c.int(2)), cpu: c.int(3), memory: c.int(4),
                                  ephemeralStorageGiB: c.int(5), architecture: c.string(6), pricePlatform: c.string(7), region: c.string(8),
                                  billingStartMicros: c.int(9), billingEndMicros: c.int(10), billedSeconds: c.int(11), costNanos: c.int(12),
                                  vcpuHourNanos: c.int(13), gbHourNanos: c.int(14), stopCode: c.optionalString(15),
                                  cpuUsageNanos: c.optionalInt(16), memoryPeakBytes: c.optionalInt(17))
            r.cluster = c.optionalString(18)
            r.startedBy = c.optionalString(19)
            r.group = c.optionalString(20)
            out.append(r)
        }
        if sorted { return out }
        return out.indices.sorted { (order[$0].start, order[$0].id) < (order[$1].start, order[$1].id) }.map { out[$0] }
    }

    /// The ECS service the task belongs to: tasks a service starts have the group
    /// "service:NAME".
    public var service: String? {
        guard let group, group.hasPrefix("service:") else { return nil }
        return String(group.dropFirst("service:".count))
    }
}

/// A task whose billing has started and not yet been closed: written when the pull starts, so a
/// crash of fargate-run leaves evidence instead of a silently unbilled task.
public struct OpenTask: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "open_tasks"
    public var taskArn: String
    public var family: String
    public var billingStartMicros: Int64
    public var pid: Int32

    enum CodingKeys: String, CodingKey, ColumnExpression {
        case taskArn = "task_arn", family, billingStartMicros = "billing_start_us", pid
    }

    public init(taskArn: String, family: String, billingStartMicros: Int64, pid: Int32) {
        self.taskArn = taskArn
        self.family = family
        self.billingStartMicros = billingStartMicros
        self.pid = pid
    }

    public var billingStart: Date { Date(timeIntervalSince1970: Double(billingStartMicros) / 1e6) }
}

/// The metering ledger: SQLite in WAL mode in the state root.
///
/// Billing records are append-only (triggers refuse UPDATE and DELETE) and unique per task, so a
/// task can never be billed twice; a record and the removal of its open-task marker commit in
/// one transaction, so no task is ever both open and billed, or neither.
public final class Ledger: Sendable {
    let db: DatabaseQueue
    public let path: String

    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        // Two tasks in one root finish at the same time; let the second writer wait.
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in
            // WAL is a property of the file: set once, by whoever opens it first.
            if try String.fetchOne(db, sql: "PRAGMA journal_mode") != "wal" {
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        do {
            // Switching to WAL and migrating need the database to themselves, and SQLite does
            // not wait for that: two processes opening a new ledger at once take turns here.
            let lock = try FileLock(path + ".lock")
            defer { lock.unlock() }
            db = try DatabaseQueue(path: path, configuration: config)
            try Ledger.migrator.migrate(db)
        } catch {
            throw MeteringError.ledger("cannot open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE billing_records (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    task_arn TEXT NOT NULL UNIQUE,
                    family TEXT NOT NULL,
                    revision INTEGER NOT NULL,
                    cpu INTEGER NOT NULL CHECK (cpu > 0),
                    memory INTEGER NOT NULL CHECK (memory > 0),
                    ephemeral_storage_gib INTEGER NOT NULL,
                    architecture TEXT NOT NULL,
                    price_platform TEXT NOT NULL,
                    region TEXT NOT NULL,
                    billing_start_us INTEGER NOT NULL,
                    billing_end_us INTEGER NOT NULL CHECK (billing_end_us >= billing_start_us),
                    billed_seconds INTEGER NOT NULL CHECK (billed_seconds >= 60),
                    cost_nanos INTEGER NOT NULL CHECK (cost_nanos >= 0),
                    vcpu_hour_nanos INTEGER NOT NULL,
                    gb_hour_nanos INTEGER NOT NULL,
                    stop_code TEXT,
                    cpu_usage_ns INTEGER,
                    memory_peak_bytes INTEGER,
                    recorded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
                );
                CREATE TRIGGER billing_records_no_update BEFORE UPDATE ON billing_records
                    BEGIN SELECT RAISE(ABORT, 'billing records are append-only'); END;
                CREATE TRIGGER billing_records_no_delete BEFORE DELETE ON billing_records
                    BEGIN SELECT RAISE(ABORT, 'billing records are append-only'); END;
                CREATE TABLE open_tasks (
                    task_arn TEXT PRIMARY KEY,
                    family TEXT NOT NULL,
                    billing_start_us INTEGER NOT NULL,
                    pid INTEGER NOT NULL
                );
                """)
        }
        m.registerMigration("v2") { db in
            // Who a task ran for, for report --group-by: new nullable columns (ALTER TABLE ADD
            // COLUMN rewrites no row, so the append-only triggers stay untouched) and tags in
            // a table of their own. Rows billed before v2 read as NULL: "(none)".
            try db.execute(sql: """
                ALTER TABLE billing_records ADD COLUMN cluster TEXT;
                ALTER TABLE billing_records ADD COLUMN started_by TEXT;
                ALTER TABLE billing_records ADD COLUMN task_group TEXT;
                CREATE INDEX billing_records_by_end ON billing_records(billing_end_us);
                CREATE TABLE task_tags (
                    task_arn TEXT NOT NULL,
                    key TEXT NOT NULL,
                    value TEXT NOT NULL,
                    PRIMARY KEY (task_arn, key)
                ) WITHOUT ROWID;
                """)
            try UsageSchema.create(db)
        }
        return m
    }

    /// Marks a task's billing as started (at its pull start).
    public func open(_ task: OpenTask) throws {
        do { try db.write { db in try task.insert(db) } } catch {
            throw MeteringError.ledger("cannot record the start of \(task.taskArn): \(error)")
        }
    }

    /// Appends the task's record and closes its open marker, atomically.
    public func close(_ record: BillingRecord) throws {
        do {
            try db.write { db in try insertBill(record, db) }
        } catch {
            throw MeteringError.ledger("cannot record the bill of \(record.taskArn): \(error)")
        }
    }

    /// The record, its tags, and the end of the task's open marker.
    private func insertBill(_ record: BillingRecord, _ db: Database) throws {
        try record.insert(db)
        for (k, v) in record.tags.sorted(by: { $0.key < $1.key }) {
            try db.execute(sql: "INSERT INTO task_tags (task_arn, key, value) VALUES (?, ?, ?)", arguments: [record.taskArn, k, v])
        }
        try db.execute(sql: "DELETE FROM open_tasks WHERE task_arn = ?", arguments: [record.taskArn])
    }

    /// Records `record` unless its task is billed already (a resumed task whose host billed
    /// it and died before it could say so), checked in the same transaction. Returns whether
    /// the bill was recorded now.
    public func closeOnce(_ record: BillingRecord) throws -> Bool {
        do {
            return try db.write { db in
                guard try BillingRecord.filter(BillingRecord.CodingKeys.taskArn == record.taskArn).fetchCount(db) == 0 else { return false }
                try insertBill(record, db)
                return true
            }
        } catch {
            throw MeteringError.ledger("cannot record the bill of \(record.taskArn): \(error)")
        }
    }

    /// Billing records with their tags (unless `tags` is false), oldest first, optionally only
    /// those whose billed time reaches past `since` and starts before `until`. Billed time runs
    /// from the billing start for the billed seconds: with the one-minute minimum and the
    /// rounding up, up to 61 s past the task's end, so a window that starts after a short task
    /// ended may still hold some of its billed seconds.
    public func records(since: Date? = nil, until: Date? = nil, family: String? = nil, tags withTags: Bool = true) throws -> [BillingRecord] {
        do {
            return try db.read { db in
                var q = BillingRecord.all()
                if let since {
                    let s = Billing.micros(since)
                    // The end's index finds the candidates; the billed end decides.
                    q = q.filter(BillingRecord.CodingKeys.billingEndMicros >= s - (Billing.minimumSeconds + 1) * 1_000_000)
                        .filter(sql: "billing_start_us + billed_seconds * 1000000 > ?", arguments: [s])
                }
                if let until { q = q.filter(BillingRecord.CodingKeys.billingStartMicros < Billing.micros(until)) }
                if let family { q = q.filter(BillingRecord.CodingKeys.family == family) }
                var records = try BillingRecord.fetchFast(db, q)
                guard withTags, !records.isEmpty else { return records }
                let index = TaskArnIndex(records.map(\.taskArn))
                try RawColumns.forEach(db, sql: "SELECT task_arn, key, value FROM task_tags") { c in
                    guard let i = index.position(of: c.bytes(0)) else { return }
                    records[i].tags[c.string(1)] = c.string(2)
                }
                return records
            }
        } catch {
            throw MeteringError.ledger("cannot read \(path): \(error)")
        }
    }

    /// The task's billing record, once it has one.
    public func record(_ taskArn: String) throws -> BillingRecord? {
        do {
            return try db.read { db in try BillingRecord.filter(BillingRecord.CodingKeys.taskArn == taskArn).fetchOne(db) }
        } catch {
            throw MeteringError.ledger("cannot read \(path): \(error)")
        }
    }

    /// Marks a task's billing as started unless it is started or billed already: what a host
    /// resuming a task does, not knowing whether the one before it got that far.
    public func ensureOpen(_ task: OpenTask) throws {
        do {
            try db.write { db in
                guard try BillingRecord.filter(BillingRecord.CodingKeys.taskArn == task.taskArn).fetchCount(db) == 0,
                      try OpenTask.filter(OpenTask.CodingKeys.taskArn == task.taskArn).fetchCount(db) == 0 else { return }
                try task.insert(db)
            }
        } catch {
            throw MeteringError.ledger("cannot record the start of \(task.taskArn): \(error)")
        }
    }

    /// When the billing of `taskArn` started, as its open marker in the ledger at `path` (or
    /// `shared`) says; nil when it has none, or there is no ledger. For a host resuming a task
    /// whose runner died after recording the start here and before its state file did
    /// (written a few milliseconds later).
    public static func openedBillingStart(of taskArn: String, at path: String, shared: Ledger? = nil) -> Date? {
        guard shared != nil || FileManager.default.fileExists(atPath: path),
              let ledger = try? shared ?? Ledger(path: path),
              let open = try? ledger.openTask(taskArn) else { return nil }
        return open.billingStart
    }

    /// The open marker of `taskArn`: its billing started and has not closed; nil otherwise.
    public func openTask(_ taskArn: String) throws -> OpenTask? {
        do { return try db.read { db in try OpenTask.filter(OpenTask.CodingKeys.taskArn == taskArn).fetchOne(db) } } catch {
            throw MeteringError.ledger("cannot read \(path): \(error)")
        }
    }

    /// Tasks whose billing started and never closed.
    public func openTasks() throws -> [OpenTask] {
        do { return try db.read { db in try OpenTask.fetchAll(db) } } catch {
            throw MeteringError.ledger("cannot read \(path): \(error)")
        }
    }
}
