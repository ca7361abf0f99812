import Foundation
import TestSupport
import Testing

/// `rm` and `prune` on a real root: stopped tasks' directories go and their bills stay; a
/// running task is refused and goes on; `prune` asks for --force where it cannot ask.
struct RemoveTasksTests {
    @Test func stoppedTasksGoTheirBillsStayAndRunningOnesAreRefused() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let done = try h.task(#"{"family": "rmdone", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "echo one; echo two; echo three"]}]}"#)
        for _ in 0..<3 { #expect(try h.fargateRun(["run", "-q", done]).status == 0) }
        let stopped = h.taskIds()
        #expect(stopped.count == 3)
        let long = try h.task(#"{"family": "rmlive", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sleep", "600"], "stopTimeout": 2}]}"#, name: "live.json")
        let live = try h.background([long])
        defer { live.stop() }
        #expect(eventually(timeout: 120) { h.runningTask() != nil }, "\(live.stderr)")
        let running = try #require(h.runningTask()).0

        let refused = try h.fargateRun(["rm", String(running.prefix(12))])
        #expect(refused.status == 1 && refused.stderr.contains("stop it first"), "\(refused.stderr)")

        // What `ps` gives scripts: whole ids (-q), the stopped ones alone, JSON.
        #expect(try h.fargateRun(["ps", "-q"]).stdout == running + "\n")
        let everyId = try h.fargateRun(["ps", "-aq"]).stdout.split(separator: "\n").map(String.init)
        #expect(everyId.count == 4 && Set(everyId) == Set(stopped + [running]) && everyId.first == running, "newest first: \(everyId)")
        #expect(Set(try h.fargateRun(["ps", "-q", "--status", "STOPPED"]).stdout.split(separator: "\n").map(String.init)) == Set(stopped))
        let json = try h.fargateRun(["ps", "-a", "--format", "json"])
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]], "\(json.stdout)")
        let runningRow = try #require(listed.first { $0["id"] as? String == running }, "\(json.stdout)")
        #expect(runningRow["status"] as? String == "RUNNING" && runningRow["hosted"] as? Bool == false
                && (runningRow["taskArn"] as? String)?.hasSuffix(running) == true, "\(runningRow)")
        let ended = listed.filter { $0["status"] as? String == "STOPPED" }
        #expect(ended.count == 3 && ended.allSatisfy { (($0["containers"] as? [[String: Any]])?.first?["exitCode"] as? Int) == 0 }, "\(json.stdout)")
        let badStatus = try h.fargateRun(["ps", "--status", "running"])
        #expect(badStatus.status == 64 && badStatus.stderr.contains("--status 'running'") && badStatus.stderr.contains("DEPROVISIONING"), "\(badStatus.stderr)")
        #expect(try h.fargateRun(["ps", "--status", "RUNING"]).status == 64, "a typo is named, not an empty list")
        // `logs --tail`: the last lines only.
        #expect(try h.fargateRun(["logs", "-c", "a", "--tail", "2", stopped[0]]).stdout == "two\nthree\n")
        #expect(try h.fargateRun(["logs", "--tail", "0", stopped[0]]).stdout.isEmpty)
        #expect(try h.fargateRun(["logs", "-c", "a", stopped[0]]).stdout == "one\ntwo\nthree\n")
        let one = try h.fargateRun(["rm", String(stopped[0].prefix(12))])
        #expect(one.status == 0 && one.stdout == stopped[0] + "\n", "\(one.stdout) \(one.stderr)")
        #expect(!h.taskIds().contains(stopped[0]))
        let unasked = try h.fargateRun(["prune"])
        #expect(unasked.status == 2 && unasked.stderr.contains("--force"), "\(unasked.stderr)")
        #expect(Set(h.taskIds()) == Set(stopped.dropFirst() + [running]), "nothing goes unasked")
        let notYet = try h.fargateRun(["prune", "--force", "--until", "1h"])
        #expect(notYet.status == 0 && notYet.stdout.isEmpty && notYet.stderr.contains("removed 0 tasks"), "\(notYet.stderr)")
        let pruned = try h.fargateRun(["prune", "--force"])
        #expect(pruned.status == 0 && Set(pruned.stdout.split(separator: "\n").map(String.init)) == Set(stopped.dropFirst()), "\(pruned.stdout)")
        #expect(pruned.stderr.contains("removed 2 tasks"), "\(pruned.stderr)")
        #expect(h.taskIds() == [running], "the running task stays")
        let bad = try h.fargateRun(["prune", "--force", "--until", "yesterday"])
        #expect(bad.status == 2 && bad.stderr.contains("--until \"yesterday\""), "\(bad.stderr)")

        // The ledger still bills the removed tasks: a row each.
        let report = try h.fargateRun(["report", "--format", "csv"])
        let rows = report.stdout.split(separator: "\n").filter { $0.contains("rmdone") }
        #expect(report.status == 0 && rows.count == 3 && stopped.allSatisfy { id in rows.contains { $0.contains(id) } },
                "\(report.stdout.prefix(600)) \(report.stderr)")
        // `rm -f` stops a running task first, as `stop` does, then removes it.
        let forced = try h.fargateRun(["rm", "-f", String(running.prefix(12))])
        #expect(forced.status == 0 && forced.stdout == running + "\n", "\(forced.stdout) \(forced.stderr)")
        #expect(live.wait(timeout: 120) != nil)
        #expect(h.taskIds().isEmpty, "\(h.taskIds())")
        #expect(h.leftovers(running).isEmpty)
    }

    /// `run --rm`: the task's output and exit status as without it, then its directory goes;
    /// its bill stays.
    @Test func aForegroundRunWithRmLeavesOnlyItsBill() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "rmfg", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "echo bye; exit 3"]}]}"#)
        let r = try h.fargateRun(["run", "--rm", "-q", t])
        #expect(r.status == 3 && r.stdout.contains("bye"), "\(r.status) \(r.stdout) \(r.stderr)")
        #expect(h.taskIds().isEmpty, "\(h.taskIds())")
        let report = try h.fargateRun(["report", "--format", "csv"])
        #expect(report.stdout.split(separator: "\n").filter { $0.contains("rmfg") }.count == 1, "\(report.stdout.prefix(400))")

        // `wait` from another shell: the task's exit status if it read the stopped state before
        // the run removed it, else told the task was removed, not "no state" (which of the two
        // is a race between the run's removal and wait's polling).
        let slow = try h.task(#"{"family": "rmfgwait", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sleep", "6"]}]}"#, name: "slow.json")
        let running = try h.background(["run", "--rm", "-q", slow])
        defer { running.stop() }
        #expect(eventually(timeout: 60) { h.runningTask() != nil }, "\(running.stderr)")
        let id = try #require(h.runningTask()).0
        let waited = try h.fargateRun(["wait", id])
        #expect((waited.status == 0 && waited.stdout.hasPrefix("EssentialContainerExited"))
                    || (waited.status == 125 && waited.stderr.contains("was removed as it stopped")),
                "\(waited.status) \(waited.stdout) \(waited.stderr)")
        #expect(running.wait(timeout: 60) == 0)
    }

    /// `serve --remove-stopped-after`: the host removes tasks some time after they stopped,
    /// and leaves those that run; not sooner than DescribeTasks shows them.
    @Test func aHostRemovesStoppedTasksAfterTheirTime() throws {
        let host = try HostTests.Host(["--stopped-task-retention", "15", "--remove-stopped-after", "15"])
        defer { host.cleanup() }
        let tooSoon = try run(fargateRunBinary, ["serve", "--root", host.h.dir.path + "/other", "--listen", "none", "--remove-stopped-after", "60"])
        #expect(tooSoon.status == 64 && tooSoon.stderr.contains("--stopped-task-retention 3600") && tooSoon.stderr.contains("Usage: fargate-run serve"),
                "a usage error, with serve's usage: \(tooSoon.stderr)")
        let quick = try host.h.task(#"{"family": "rmafter", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        let long = try host.h.task(#"{"family": "rmafterlive", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sleep", "600"], "stopTimeout": 2}]}"#, name: "live.json")
        let done = try host.h.fargateRun(["run", "-d", quick]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let live = try host.h.fargateRun(["run", "-d", long]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try host.h.fargateRun(["wait", done]).status == 0)
        #expect(host.h.taskIds().contains(done), "kept for its time")
        #expect(eventually(timeout: 60) { !host.h.taskIds().contains(done) }, "\(host.h.taskIds())")
        #expect(host.h.taskIds().contains(live), "a running task stays")
        let forced = try host.h.fargateRun(["rm", "--force", live])
        #expect(forced.status == 0 && forced.stdout == live + "\n", "\(forced.stdout) \(forced.stderr)")
        #expect(!host.h.taskIds().contains(live))
    }

    /// A host that died after a `run -d --rm` task stopped and before it removed it: the next
    /// host removes it at its start.
    @Test func theNextHostFinishesARemovalItsPredecessorDidNot() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"{"family": "rmnext", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        let kept = try host.h.fargateRun(["run", "-d", t]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(try host.h.fargateRun(["wait", kept]).status == 0)
        // What the dead host would have left: a stopped task asked to go.
        host.kill9()
        #expect(FileManager.default.createFile(atPath: host.h.root + "/tasks/\(kept)/remove-when-stopped", contents: nil))
        try host.start()
        #expect(eventually(timeout: 60) { !host.h.taskIds().contains(kept) }, "\(host.h.taskIds())")
    }

    /// `run -d --rm` through a host: `wait` still gets the exit status, and the directory goes.
    @Test func aHostedRunWithRmIsWaitedForThenGoes() throws {
        let host = try HostTests.Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"{"family": "rmhost", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "sleep 3; exit 4"]}]}"#)
        let started = try host.h.fargateRun(["run", "-d", "--rm", t])
        let id = started.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(started.status == 0 && id.count == 32, "\(started.stdout) \(started.stderr)")
        // (--log-level takes `wait` past its quick path: ArgumentParser, the state, then the host.)
        let waited = try host.h.fargateRun(["wait", "--log-level", "error", id])
        #expect(waited.status == 4 && waited.stdout.contains("EssentialContainerExited"), "\(waited.status) \(waited.stdout) \(waited.stderr)")
        #expect(eventually(timeout: 30) { !host.h.taskIds().contains(id) }, "\(host.h.taskIds())")
        // Asked again once it is gone: the host still knows how it ended.
        #expect(try host.h.fargateRun(["wait", id]).status == 4)
    }
}
