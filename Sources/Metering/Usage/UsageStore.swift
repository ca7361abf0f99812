import Foundation
import GRDB
#if canImport(GRDBSQLite)
import GRDBSQLite
#endif

/// The sampler's own connection to the ledger: it writes a batch of samples every few seconds.
///
/// `synchronous = NORMAL` in WAL mode: a commit reaches the WAL file at once (so it survives
/// `kill -9` of fargate-run) and is fsynced at the next checkpoint rather than at every commit;
/// only a power loss could take the last seconds of samples, never a bill (billing rows are
/// written on the ledger's own connection with `synchronous = FULL`).
final class UsageStore: @unchecked Sendable {
    let db: DatabaseQueue

    /// Opens the ledger at `path`, made and migrated first (`Ledger(path:)`).
    init(ledger: Ledger) throws {
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do { db = try DatabaseQueue(path: ledger.path, configuration: config) } catch {
            throw MeteringError.ledger("cannot open \(ledger.path) for usage samples: \(error)")
        }
    }

    /// Where a task's counters stood at its last stored sample, per container index: what the
    /// next reading is a delta from. Counted from the last sample that started from zero (a
    /// new cgroup), as the kernel counts.
    struct Cursor: Equatable {
        var cpu: UInt64 = 0, rx: UInt64 = 0, tx: UInt64 = 0, ioRead: UInt64 = 0, ioWrite: UInt64 = 0
        var peak: UInt64?
        /// The second of the last sample, and when its reading was taken (ms since the epoch).
        var time: Int64
        var millis: Int64
    }

    /// The task's id in `usage_tasks` (added if new) and, for a task sampled before (resumed
    /// by a host, or finished by `gc`), where each container's counters stood.
    func register(_ task: UsageTask) throws -> (id: Int64, cursors: [Int: Cursor]) {
        try db.write { db in
            let containers = String(decoding: try JSONEncoder().encode(task.containers), as: UTF8.self)
            try db.execute(sql: """
                INSERT INTO usage_tasks (task_arn, family, revision, cpu, memory, start_us, service, cluster, containers)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (task_arn) DO NOTHING
                """, arguments: [task.taskArn, task.family, task.revision, task.cpu, task.memory, task.startMicros, task.service,
                                 task.attribution?.cluster, containers])
            let id = try Int64.fetchOne(db, sql: "SELECT id FROM usage_tasks WHERE task_arn = ?", arguments: [task.taskArn])!
            var cursors: [Int: Cursor] = [:]
            for index in 0...task.containers.count {
                let from = try Int64.fetchOne(db, sql: "SELECT max(t) FROM usage_samples WHERE task = ? AND container = ? AND fresh = 1",
                                              arguments: [id, index]) ?? Int64.min
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT sum(cpu_ns), sum(net_rx), sum(net_tx), sum(io_r), sum(io_w), max(t), max(peak)
                    FROM usage_samples WHERE task = ? AND container = ? AND t >= ?
                    """, arguments: [id, index, from]), let last: Int64 = row[5] else { continue }
                func u(_ i: Int) -> UInt64 { UInt64(max(0, (row[i] as Int64?) ?? 0)) }
                cursors[index] = Cursor(cpu: u(0), rx: u(1), tx: u(2), ioRead: u(3), ioWrite: u(4),
                                        peak: (row[6] as Int64?).map { UInt64($0) }, time: last, millis: last * 1000)
            }
            return (id, cursors)
        }
    }

    /// A sample as stored: the task's id and the container's index.
    struct Row_: Sendable {
        var task: Int64
        var container: Int
        var sample: UsageSample
        var fresh: Bool
    }

    /// Writes a batch in one transaction: one prepared statement, its parameters bound with
    /// SQLite's own functions (GRDB's arguments box each value: a third of the sampler's
    /// writing time at 500 tasks).
    func write(_ rows: [Row_]) throws {
        guard !rows.isEmpty else { return }
        try db.write { db in
            let insert = try db.cachedStatement(sql: UsageSchema.upsert)
            let stmt = insert.sqliteStatement
            @inline(__always) func bind(_ i: Int32, _ v: Int64?) {
                if let v { sqlite3_bind_int64(stmt, i, v) } else { sqlite3_bind_null(stmt, i) }
            }
            for r in rows {
                let s = r.sample
                bind(1, r.task)
                bind(2, Int64(r.container))
                bind(3, s.time)
                bind(4, s.spanMillis)
                bind(5, s.cpuNanos)
                bind(6, s.memoryBytes)
                bind(7, s.memoryMaxBytes == s.memoryBytes ? nil : s.memoryMaxBytes)
                bind(8, s.memoryPeakBytes)
                bind(9, s.netRxBytes)
                bind(10, s.netTxBytes)
                bind(11, s.ioReadBytes)
                bind(12, s.ioWriteBytes)
                bind(13, s.pids)
                bind(14, r.fresh ? 1 : nil)
                let rc = sqlite3_step(stmt)
                sqlite3_reset(stmt)
                guard rc == SQLITE_DONE else {
                    throw MeteringError.ledger("cannot write usage samples: \(String(cString: sqlite3_errstr(rc)))")
                }
            }
        }
    }

    /// Downsamples: samples ending at or before `cutoff` that cover less than `bucket` seconds
    /// become one row per task, container and bucket (ending at the bucket's end). Sums stay
    /// exact; memory becomes the time-weighted mean, its maximum and the peak stay.
    /// Returns how many rows were replaced.
    @discardableResult
    func compact(olderThan cutoff: Int64, into bucket: Int64) throws -> Int {
        let last = cutoff / bucket * bucket
        return try db.write { db in
            try db.execute(sql: "DROP TABLE IF EXISTS temp.usage_compacted")
            try db.execute(sql: """
                CREATE TEMP TABLE usage_compacted AS
                SELECT task, container, (t + ?1 - 1) / ?1 * ?1 AS t, sum(span_ms) AS span_ms, sum(cpu_ns) AS cpu_ns,
                       CASE WHEN sum(span_ms) = 0 THEN max(mem) ELSE sum(mem * span_ms) / sum(span_ms) END AS mem,
                       max(coalesce(mem_max, mem)) AS mem_max, max(peak) AS peak, sum(net_rx) AS net_rx, sum(net_tx) AS net_tx,
                       sum(io_r) AS io_r, sum(io_w) AS io_w, max(pids) AS pids, max(fresh) AS fresh
                FROM usage_samples WHERE t <= ?2 AND span_ms < ?1 * 1000
                GROUP BY task, container, (t + ?1 - 1) / ?1
                """, arguments: [bucket, last])
            try db.execute(sql: "DELETE FROM usage_samples WHERE t <= ? AND span_ms < ?", arguments: [last, bucket * 1000])
            let replaced = db.changesCount
            try db.execute(sql: """
                INSERT INTO usage_samples (task, container, t, span_ms, cpu_ns, mem, mem_max, peak, net_rx, net_tx, io_r, io_w, pids, fresh)
                SELECT task, container, t, span_ms, cpu_ns, mem, CASE WHEN mem_max = mem THEN NULL ELSE mem_max END, peak,
                       net_rx, net_tx, io_r, io_w, pids, fresh FROM temp.usage_compacted WHERE true
                """ + UsageSchema.merge)
            try db.execute(sql: "DROP TABLE temp.usage_compacted")
            return replaced
        }
    }
}
