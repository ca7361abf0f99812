import Foundation
import GRDB

/// What a task used over a stretch of time, summed from its samples (its own cgroup's, so every
/// container and the pause process count).
public struct UsageTotals: Sendable, Equatable {
    public var cpuNanos: Int64 = 0
    /// Memory in use × seconds: the mean is this over the seconds.
    public var memoryByteSeconds: Double = 0
    public var memoryMaxBytes: Int64 = 0
    /// Milliseconds the samples cover.
    public var millis: Int64 = 0
    public var seconds: Double { Double(millis) / 1000 }

    public init() {}
}

/// A task found in the usage tables, with its samples.
public struct SampledTask: Sendable {
    public var id: Int64
    public var task: UsageTask
}

extension Ledger {
    /// Whether the task was ever sampled.
    public func usageTaskExists(_ taskArn: String) throws -> Bool {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM usage_tasks WHERE task_arn = ?", arguments: [taskArn])! > 0 }
    }

    /// The sampled task an ARN, task id or unique id prefix names; nil when none does.
    /// Throws when a prefix names several.
    public func sampledTask(_ query: String) throws -> SampledTask? {
        try read { db in
            // The id is the ARN's last component: LIKE narrows, Swift decides.
            let all = try Row.fetchAll(db, sql: """
                SELECT id, task_arn, family, revision, cpu, memory, start_us, service, cluster, containers FROM usage_tasks
                WHERE task_arn = ?1 OR task_arn LIKE '%/' || ?1 || '%'
                """, arguments: [query])
            let matching = all.filter { row in
                let arn: String = row[1]
                return arn == query || (arn.split(separator: "/").last.map { $0.hasPrefix(query) } ?? false)
            }
            if matching.count > 1 {
                throw MeteringError.ledger("\"\(query)\" names \(matching.count) tasks; give more of the id")
            }
            guard let row = matching.first else { return nil }
            let containers = try JSONDecoder().decode([UsageTask.Container].self, from: Data((row[9] as String).utf8))
            let service: String? = row[7]
            let task = UsageTask(taskArn: row[1], family: row[2], revision: row[3], cpu: row[4], memory: row[5], startMicros: row[6],
                                 containers: containers,
                                 attribution: TaskAttribution(cluster: row[8], startedBy: nil, group: service.map { "service:" + $0 }))
            return SampledTask(id: row[0], task: task)
        }
    }

    /// A task's samples, by container ("" for the task) then time.
    public func samples(of task: SampledTask) throws -> [UsageSample] {
        let names = [""] + task.task.containers.map(\.name)
        return try read { db in
            try Row.fetchAll(db, sql: """
                SELECT container, t, span_ms, cpu_ns, mem, mem_max, peak, net_rx, net_tx, io_r, io_w, pids FROM usage_samples
                WHERE task = ? ORDER BY container, t
                """, arguments: [task.id]).map { row in
                let index: Int = row[0]
                return UsageSample(container: index < names.count ? names[index] : "#\(index)", time: row[1], spanMillis: row[2],
                                   cpuNanos: row[3], memoryBytes: row[4], memoryMaxBytes: row[5], memoryPeakBytes: row[6],
                                   netRxBytes: row[7], netTxBytes: row[8], ioReadBytes: row[9], ioWriteBytes: row[10], pids: row[11])
            }
        }
    }

    /// Each task's usage (its own cgroup's samples) per time bucket, for the tasks of
    /// `records`, in their order (nil: never sampled): samples ending in `(since, until]`,
    /// bucket `(t − 1) / bucket` (UTC-aligned); only the tasks of `family`, when given. Tasks
    /// are found by their ARN's bytes, with no String or Dictionary keyed by ARN made for them.
    func usageTotals(bucket: Int64, since: Int64?, until: Int64?, family: String? = nil,
                     records: [BillingRecord]) throws -> [[Int64: UsageTotals]?] {
        var out = [[Int64: UsageTotals]?](repeating: nil, count: records.count)
        if records.isEmpty { return out }
        let index = TaskArnIndex(records.map(\.taskArn))
        return try read { db in
            // Sampled task id → record position (ids are dense: an array when they are).
            var pairs: [(id: Int64, record: Int32)] = []
            var maxId: Int64 = 0
            try RawColumns.forEach(db, sql: "SELECT id, task_arn FROM usage_tasks") { c in
                guard let i = index.position(of: c.bytes(1)) else { return }
                let id = c.int(0)
                pairs.append((id, Int32(i)))
                maxId = max(maxId, id)
            }
            if pairs.isEmpty { return out }
            let dense = maxId >= 0 && maxId < Int64(pairs.count) * 4 + 1024
            var recordOfId = [Int32](repeating: -1, count: dense ? Int(maxId) + 1 : 0)
            var recordOfIdSparse: [Int64: Int32] = [:]
            for p in pairs {
                if dense { recordOfId[Int(p.id)] = p.record } else { recordOfIdSparse[p.id] = p.record }
            }
            // One pass in key order: a task's samples come in time order, so its bucket is
            // summed here and stored when the next begins.
            var task: Int64 = .min, record = -1
            var b: Int64 = .min, t = UsageTotals()
            func storeBucket() {
                guard record >= 0, b != .min else { return }
                if var earlier = out[record]?[b] {
                    earlier.cpuNanos += t.cpuNanos
                    earlier.memoryByteSeconds += t.memoryByteSeconds
                    earlier.memoryMaxBytes = max(earlier.memoryMaxBytes, t.memoryMaxBytes)
                    earlier.millis += t.millis
                    out[record]![b] = earlier
                } else if out[record] == nil {
                    out[record] = [b: t]
                } else {
                    out[record]![b] = t
                }
            }
            try RawColumns.forEach(db, sql: """
                SELECT task, t, cpu_ns, mem, coalesce(mem_max, mem), span_ms FROM usage_samples
                WHERE container = 0 AND t > ? AND t <= ?\(family == nil ? "" : " AND task IN (SELECT id FROM usage_tasks WHERE family = ?)")
                """, arguments: StatementArguments([since ?? Int64.min, until ?? Int64.max] + (family.map { [$0] } ?? []))) { c in
                let id = c.int(0), sampleBucket = (c.int(1) - 1) / bucket
                if id != task || sampleBucket != b {
                    storeBucket()
                    if id != task {
                        task = id
                        record = Int(dense ? (id >= 0 && id <= maxId ? recordOfId[Int(id)] : -1) : (recordOfIdSparse[id] ?? -1))
                    }
                    b = sampleBucket
                    t = UsageTotals()
                }
                guard record >= 0 else { return }
                let span = c.int(5)
                t.cpuNanos += c.int(2)
                t.memoryByteSeconds += Double(c.int(3)) * Double(span) / 1000
                t.memoryMaxBytes = max(t.memoryMaxBytes, c.int(4))
                t.millis += span
            }
            storeBucket()
            return out
        }
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch let e as MeteringError { throw e } catch {
            throw MeteringError.ledger("cannot read \(path): \(error)")
        }
    }
}

extension Ledger {
    /// Sampled tasks by id: those of `family` or `service` when given.
    public func sampledTasks(family: String?, service: String?) throws -> [Int64: UsageTask] {
        try read { db in
            var sql = "SELECT id, task_arn, family, revision, cpu, memory, start_us, service, cluster, containers FROM usage_tasks WHERE 1"
            var args: [(any DatabaseValueConvertible)?] = []
            if let family { sql += " AND family = ?"; args.append(family) }
            if let service { sql += " AND service = ?"; args.append(service) }
            var out: [Int64: UsageTask] = [:]
            let decoder = JSONDecoder()
            // Tasks of a family mostly share their containers' JSON: each text is decoded once.
            var decoded: [String: [UsageTask.Container]] = [:]
            try RawColumns.forEach(db, sql: sql, arguments: StatementArguments(args)) { c in
                let text = c.string(9)
                let containers = try decoded[text] ?? {
                    let d = (try? decoder.decode([UsageTask.Container].self, from: Data(text.utf8))) ?? []
                    decoded[text] = d
                    return d
                }()
                let service = c.optionalString(7)
                out[c.int(0)] = UsageTask(taskArn: c.string(1), family: c.string(2), revision: Int(c.int(3)), cpu: Int(c.int(4)),
                                          memory: Int(c.int(5)), startMicros: c.int(6), containers: containers,
                                          attribution: TaskAttribution(cluster: c.optionalString(8), startedBy: nil,
                                                                       group: service.map { "service:" + $0 }))
            }
            return out
        }
    }

    /// Calls `body` with every sample ending after `since` (task id, container index, span in ms,
    /// CPU nanoseconds, memory, memory maximum), of the tasks `family` or `service` picks.
    public func forEachSample(since: Int64?, family: String?, service: String?,
                              _ body: (_ task: Int64, _ container: Int, _ spanMillis: Int64, _ cpuNanos: Int64, _ memory: Int64, _ memoryMax: Int64) -> Void) throws {
        try read { db in
            var sql = "SELECT task, container, span_ms, cpu_ns, mem, coalesce(mem_max, mem) FROM usage_samples WHERE t > ?"
            var args: [(any DatabaseValueConvertible)?] = [since ?? Int64.min]
            if let family { sql += " AND task IN (SELECT id FROM usage_tasks WHERE family = ?)"; args.append(family) }
            if let service { sql += " AND task IN (SELECT id FROM usage_tasks WHERE service = ?)"; args.append(service) }
            try RawColumns.forEach(db, sql: sql, arguments: StatementArguments(args)) { c in
                body(c.int(0), Int(c.int(1)), c.int(2), c.int(3), c.int(4), c.int(5))
            }
        }
    }
}
