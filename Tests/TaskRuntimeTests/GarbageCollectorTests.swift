#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Metering
import TaskNetwork
@testable import TaskRuntime
import TestSupport
import Synchronization
import Testing

struct GarbageCollectorTests {
    /// The sweep of `<root>/active/` at every start takes only task ids: a file another
    /// fargate-run is making there (an atomic write's temporary name) is not swept away under it,
    /// as it once was when several runs started together on one root. A marker of a task that
    /// never got a directory is.
    @Test func theActiveSweepTakesOnlyTaskIds() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let root = try StateRoot(path: tmp.path + "/root")
        let foreign = root.activeDirectory + "/0123456789abcdef0123456789abcdef.tmp-42-7"
        let stale = root.activeDirectory + "/" + String(repeating: "ab", count: 16)
        for f in [foreign, stale] { #expect(FileManager.default.createFile(atPath: f, contents: nil)) }
        #expect(GarbageCollector(root: root).abandonedTasks().isEmpty)
        #expect(FileSystem.exists(foreign), "another process's file stays")
        #expect(!FileSystem.exists(stale), "a marker without a task directory goes")
    }

    /// A runner killed after the ledger recorded the billing start and before its state file
    /// did: gc bills the task from the ledger's marker, and its state says when it started.
    @Test func aBillingStartOnlyTheLedgerHasIsBilledByGC() async throws {
        let dir = try TemporaryDirectory("fr-gc")
        defer { dir.remove() }
        let (plan, running, _) = try await TaskRunnerResumeTests().recorded(#"[{"name": "app", "image": "x"}]"#, in: dir)
        var state = running
        state.task.pullStartedAt = nil
        // Another state root, whose ledger has only the open marker (the run above billed it in its own).
        let root = try StateRoot(path: dir.path + "/root2")
        let arn = try #require(state.task.taskArn)
        let start = Int64(Date(timeIntervalSinceNow: -20).timeIntervalSince1970) * 1_000_000
        try Ledger(path: root.ledgerPath).open(OpenTask(taskArn: arn, family: plan.family, billingStartMicros: start, pid: 1))
        var network = NetworkOptions()
        network.hostStateDirectory = dir.path + "/host"
        let id = String(arn.split(separator: "/").last ?? "")
        try FileSystem.makeDirectories(root.taskDirectory(id), mode: 0o700)
        let collected = await GarbageCollector(root: root, network: network).collect(id: id, state: state)
        #expect(collected.removed.contains { $0.hasPrefix("billed ") }, "\(collected.removed) \(collected.problems)")
        #expect(try TaskStore(root: root).state(id).task.pullStartedAt?.date == Date(timeIntervalSince1970: Double(start) / 1e6))
        let ledger = try Ledger(path: root.ledgerPath)
        #expect(try ledger.openTasks().isEmpty, "the marker is closed")
        let records = try ledger.records().filter { $0.taskArn == arn }
        #expect(records.count == 1 && records.first?.billingStartMicros == start && (records.first?.billedSeconds ?? 0) >= 20, "\(records)")
    }
}

extension GarbageCollectorTests {
    /// With no host serving the root, gc removes what a host killed while starting tasks left
    /// (marker, directory with the plan, or the directory still being made) and what a
    /// foreground run killed before its first state left (marker and directory), and leaves a
    /// task that has no plan and no state while a run claims it, and a claimed marker that has
    /// no directory yet. Once the claim is let go, those go too.
    @Test func tasksAKilledHostWasStartingAreRemovedAndOthersStay() throws {
        let half = try HalfStartedTasks()
        defer { half.remove() }
        let root = try StateRoot(path: half.root)
        let bare = String(repeating: "8", count: 32)
        let claims = try [half.notHosted, bare].map { try TaskStore(root: root).claimActive($0) }
        _ = GarbageCollector(root: root).abandonedTasks()
        #expect(half.hostsLeft().isEmpty, "\(half.hostsLeft())")
        #expect(half.notHostedIsWhole)
        #expect(half.present(half.foregroundKilled).isEmpty, "\(half.present(half.foregroundKilled))")
        #expect(half.present(bare) == ["active/" + bare], "a claimed marker without a directory stays")
        for claim in claims { claim.release() }
        _ = GarbageCollector(root: root).abandonedTasks()
        #expect(half.hostsLeft([half.notHosted, bare]).isEmpty, "\(half.hostsLeft([half.notHosted, bare]))")
    }

    /// A claim taken on a marker that gc removed between its creation and the lock makes the
    /// marker again: the run's task is never without one.
    @Test func aClaimOnAMarkerRemovedUnderItMakesItAgain() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let root = try StateRoot(path: tmp.path + "/root")
        let id = String(repeating: "7", count: 32)
        let marker = root.activeDirectory + "/" + id
        // gc's side: the marker exists and is held exclusively while it is unlinked.
        #expect(FileManager.default.createFile(atPath: marker, contents: nil))
        let gc = open(marker, O_RDONLY | O_CLOEXEC)
        #expect(gc >= 0 && flock(gc, LOCK_EX) == 0)
        var st = stat()
        #expect(stat(marker, &st) == 0)
        // The claim blocks in flock: on a thread of its own, not one of Swift's pool.
        final class Claimed: Sendable { let result = Mutex<Result<ActiveClaim, any Error>?>(nil) }
        let claimed = Claimed()
        // A claim records the task on the machine's list, as a run would; it never ends here.
        defer { MachineTasks().remove(id) }
        Thread.detachNewThread { let r = Result { try TaskStore(root: root).claimActive(id) }; claimed.result.withLock { $0 = r } }
        // The claim has opened the file and waits for the lock: the kernel lists it waiting.
        let waiting = ":\(st.st_ino) "
        #expect(eventually(timeout: 60) {
            ((try? String(contentsOfFile: "/proc/locks", encoding: .utf8)) ?? "").split(separator: "\n")
                .contains { $0.contains("->") && $0.contains(waiting) }
        }, "the claim waits for the lock")
        unlink(marker)
        close(gc)
        #expect(eventually(timeout: 60) { claimed.result.withLock { $0 != nil } })
        let claim = try #require(try claimed.result.withLock { $0 }?.get())
        defer { claim.release() }
        #expect(FileSystem.exists(marker), "the claim made the marker again")
        #expect(ActiveClaim.unclaimed(marker: marker) { true } == nil, "and holds it")
    }

    /// A gc that opened a marker another gc then removed, and locks it once a run has made and
    /// claimed a new one at the same path, leaves the new one alone: it removes by path.
    @Test func aGCHoldingARemovedMarkerLeavesTheNewOneAlone() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let root = try StateRoot(path: tmp.path + "/root")
        let id = String(repeating: "6", count: 32)
        let store = TaskStore(root: root)
        let marker = root.activeDirectory + "/" + id
        #expect(FileManager.default.createFile(atPath: marker, contents: nil))
        let stale = open(marker, O_RDONLY | O_CLOEXEC)
        defer { close(stale) }
        unlink(marker)
        let claim = try store.claimActive(id)
        defer { claim.release(); MachineTasks().remove(id) }
        #expect(ActiveClaim.unclaimed(opened: stale, marker: marker) { store.retire(id) } == nil)
        #expect(FileSystem.exists(marker), "the run's marker stays")
    }
}

extension GarbageCollectorTests {
    /// While another process holds the host lock (here `flock`, which writes no pid, as a host
    /// has not yet in the moment after it takes the lock), gc leaves that host's tasks alone:
    /// the half-started ones, and a marker made a moment before its directory. Once the lock
    /// is free, it removes them.
    @Test func whileAnotherProcessServesTheRootItsTasksAreItsOwn() throws {
        let half = try HalfStartedTasks()
        defer { half.remove() }
        let root = try StateRoot(path: half.root)
        let bare = String(repeating: "f", count: 32)
        try Data().write(to: URL(fileURLWithPath: root.activeDirectory + "/" + bare))
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        // It holds the lock until its stdin closes (`cat` inherits the locked descriptor).
        holder.arguments = ["-x", HostLock.path(root), "cat"]
        let input = Pipe()
        holder.standardInput = input
        try holder.run()
        defer { if holder.isRunning { holder.terminate() } }
        #expect(eventually(timeout: 10) { HostLock.state(of: root).held }, "flock holds the lock")
        #expect(HostLock.state(of: root).pid == nil, "and wrote no pid")
        let claim = try TaskStore(root: root).claimActive(half.notHosted)
        defer { claim.release(); MachineTasks().remove(half.notHosted) }
        _ = GarbageCollector(root: root).abandonedTasks()
        for id in half.hosts + [bare] { #expect(!half.present(id).isEmpty, "\(id.prefix(1)) stays while the lock is held") }
        #expect(half.present(half.foregroundKilled).isEmpty, "a foreground run's remains are no host's: \(half.present(half.foregroundKilled))")
        try input.fileHandleForWriting.close()
        holder.waitUntilExit()
        #expect(!HostLock.state(of: root).held)
        _ = GarbageCollector(root: root).abandonedTasks()
        #expect(half.hostsLeft([bare, half.foregroundKilled]).isEmpty, "\(half.hostsLeft([bare, half.foregroundKilled]))")
        #expect(half.notHostedIsWhole)
    }
}
