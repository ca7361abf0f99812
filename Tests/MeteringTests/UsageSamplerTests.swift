import Foundation
@testable import Metering
import TestSupport
import Testing

/// Counters a test sets, read as a cgroup's would be.
final class FakeSource: UsageSource, @unchecked Sendable {
    var readings: [UsageReading] = []
    func read(complete: Bool) -> [UsageReading] { readings }
}

/// A sampler driven by hand (no thread, a clock the test sets) over a real SQLite ledger.
struct SamplerFixture {
    /// The fixture's clock, seconds: each test its own (tests run in parallel).
    final class Clock: @unchecked Sendable { var seconds: Int64 = 0 }
    let dir: TemporaryDirectory
    let ledger: Ledger
    let clock = Clock()

    init() throws {
        dir = try TemporaryDirectory()
        ledger = try Ledger(path: dir.path + "/ledger.sqlite")
    }

    func sampler(at t: Int64, writeEvery: Int = 5) -> UsageSampler {
        let s = UsageSampler(writeEvery: writeEvery)
        s.startsThread = false
        clock.seconds = t
        s.clock = { [clock] in clock.seconds * 1000 }
        return s
    }

    static func task(_ arn: String = "arn:aws:ecs:us-east-1:0:task/c/0123456789abcdef", family: String = "app", cpu: Int = 256,
                     memory: Int = 512, start: Int64 = 995, containers: [String] = ["web"], service: String? = nil) -> UsageTask {
        UsageTask(taskArn: arn, family: family, revision: 1, cpu: cpu, memory: memory, startMicros: start * 1_000_000,
                  containers: containers.map { UsageTask.Container(name: $0, cpu: 128, memoryReservation: 64) },
                  attribution: TaskAttribution(cluster: "c", startedBy: nil, group: service.map { "service:" + $0 }))
    }

    /// A sampler writing every five ticks with `task()` registered at second 1000 (its cgroup
    /// and container at 100 ns), and the tick of 1001 taken but not written (200 and 150 ns).
    func registeredWithATickNotWritten() throws -> (UsageSampler, FakeSource) {
        let source = FakeSource()
        let s = sampler(at: 1000, writeEvery: 5)
        source.readings = [reading("", cpu: 100), reading("web", cpu: 100)]
        try s.register(SamplerFixture.task(), source: source, ledger: ledger)
        source.readings = [reading("", cpu: 200), reading("web", cpu: 150)]
        s.tickNow(at: 1001 * 1000, write: false)
        return (s, source)
    }

    func rows(_ sql: String) throws -> [[Int64?]] {
        let r = try run("/usr/bin/sqlite3", ["-separator", ",", ledger.path, sql])
        return r.stdout.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map { Int64($0) } }
    }
}

func reading(_ c: String, cpu: UInt64, mem: UInt64 = 10 << 20, peak: UInt64? = nil, rx: UInt64? = nil) -> UsageReading {
    UsageReading(container: c, cpuNanos: cpu, memoryBytes: mem, memoryPeakBytes: peak, netRxBytes: rx, netTxBytes: rx.map { $0 / 2 }, pids: 2)
}

struct UsageSamplerTests {
    @Test func samplesAreDeltasThatAddUpToTheCounters() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let source = FakeSource()
        let s = f.sampler(at: 1000)
        source.readings = [reading("", cpu: 2_000_000_000, peak: 30 << 20, rx: 100), reading("web", cpu: 1_500_000_000)]
        try s.register(SamplerFixture.task(), source: source, ledger: f.ledger)
        source.readings = [reading("", cpu: 2_250_000_000, peak: 30 << 20, rx: 160), reading("web", cpu: 1_700_000_000)]
        s.tickNow(at: 1001 * 1000)
        source.readings = [reading("", cpu: 2_500_000_000, peak: 40 << 20, rx: 200), reading("web", cpu: 1_900_000_000)]
        s.tickNow(at: 1002 * 1000)
        // The last sample in the second of the last tick adds to that second's row.
        source.readings = [reading("", cpu: 2_510_000_000, peak: 40 << 20, rx: 200), reading("web", cpu: 1_905_000_000)]
        f.clock.seconds = 1002
        try s.finish(SamplerFixture.task().taskArn)
        let task = try f.rows("SELECT t, span_ms, cpu_ns, net_rx, peak FROM usage_samples WHERE container = 0 ORDER BY t")
        #expect(task == [[1000, 5000, 2_000_000_000, 100, 30 << 20], [1001, 1000, 250_000_000, 60, nil], [1002, 1000, 260_000_000, 40, 40 << 20]],
                "the first sample covers from the billing start; a merged last sample keeps its span")
        let sums = try f.rows("SELECT container, sum(cpu_ns), sum(span_ms) FROM usage_samples GROUP BY container ORDER BY container")
        #expect(sums == [[0, 2_510_000_000, 7000], [1, 1_905_000_000, 7000]], "the rows add up to the counters' last values")
        #expect(s.taskCount == 0)
    }

    @Test func aSamplerKilledMidwayLosesAndDoublesNothing() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let task = SamplerFixture.task()
        let source = FakeSource()
        let first = f.sampler(at: 1000)
        source.readings = [reading("", cpu: 1_000_000_000), reading("web", cpu: 900_000_000)]
        try first.register(task, source: source, ledger: f.ledger)
        source.readings = [reading("", cpu: 1_200_000_000), reading("web", cpu: 1_000_000_000)]
        first.tickNow(at: 1001 * 1000)
        // kill -9: the counters went on; the next host resumes the task (or gc ends it).
        source.readings = [reading("", cpu: 4_000_000_000), reading("web", cpu: 3_000_000_000)]
        let second = f.sampler(at: 1010)
        try second.register(task, source: source, ledger: f.ledger)
        let resumed = try f.rows("SELECT span_ms, cpu_ns, fresh FROM usage_samples WHERE container = 0 AND t = 1010")
        #expect(resumed == [[9000, 2_800_000_000, nil]], "the gap is one sample from the last stored one")
        source.readings = [reading("", cpu: 4_100_000_000), reading("web", cpu: 3_050_000_000)]
        try UsageSampler.finalSample(task.taskArn, ledger: f.ledger, at: 1_012_000) { names in
            #expect(names == ["web"])
            return source
        }
        let sums = try f.rows("SELECT container, sum(cpu_ns) FROM usage_samples GROUP BY container ORDER BY container")
        #expect(sums == [[0, 4_100_000_000], [1, 3_050_000_000]])
    }

    /// The thread writes every `writeEvery` ticks; a finishing task writes its own rows at
    /// once; a kill before a write loses those seconds' resolution, not their usage.
    @Test func ticksAreWrittenTogetherAndAKillBeforeTheirWriteLosesOnlyResolution() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let a = SamplerFixture.task("arn:aws:ecs:us-east-1:0:task/c/aaaa"), b = SamplerFixture.task("arn:aws:ecs:us-east-1:0:task/c/bbbb")
        let sa = FakeSource(), sb = FakeSource()
        let s = f.sampler(at: 1000, writeEvery: 3)
        sa.readings = [reading("", cpu: 100), reading("web", cpu: 100)]
        sb.readings = [reading("", cpu: 1000), reading("web", cpu: 1000)]
        try s.register(a, source: sa, ledger: f.ledger)
        try s.register(b, source: sb, ledger: f.ledger)
        func seconds(_ arn: String) throws -> [Int64?] {
            try f.rows("SELECT t FROM usage_samples JOIN usage_tasks u ON u.id = task WHERE task_arn = '\(arn)' AND container = 0 ORDER BY t").map { $0[0] }
        }
        for t in Int64(1001)...1002 {
            sa.readings = [reading("", cpu: 100 + UInt64(t - 1000) * 10), reading("web", cpu: 100 + UInt64(t - 1000) * 10)]
            sb.readings = [reading("", cpu: 1000 + UInt64(t - 1000) * 20), reading("web", cpu: 1000 + UInt64(t - 1000) * 20)]
            s.tickNow(at: t * 1000, write: false)
        }
        #expect(try seconds(a.taskArn) == [1000] && seconds(b.taskArn) == [1000], "two ticks wait for the third")
        sa.readings = [reading("", cpu: 130), reading("web", cpu: 130)]
        sb.readings = [reading("", cpu: 1060), reading("web", cpu: 1060)]
        s.tickNow(at: 1003 * 1000, write: false)
        #expect(try seconds(a.taskArn) == [1000, 1001, 1002, 1003] && seconds(b.taskArn) == [1000, 1001, 1002, 1003], "the third writes all three")
        sa.readings = [reading("", cpu: 140), reading("web", cpu: 140)]
        sb.readings = [reading("", cpu: 1080), reading("web", cpu: 1080)]
        s.tickNow(at: 1004 * 1000, write: false)
        // Task a ends: its own rows go with its last sample; b's wait for their write.
        sa.readings = [reading("", cpu: 155), reading("web", cpu: 150)]
        f.clock.seconds = 1005
        try s.finish(a.taskArn)
        #expect(try seconds(a.taskArn) == [1000, 1001, 1002, 1003, 1004, 1005])
        #expect(try seconds(b.taskArn) == [1000, 1001, 1002, 1003], "another task's rows are not written by a finish")
        #expect(try f.rows("SELECT container, sum(cpu_ns) FROM usage_samples JOIN usage_tasks u ON u.id = task WHERE task_arn = '\(a.taskArn)' GROUP BY container ORDER BY container")
                == [[0, 155], [1, 150]])
        // kill -9 with b's second 1004 unwritten: gc's last sample covers it, in one row.
        sb.readings = [reading("", cpu: 1110), reading("web", cpu: 1100)]
        try UsageSampler.finalSample(b.taskArn, ledger: f.ledger, at: 1_007_000) { _ in sb }
        #expect(try seconds(b.taskArn) == [1000, 1001, 1002, 1003, 1007])
        #expect(try f.rows("SELECT span_ms, cpu_ns FROM usage_samples JOIN usage_tasks u ON u.id = task WHERE task_arn = '\(b.taskArn)' AND container = 0 AND t = 1007")
                == [[4000, 50]], "the gap from the last row written")
        #expect(try f.rows("SELECT container, sum(cpu_ns) FROM usage_samples JOIN usage_tasks u ON u.id = task WHERE task_arn = '\(b.taskArn)' GROUP BY container ORDER BY container")
                == [[0, 1110], [1, 1100]], "nothing lost, nothing twice")
    }

    /// A host stopped by SIGTERM stops its sampler: what it holds is written.
    @Test func stoppingWritesTheRowsNotWrittenYet() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let (s, _) = try f.registeredWithATickNotWritten()
        #expect(try f.rows("SELECT count(*) FROM usage_samples") == [[2]])
        s.stop()
        #expect(try f.rows("SELECT container, t, cpu_ns FROM usage_samples WHERE t = 1001 ORDER BY container") == [[0, 1001, 100], [1, 1001, 50]])
    }

    /// A finishing task's last rows whose write fails (here a trigger refuses every insert,
    /// as a full disk would) are kept and go with a later write, even a failed one's retry: no
    /// later reading could cover them, its cgroups being gone.
    @Test func aFinishedTasksRowsWhoseWriteFailedGoWithALaterWrite() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let (s, source) = try f.registeredWithATickNotWritten()
        _ = try f.rows("CREATE TRIGGER refuse BEFORE INSERT ON usage_samples BEGIN SELECT RAISE(ABORT, 'refused'); END;")
        source.readings = [reading("", cpu: 400), reading("web", cpu: 330)]
        f.clock.seconds = 1002
        #expect(throws: (any Error).self) { try s.finish(SamplerFixture.task().taskArn) }
        s.tickNow(at: 1003 * 1000)
        #expect(try f.rows("SELECT count(*) FROM usage_samples") == [[2]], "only the registration's rows so far")
        _ = try f.rows("DROP TRIGGER refuse;")
        s.tickNow(at: 1004 * 1000)
        #expect(try f.rows("SELECT container, sum(cpu_ns), max(t) FROM usage_samples GROUP BY container ORDER BY container")
                == [[0, 400, 1002], [1, 330, 1002]], "every nanosecond of the counters, once")
        s.tickNow(at: 1005 * 1000)
        #expect(try f.rows("SELECT count(*) FROM usage_samples") == [[6]], "nothing written twice")
    }

    @Test func aRestartedContainerStartsFromZeroAndAResumeKnowsIt() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let task = SamplerFixture.task()
        let source = FakeSource()
        let s = f.sampler(at: 1000)
        source.readings = [reading("", cpu: 5_000_000_000), reading("web", cpu: 5_000_000_000)]
        try s.register(task, source: source, ledger: f.ledger)
        // The container restarted: a new cgroup counting from zero.
        source.readings = [reading("", cpu: 5_300_000_000), reading("web", cpu: 200_000_000)]
        s.tickNow(at: 1001 * 1000)
        source.readings = [reading("", cpu: 5_400_000_000), reading("web", cpu: 300_000_000)]
        s.tickNow(at: 1002 * 1000)
        let web = try f.rows("SELECT t, cpu_ns, fresh FROM usage_samples WHERE container = 1 ORDER BY t")
        #expect(web == [[1000, 5_000_000_000, 1], [1001, 200_000_000, 1], [1002, 100_000_000, nil]])
        // A host resuming the task counts from the restart, not from the old cgroup.
        source.readings = [reading("", cpu: 5_500_000_000), reading("web", cpu: 350_000_000)]
        let again = f.sampler(at: 1005)
        try again.register(task, source: source, ledger: f.ledger)
        #expect(try f.rows("SELECT cpu_ns, fresh FROM usage_samples WHERE container = 1 AND t = 1005") == [[50_000_000, nil]])
    }

    @Test func downsamplingKeepsSumsAndMaxima() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let task = SamplerFixture.task(start: 999)
        let source = FakeSource()
        let s = f.sampler(at: 1000)
        var cpu: UInt64 = 0, rx: UInt64 = 0
        source.readings = [reading("", cpu: 0, rx: 0), reading("web", cpu: 0)]
        try s.register(task, source: source, ledger: f.ledger)
        for t in Int64(1001)...1200 {
            cpu += UInt64(t % 7) * 10_000_000
            rx += UInt64(t % 5)
            let mem: UInt64 = t == 1100 ? 300 << 20 : 20 << 20
            source.readings = [reading("", cpu: cpu, mem: mem, peak: t == 1100 ? 310 << 20 : nil, rx: rx), reading("web", cpu: cpu / 2)]
            s.tickNow(at: t * 1000)
        }
        let before = try f.rows("SELECT container, sum(cpu_ns), sum(net_rx), sum(span_ms), max(coalesce(mem_max, mem)), max(peak) FROM usage_samples GROUP BY container")
        let store = try UsageStore(ledger: f.ledger)
        let replaced = try store.compact(olderThan: 1150, into: 60)
        #expect(replaced == 2 * 141, "rows up to 1140, the end of the last whole minute before 1150")
        let after = try f.rows("SELECT container, sum(cpu_ns), sum(net_rx), sum(span_ms), max(coalesce(mem_max, mem)), max(peak) FROM usage_samples GROUP BY container")
        #expect(after == before)
        let count = try f.rows("SELECT count(*) FROM usage_samples")
        #expect(count == [[2 * (3 + 60)]], "three minutes and the 60 seconds after them, per container")
        // Again, into hours: still the same sums.
        try store.compact(olderThan: 7200, into: 3600)
        #expect(try f.rows("SELECT count(*) FROM usage_samples") == [[2]])
        #expect(try f.rows("SELECT container, sum(cpu_ns), sum(net_rx), sum(span_ms), max(coalesce(mem_max, mem)), max(peak) FROM usage_samples GROUP BY container") == before)
    }

    @Test func aTaskIsFoundByIdPrefixOrArn() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let s = f.sampler(at: 1000)
        let source = FakeSource()
        source.readings = [reading("", cpu: 1)]
        try s.register(SamplerFixture.task("arn:aws:ecs:us-east-1:0:task/c/aaaa1111"), source: source, ledger: f.ledger)
        try s.register(SamplerFixture.task("arn:aws:ecs:us-east-1:0:task/c/aaaa2222"), source: source, ledger: f.ledger)
        #expect(try f.ledger.sampledTask("aaaa1")?.task.taskArn == "arn:aws:ecs:us-east-1:0:task/c/aaaa1111")
        #expect(try f.ledger.sampledTask("arn:aws:ecs:us-east-1:0:task/c/aaaa2222")?.task.containers.map(\.name) == ["web"])
        #expect(try f.ledger.sampledTask("bbbb") == nil)
        #expect(throws: MeteringError.self) { try f.ledger.sampledTask("aaaa") }
    }
}
