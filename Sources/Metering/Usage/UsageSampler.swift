#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Logging

/// Samples every registered task once a second, on one thread for the whole process (the
/// host's many tasks, or a foreground run's own), and writes the samples of `writeEvery`
/// seconds to the ledger in one transaction.
///
/// Each sample is what was used since the one before (CPU time, bytes), plus memory in use
/// and the kernel's memory peak. Because the kernel's counters are cumulative, a sample that
/// never reaches the ledger (fargate-run killed before its write) loses only resolution: the
/// next reading, by a host resuming the task or by `gc` ending it, starts from the last stored
/// sample and covers the gap. Nothing is counted twice: a sample's key is (task, container,
/// second), and a reading is a delta from what is stored.
public final class UsageSampler: @unchecked Sendable {
    /// How long samples keep their resolution (Docs/METERING.md).
    public struct Retention: Sendable {
        /// Per-second samples are kept this long, then become per-minute ones.
        public var perSecond: Int64 = 24 * 3600
        /// Per-minute samples are kept this long, then become per-hour ones.
        public var perMinute: Int64 = 30 * 24 * 3600
        /// How often the sampler downsamples what has aged.
        public var every: Int64 = 3600

        public init() {}
    }

    /// A registered task and where its counters stood: `state` as last sampled, `written` as of
    /// the last write. A failed write takes the state back to `written`, so the next write
    /// covers those seconds too.
    final class Entry {
        let task: UsageTask
        let id: Int64
        let source: any UsageSource
        /// Container names by index (0: the task, "").
        let names: [String]
        var state: [Slot]
        var written: [Slot]
        let startMillis: Int64
        /// The last tick's reading time (ms since the epoch): as sampled, as written.
        var lastTick: Int64?
        var writtenLastTick: Int64?
        /// The source's readings, kept from second to second.
        var readings: [UsageReading] = []

        init(task: UsageTask, id: Int64, source: any UsageSource, cursors: [Int: UsageStore.Cursor]) {
            self.task = task
            self.id = id
            self.source = source
            names = [""] + task.containers.map(\.name)
            state = names.indices.map { Slot(cursor: cursors[$0]) }
            written = state
            startMillis = task.startMicros / 1000
        }

        /// The container's index, nil for a name the task does not have.
        func index(of name: String) -> Int? {
            for i in names.indices where names[i] == name { return i }
            return nil
        }

        /// The rows of the state are in the ledger.
        func markWritten() {
            written = state
            writtenLastTick = lastTick
        }

        /// Their write failed: back to the last state written.
        func revert() {
            state = written
            lastTick = writtenLastTick
        }
    }

    /// One cgroup's place in the sequence of samples.
    struct Slot {
        /// Where its counters stood at its last sample.
        var cursor: UsageStore.Cursor?
        /// Idle seconds not written yet, as one row (see `sample`).
        var held: UsageStore.Row_?
        /// Memory in use and pids of its last row; nil until a row was taken by this sampler.
        var memory: Int64?
        var pids: Int64?
    }

    let retention: Retention
    let logger: Logger
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private var store: UsageStore?
    private var running = false
    private var stopped = false
    private var nextCompaction: Int64 = 0
    /// Rows of the ticks since the last write (its storage is kept: no allocation a second).
    private var pending: [UsageStore.Row_] = []
    /// Last rows of finished tasks whose own write failed: no later reading would cover them
    /// (the task and its cgroups are gone), so they stay until a write takes them.
    private var orphans: [UsageStore.Row_] = []
    private var unwrittenTicks = 0
    /// Ticks taken so far.
    public private(set) var ticks = 0
    /// Ticks whose rows are written in one transaction. The ledger is a b-tree keyed by task:
    /// a second's rows of 500 tasks fall on 500 different pages, each copied whole into the
    /// WAL at its commit, and five seconds' rows fall on the same pages (Docs/PERFORMANCE.md).
    /// A kill loses the resolution of these seconds, never their usage (see the type's comment).
    public let writeEvery: Int
    /// The clock (ms since the epoch) and whether `register` starts the thread: tests drive
    /// `tickNow(at:)` themselves.
    var clock: @Sendable () -> Int64 = UsageSampler.nowMillis
    var startsThread = true

    public init(retention: Retention = Retention(), writeEvery: Int = 5, logger: Logger = Logger(label: "fargate-run.usage")) {
        self.retention = retention
        self.writeEvery = max(1, writeEvery)
        self.logger = logger
    }

    /// Starts sampling a task: its first sample is taken now and covers from its billing
    /// start. A task sampled before (by a host before this one) goes on from its last sample.
    public func register(_ task: UsageTask, source: any UsageSource, ledger: Ledger) throws {
        lock.lock()
        defer { lock.unlock() }
        let store = try self.store ?? UsageStore(ledger: ledger)
        self.store = store
        let (id, cursors) = try store.register(task)
        let entry = Entry(task: task, id: id, source: source, cursors: cursors)
        entries[task.taskArn] = entry
        var rows: [UsageStore.Row_] = []
        UsageSampler.sample(entry, at: clock(), complete: true, into: &rows)
        do { try store.write(rows) } catch {
            entry.revert()
            throw error
        }
        entry.markWritten()
        if startsThread && !running && !stopped {
            running = true
            let thread = Thread { [self] in loop() }
            thread.name = "usage-sampler"
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    /// Takes a task's last sample and writes it with its rows not written yet, then stops
    /// sampling it: what its runner does once its containers have stopped and before its bill,
    /// so both end together.
    public func finish(_ taskArn: String) throws {
        lock.lock()
        defer { lock.unlock() }
        guard let entry = entries.removeValue(forKey: taskArn), let store else { return }
        // Its rows not written yet and its last ones; the other tasks' wait for their write.
        var rows = pending.filter { $0.task == entry.id }
        if !rows.isEmpty { pending.removeAll { $0.task == entry.id } }
        UsageSampler.sample(entry, at: clock(), complete: true, into: &rows)
        do { try store.write(rows) } catch {
            // Written with the next write (the thread goes on while they wait), or by `stop()`.
            orphans += rows
            throw error
        }
    }

    /// Writes the rows not written yet. Lock held.
    private func writePending() throws {
        guard let store, !pending.isEmpty || !orphans.isEmpty else { return }
        defer {
            pending.removeAll(keepingCapacity: true)
            unwrittenTicks = 0
        }
        do { try store.write(orphans.isEmpty ? pending : orphans + pending) } catch {
            for entry in entries.values { entry.revert() }
            throw error
        }
        orphans = []
        for entry in entries.values { entry.markWritten() }
    }

    /// The last sample of a task whose sampler died with its fargate-run (what `gc` does
    /// before it ends the task): `source` is made for the containers the task was registered
    /// with. Nothing when the task was never sampled.
    public static func finalSample(_ taskArn: String, ledger: Ledger, at t: Int64 = nowMillis(), source: ([String]) -> any UsageSource) throws {
        guard let sampled = try ledger.sampledTask(taskArn), sampled.task.taskArn == taskArn else { return }
        let store = try UsageStore(ledger: ledger)
        let (id, cursors) = try store.register(sampled.task)
        let entry = Entry(task: sampled.task, id: id, source: source(sampled.task.containers.map(\.name)), cursors: cursors)
        var rows: [UsageStore.Row_] = []
        sample(entry, at: t, complete: true, into: &rows)
        try store.write(rows)
    }

    /// Downsamples a ledger's samples ending at or before `cutoff` (unix seconds) into rows of
    /// `bucket` seconds, as the sampler does with those past their retention. Returns how many
    /// rows were replaced.
    @discardableResult
    public static func downsample(_ ledger: Ledger, olderThan cutoff: Int64, into bucket: Int64) throws -> Int {
        try UsageStore(ledger: ledger).compact(olderThan: cutoff, into: bucket)
    }

    /// Writes the rows not written yet and stops the sampling thread (at its next tick).
    public func stop() {
        lock.withLock {
            stopped = true
            do { try writePending() } catch { logger.warning("cannot write usage samples", metadata: ["error": "\(error)"]) }
        }
    }

    /// Registered tasks now.
    public var taskCount: Int { lock.withLock { entries.count } }

    /// Milliseconds since the epoch: a sample's reading time.
    public static func nowMillis() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

    /// One tick a second, at whole seconds, until stopped or nothing is left to sample.
    private func loop() {
        while true {
            var ts = timespec()
            clock_gettime(CLOCK_REALTIME, &ts)
            // Sleep to the next whole second (a few ms past it, so `now()` rounds to it).
            let wait = 1_000_000_000 - Int(ts.tv_nsec) + 2_000_000
            var req = timespec(tv_sec: wait / 1_000_000_000, tv_nsec: wait % 1_000_000_000), rem = timespec()
            while nanosleep(&req, &rem) != 0 && errno == EINTR { req = rem }
            lock.lock()
            if stopped || (entries.isEmpty && orphans.isEmpty) {
                running = false
                lock.unlock()
                return
            }
            tick(at: clock(), write: entries.isEmpty)
            lock.unlock()
        }
    }

    /// One tick at `t` (ms since the epoch), as the thread takes it each second; written at
    /// once unless `write` is false (tests call it directly).
    func tickNow(at t: Int64, write: Bool = true) {
        lock.withLock { tick(at: t, write: write) }
    }

    /// Samples every task at `ms`, and writes the rows of the ticks so far every `writeEvery`
    /// ticks (or now); downsamples once an hour. Lock held.
    private func tick(at ms: Int64, write: Bool) {
        guard let store else { return }
        for entry in entries.values { UsageSampler.sample(entry, at: ms, complete: false, into: &pending) }
        ticks += 1
        unwrittenTicks += 1
        guard write || unwrittenTicks >= writeEvery else { return }
        do { try writePending() } catch {
            // The entries went back to the state of the last stored samples: the next write
            // covers these seconds too, so nothing is lost.
            logger.warning("cannot write usage samples", metadata: ["error": "\(error)"])
            return
        }
        let second = (ms + 500) / 1000
        if second >= nextCompaction {
            nextCompaction = second + retention.every
            do {
                try store.compact(olderThan: second - retention.perSecond, into: 60)
                try store.compact(olderThan: second - retention.perMinute, into: 3600)
            } catch { logger.warning("cannot downsample usage samples", metadata: ["error": "\(error)"]) }
        }
    }

    /// The task's samples read at `ms` (since the epoch), appended to `rows`: what each cgroup
    /// used since its cursor, in the row of the nearest whole second. Moves `e.state` on; the
    /// caller marks it written once the rows are, or reverts it.
    ///
    /// Idle seconds are held back rather than written one by one: a sample with no CPU, network,
    /// block I/O or new peak, and the memory in use and pids of the row before it, extends a
    /// held row (its span grows, its second moves on) that is written when something changes,
    /// at the end of each minute, and with a complete (first or last) sample. That row holds
    /// exactly what the per-second rows it stands for would: their deltas (all zero) summed,
    /// the same levels, their time as its span, which is how every mean and percentile weighs
    /// rows (as it weighs downsampled ones); it never spans two minutes, so downsampling and any
    /// day or hour split place it as they would its seconds. A held row lost to a kill is
    /// covered like any unwritten sample: its counters are the cursor's, and the next reading's
    /// span reaches back to the last stored row.
    static func sample(_ e: Entry, at ms: Int64, complete: Bool, into rows: inout [UsageStore.Row_]) {
        let t = (ms + 500) / 1000
        let lastTick = e.lastTick
        // The entry's buffer, taken out so it is the only reference (no copy as it fills).
        var readings = e.readings
        e.readings = []
        readings.removeAll(keepingCapacity: true)
        e.source.read(complete: complete, into: &readings)
        defer { e.readings = readings }
        for r in readings {
            guard let index = e.index(of: r.container) else { continue }
            var slot = e.state[index]
            let before = slot.cursor
            // A container first seen after the task's first tick started since that tick.
            let since = before?.millis ?? (index == 0 ? e.startMillis : (lastTick ?? e.startMillis))
            // Counters that went back started again: a new cgroup (a restarted container).
            let fresh = before == nil || r.cpuNanos < before!.cpu
            let base = fresh ? UsageStore.Cursor(time: t, millis: since) : before!
            @inline(__always) func delta(_ now: UInt64?, _ then: UInt64) -> Int64? {
                guard let now else { return nil }
                return Int64(now >= then ? now - then : now)
            }
            let sample = UsageSample(
                container: r.container, time: t, spanMillis: before == nil ? max(1, ms - since) : max(0, ms - since),
                cpuNanos: delta(r.cpuNanos, base.cpu)!, memoryBytes: Int64(r.memoryBytes),
                memoryPeakBytes: r.memoryPeakBytes == before?.peak ? nil : r.memoryPeakBytes.map { Int64($0) },
                netRxBytes: delta(r.netRxBytes, before?.rx ?? 0) ?? 0, netTxBytes: delta(r.netTxBytes, before?.tx ?? 0) ?? 0,
                ioReadBytes: delta(r.ioReadBytes, base.ioRead), ioWriteBytes: delta(r.ioWriteBytes, base.ioWrite), pids: Int64(r.pids))
            let row = UsageStore.Row_(task: e.id, container: index, sample: sample, fresh: fresh)
            let idle = !complete && !fresh && sample.cpuNanos == 0 && sample.netRxBytes == 0 && sample.netTxBytes == 0
                && (sample.ioReadBytes ?? 0) == 0 && (sample.ioWriteBytes ?? 0) == 0 && sample.memoryPeakBytes == nil
                && slot.memory == sample.memoryBytes && slot.pids == sample.pids
            if idle, var held = slot.held, sameMinute(held.sample.time, t) {
                held.sample.spanMillis += sample.spanMillis
                held.sample.time = t
                slot.held = held
            } else {
                if let held = slot.held { rows.append(held) }
                slot.held = nil
                if idle { slot.held = row } else { rows.append(row) }
            }
            slot.memory = sample.memoryBytes
            slot.pids = sample.pids
            slot.cursor = UsageStore.Cursor(cpu: r.cpuNanos, rx: r.netRxBytes ?? before?.rx ?? 0, tx: r.netTxBytes ?? before?.tx ?? 0,
                                            ioRead: r.ioReadBytes ?? base.ioRead, ioWrite: r.ioWriteBytes ?? base.ioWrite,
                                            peak: r.memoryPeakBytes ?? before?.peak, time: t, millis: ms)
            e.state[index] = slot
        }
        // Held rows end with their minute, and with the task's complete samples.
        for i in e.state.indices {
            guard let held = e.state[i].held, complete || t % 60 == 0 || !sameMinute(held.sample.time, t) else { continue }
            rows.append(held)
            e.state[i].held = nil
        }
        e.lastTick = ms
    }

    /// Whether two seconds end within the same minute ((m, m + 60]).
    @inline(__always) static func sameMinute(_ a: Int64, _ b: Int64) -> Bool {
        (a - 1) / 60 == (b - 1) / 60
    }
}
