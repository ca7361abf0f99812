import GRDB

/// The usage tables of the ledger (migration v2).
///
/// `usage_tasks`: one row per sampled task: its request (task and containers), family,
/// service, cluster, and billing start. `usage_samples`: one row per task or container per
/// interval, keyed (task, container, t), WITHOUT ROWID so the key is the row's only index.
/// Container 0 is the task's own cgroup (every container, the pause process) and carries the
/// task's network counters; container n is `containers[n-1]` of the task's row.
///
/// Counters are stored as what was used in the interval (`span_ms` milliseconds, measured,
/// ending at second `t`), so any
/// sum over rows is usage, and downsampling only adds rows up. Zero and NULL cost no bytes in a
/// SQLite record: `mem_max` is NULL when it equals `mem`, `peak` when the kernel's peak did not
/// change, `fresh` except on a row whose counters started again from zero (a new cgroup).
enum UsageSchema {
    static func create(_ db: Database) throws {
        try db.execute(sql: """
            CREATE TABLE usage_tasks (
                id INTEGER PRIMARY KEY,
                task_arn TEXT NOT NULL UNIQUE,
                family TEXT NOT NULL,
                revision INTEGER NOT NULL,
                cpu INTEGER NOT NULL,
                memory INTEGER NOT NULL,
                start_us INTEGER NOT NULL,
                service TEXT,
                cluster TEXT,
                containers TEXT NOT NULL
            );
            CREATE INDEX usage_tasks_by_family ON usage_tasks(family);
            CREATE TABLE usage_samples (
                task INTEGER NOT NULL,
                container INTEGER NOT NULL,
                t INTEGER NOT NULL,
                span_ms INTEGER NOT NULL CHECK (span_ms >= 0),
                cpu_ns INTEGER NOT NULL,
                mem INTEGER NOT NULL,
                mem_max INTEGER,
                peak INTEGER,
                net_rx INTEGER NOT NULL DEFAULT 0,
                net_tx INTEGER NOT NULL DEFAULT 0,
                io_r INTEGER,
                io_w INTEGER,
                pids INTEGER NOT NULL,
                fresh INTEGER,
                PRIMARY KEY (task, container, t)
            ) WITHOUT ROWID;
            """)
    }

    /// Adds a row to the interval already stored at its key (the last sample of a task taken in
    /// the second its last tick took, or two downsampled buckets meeting): usage adds up, the
    /// mean of memory is weighted by time, maxima stay maxima.
    static let upsert = """
        INSERT INTO usage_samples (task, container, t, span_ms, cpu_ns, mem, mem_max, peak, net_rx, net_tx, io_r, io_w, pids, fresh)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """ + merge

    /// The conflict clause of `upsert`, and of downsampling's insert.
    static let merge = """
         ON CONFLICT (task, container, t) DO UPDATE SET
            mem = CASE WHEN span_ms + excluded.span_ms = 0 THEN excluded.mem
                       ELSE (mem * span_ms + excluded.mem * excluded.span_ms) / (span_ms + excluded.span_ms) END,
            span_ms = span_ms + excluded.span_ms,
            cpu_ns = cpu_ns + excluded.cpu_ns,
            mem_max = max(coalesce(mem_max, mem), coalesce(excluded.mem_max, excluded.mem)),
            peak = CASE WHEN excluded.peak IS NULL THEN peak WHEN peak IS NULL THEN excluded.peak ELSE max(peak, excluded.peak) END,
            net_rx = net_rx + excluded.net_rx,
            net_tx = net_tx + excluded.net_tx,
            io_r = CASE WHEN excluded.io_r IS NULL THEN io_r ELSE coalesce(io_r, 0) + excluded.io_r END,
            io_w = CASE WHEN excluded.io_w IS NULL THEN io_w ELSE coalesce(io_w, 0) + excluded.io_w END,
            pids = max(pids, excluded.pids),
            fresh = coalesce(fresh, excluded.fresh)
        """
}
