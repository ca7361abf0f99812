#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import TestSupport
import Testing

/// `fargate-run serve` and the commands that go through it, on the real kernel: tasks that
/// outlive their host, a host that takes them over, exec, stats, and bad requests. Each test
/// has its own state root, bridge and /24 (NetworkTests.Net).
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct HostTests {
    /// A host serving a test's root on the test's own network.
    final class Host: @unchecked Sendable {
        let net: NetworkTests.Net
        var process: BackgroundProcess?
        var h: Harness { net.h }
        /// More options for serve (--credentials ...).
        let serveArguments: [String]

        init(_ serveArguments: [String] = []) throws {
            net = try NetworkTests.Net()
            self.serveArguments = serveArguments
            try start()
        }

        /// The ECS API's URL: serve listens on a free loopback port and writes it down.
        var ecsEndpoint: String {
            "http://" + ((try? String(contentsOfFile: h.root + "/api-address", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        }

        var socket: String { h.root + "/host.sock" }

        /// Starts `serve` and waits (bounded) until it answers.
        func start() throws {
            let p = try h.background(["serve", "--listen", "127.0.0.1:0"] + serveArguments + net.args)
            process = p
            try #require(eventually(timeout: 30) { (try? curl("GET", "/v1/host").status) == 200 && FileManager.default.fileExists(atPath: h.root + "/api-address") },
                         "the host answers: \(p.stderr)")
        }

        /// SIGKILLs the host (its tasks are left to their monitors).
        func kill9() {
            guard let p = process else { return }
            p.signal(SIGKILL)
            _ = p.wait(timeout: 10)
            process = nil
        }

        func restart() throws {
            kill9()
            try start()
        }

        /// The host's API over its unix socket (curl), for requests the CLI would never send.
        func curl(_ method: String, _ path: String, body: String? = nil) throws -> (status: Int, body: String) {
            var args = ["-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", "--unix-socket", socket, "-X", method]
            if let body { args += ["-H", "Content-Type: application/json", "--data-binary", body] }
            let r = try run("/usr/bin/curl", args + ["http://fargate-run" + path])
            let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
        }

        func cli(_ args: [String]) throws -> RunResult { try h.fargateRun(args) }

        /// The lines of fargate-run's firewall table that name this host's subnet.
        func subnetRules() -> String {
            let table = (try? run("/usr/sbin/nft", ["list", "table", "inet", "fargate_run"]).stdout) ?? ""
            return table.split(separator: "\n").filter { $0.contains(net.subnet) }.joined(separator: "\n")
        }

        func cleanup() {
            // Whatever a failed test left running is stopped through a host, then gc'd.
            if process == nil { try? start() }
            for id in h.taskIds() { _ = try? cli(["stop", id]) }
            for id in h.taskIds() { _ = try? run("/usr/bin/timeout", ["-k", "5", "30", fargateRunBinary] + h.withRoot(["wait", id])) }
            process?.stop()
            // A service's scheduler may have started tasks meanwhile: with no host left, their
            // monitors are killed and gc cleans up after them.
            _ = try? run("/usr/bin/pkill", ["-9", "-f", "fargate-monitor " + h.root + "/"])
            _ = try? h.fargateRun(["gc"])
            net.cleanup()
        }

        /// Processes of the task's containers, by container name, from its state.
        func pids(_ id: String) -> [String: Int32] {
            ((h.state(id)?["pids"] as? [String: Int]) ?? [:]).mapValues { Int32($0) }
        }
    }

    func parent(_ pid: Int32) -> Int32? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    func alive(_ pid: Int32) -> Bool {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return false }
        return !status.contains("State:\tZ")
    }

    @Test func aDetachedTaskIsItsMonitorsAndOutlivesItsHost() throws {
        let host = try Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"""
            {"family": "hosted", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "command": ["sh", "-c", "echo started; exec sleep 1000"], "stopTimeout": 2},
              {"name": "side", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo side up; while :; do sleep 0.2; done"]}]}
            """#)
        let r = try host.cli(["run", "-d", t])
        #expect(r.status == 0, "\(r.stderr) host: \(host.process?.stderr ?? "")")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(id.count == 32, "run -d prints the task id: \(r.stdout)")
        let state = try #require(host.h.state(id))
        #expect((state["task"] as? [String: Any])?["lastStatus"] as? String == "RUNNING", "it returns once the task runs")
        let monitor = try #require((state["monitor"] as? [String: Any])?["pid"] as? Int)
        let pids = host.pids(id)
        #expect(pids.count == 2)
        for (name, pid) in pids {
            #expect(parent(pid) == Int32(monitor), "\(name) is the monitor's child, not the host's")
        }
        #expect(eventually(timeout: 10) { (try? host.cli(["logs", id]).stdout.contains("side | side up")) == true })

        // exec: the container's isolation, its environment, the command's status.
        let e = try host.cli(["exec", "-c", "app", id, "--", "sh", "-c", "echo $HOSTNAME; grep -E 'NoNewPrivs|Seccomp:' /proc/self/status; exit 7"])
        #expect(e.status == 7, "the command's exit status: \(e.stderr)")
        #expect(e.stdout.hasPrefix("ip-198-18-"), "the container's HOSTNAME: \(e.stdout)")
        #expect(e.stdout.contains("NoNewPrivs:\t1") && e.stdout.contains("Seccomp:\t2"), "its no_new_privs and seccomp filter: \(e.stdout)")
        let stdin = try run(fargateRunBinary, host.h.withRoot(["exec", id, "-i", "-c", "side", "--", "sh", "-c", "read x; echo got $x"]), input: "line\n")
        #expect(stdin.stdout == "got line\n", "-i passes stdin (-i and -c after the task): \(stdin.stderr)")
        let missing = try host.cli(["exec", id, "-c", "app", "--", "no-such-program"])
        #expect(missing.status == 127 && missing.stderr.hasPrefix("fargate-run: exec no-such-program: No such file or directory"),
                "a command that is not there exits 127, as in a shell and as a container's: \(missing.status) \(missing.stderr)")
        let several = try host.cli(["exec", id, "--", "true"])
        #expect(several.status == 1 && several.stderr.contains("name one with -c (app, side)"), "\(several.stderr)")
        // -t (its options after the task, as in the README): a terminal of the container's own
        // devpts, its size followed.
        let tty = try run("/usr/bin/script", ["-qec", "stty cols 100 rows 30; " + ([fargateRunBinary] + host.h.withRoot(["exec", "-t", id, "-c", "app", "--", "sh", "-c", "tty; stty size; echo TERM=$TERM"])).joined(separator: " "), "/dev/null"])
        #expect(tty.stdout.contains("/dev/pts/0") && tty.stdout.contains("30 100") && tty.stdout.contains("TERM=xterm"), "\(tty.stdout) \(tty.stderr)")

        // stats: every running container, with its memory limit (the task's).
        let s = try host.cli(["stats", "--format", "json", id])
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(s.stdout.utf8)) as? [[String: Any]], "\(s.stderr)")
        #expect(Set(rows.compactMap { $0["container"] as? String }) == ["app", "side"])
        #expect(rows.allSatisfy { ($0["memoryLimitBytes"] as? Int) == 512 << 20 && ($0["pids"] as? Int ?? 0) >= 1 })

        // The host dies; the task does not.
        host.kill9()
        for pid in pids.values { #expect(alive(pid), "containers run on without a host") }
        let ps = try host.cli(["ps"])
        #expect(ps.stdout.contains(String(id.prefix(12))) && ps.stdout.contains("RUNNING"), "\(ps.stdout)")
        let noHost = try host.cli(["stop", id])
        #expect(noHost.status == 1 && noHost.stderr.contains("no fargate-run host serves \(host.h.root): start one with `fargate-run serve --root"),
                "says how to start one, as run -d does: \(noHost.stderr)")

        // A new host takes it over; stop goes through it.
        try host.start()
        let stop = try host.cli(["stop", id, "--reason", "done here"])
        #expect(stop.status == 0, "\(stop.stderr)")
        let w = try host.cli(["wait", id])
        #expect(w.status == 137, "app ignores SIGTERM as pid 1: SIGKILL after its stopTimeout: \(w.stdout) \(w.stderr)")
        #expect(w.stdout.contains("UserInitiated: done here"))
        let stopped = try host.cli(["stats", "--no-stream", id])
        #expect(stopped.status == 1 && stopped.stderr.contains("is not running (last status STOPPED)"), "\(stopped.stdout) \(stopped.stderr)")
        let final = try #require(host.h.state(id)?["task"] as? [String: Any])
        let side = try container(final, "side")
        #expect(side["exitCode"] as? Int == 0, "side trapped its stop signal")
        #expect(try host.cli(["logs", "-c", "side", id]).stdout.hasSuffix("bye\n"), "the monitor wrote the last line")
        #expect(host.h.leftovers(id, pids: Array(pids.values)).isEmpty, "\(host.h.leftovers(id))")
        #expect(eventually(timeout: 10) { !alive(Int32(monitor)) }, "the monitor leaves with its task")
        let records = try run("/usr/bin/sqlite3", [host.h.root + "/ledger.sqlite", "select count(*) from billing_records; select count(*) from open_tasks"])
        #expect(records.stdout == "1\n0\n", "billed once: \(records.stdout)")
    }

    @Test func oneHostPerRootAndItsSocketIsRootsOnly() throws {
        let host = try Host()
        defer { host.cleanup() }
        var st = stat()
        #expect(stat(host.socket, &st) == 0 && st.st_mode & 0o777 == 0o600, "host.sock is 0600")
        let second = try run("/usr/bin/timeout", ["-k", "5", "20", fargateRunBinary] + host.h.withRoot(["serve", "--listen", "none"] + host.net.args))
        #expect(second.status == 1, "\(second.stderr)")
        #expect(second.stderr.contains("another fargate-run host (pid \(host.process!.pid)) already serves"), "\(second.stderr)")
        #expect((try host.curl("GET", "/v1/host")).status == 200, "the first goes on")
    }

    /// A `wait` client killed while it waits leaves nothing in the host (its request's
    /// handler is cancelled with its connection); one that stays is answered as before.
    @Test func aKilledWaitClientIsForgottenByTheHost() throws {
        let host = try Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"{"family": "waited", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sleep", "600"], "stopTimeout": 2}]}"#)
        let r = try host.cli(["run", "-d", t])
        #expect(r.status == 0, "\(r.stderr)")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        func waiting() -> Int? {
            guard let body = try? host.curl("GET", "/v1/host").body, let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any] else { return nil }
            return object["waiting"] as? Int
        }
        #expect(waiting() == 0)
        let killed = try host.h.background(["wait", id])
        let kept = try host.h.background(["wait", id])
        #expect(eventually(timeout: 30) { waiting() == 2 }, "both wait: \(waiting() ?? -1)")
        killed.signal(SIGKILL)
        _ = killed.wait(timeout: 10)
        #expect(eventually(timeout: 30) { waiting() == 1 }, "the killed one is forgotten: \(waiting() ?? -1)")
        #expect(try host.cli(["stop", id]).status == 0)
        // sleep is its container's pid 1, which SIGTERM does not end: killed after stopTimeout.
        #expect(kept.wait(timeout: 60) == 137, "the other is answered with the exit code run would give: \(kept.stderr)")
        #expect(waiting() == 0)
    }

    @Test func runDetachedWithoutAHostSaysHowToStartOne() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "nohost", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        let r = try h.fargateRun(["run", "-d", t])
        #expect(r.status == 125)
        #expect(r.stderr.contains("no fargate-run host serves \(h.root): start one with `fargate-run serve --root \(h.root)"), "\(r.stderr)")
        #expect(h.taskIds().isEmpty, "nothing was started")
        let bad = try h.task(#"{"family": "nohost", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "privileged": true}]}"#, name: "bad.json")
        #expect(try h.fargateRun(["run", "-d", bad]).status == 2, "an invalid definition is refused without a host too")
    }

    /// The host checks a definition; one it refuses gets the errors a foreground run gives
    /// (the client reads it only then), and nothing is made.
    @Test func anInvalidDefinitionRefusedByTheHostGetsTheForegroundsErrors() throws {
        let host = try Host()
        defer { host.cleanup() }
        let bad = try host.h.task(#"{"family": "bad", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "privileged": true}]}"#, name: "bad.json")
        let detached = try host.h.fargateRun(["run", "-d", bad])
        let foreground = try host.h.fargateRun(["run", bad])
        #expect(detached.status == 2 && foreground.status == 2, "\(detached.status) \(foreground.status)")
        #expect(detached.stderr == foreground.stderr && detached.stderr.contains("privileged"), "\(detached.stderr)\n\(foreground.stderr)")
        #expect(host.h.taskIds().isEmpty, "no task was made")
    }

    @Test func malformedAndHostileRequestsAreRefusedAndChangeNothing() throws {
        let host = try Host()
        defer { host.cleanup() }
        let good = try host.h.task(#"{"family": "ok", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/v1/tasks", "{not json", 400, "BadRequest"),
            ("POST", "/v1/tasks", #"{"definitionPath": 5, "workingDirectory": "/", "count": 1}"#, 400, "BadRequest"),
            ("POST", "/v1/tasks", #"{"definitionPath": "/nonexistent.json", "workingDirectory": "/", "count": 1}"#, 400, "InvalidTaskDefinition"),
            ("POST", "/v1/tasks", #"{"definitionPath": "\#(good)", "workingDirectory": "/", "count": 11}"#, 409, "invalidState"),
            ("POST", "/v1/tasks/ffffffffffffffffffffffffffffffff/stop", "{}", 404, "notFound"),
            ("DELETE", "/v1/host", nil, 404, "NotFound"),
            // (curl makes it /etc/passwd: the ECS API's, which knows no such operation.)
            ("GET", "/v1/../../etc/passwd", nil, 400, "UnknownOperationException"),
        ]
        for (method, path, body, status, code) in cases {
            let r = try host.curl(method, path, body: body)
            #expect(r.status == status && r.body.contains(code), "\(method) \(path): \(r.status) \(r.body)")
        }
        // A body over the limit is refused without being read whole.
        let big = host.h.dir.path + "/big.json"
        try Data(repeating: UInt8(ascii: " "), count: 2 << 20).write(to: URL(fileURLWithPath: big))
        let oversized = try run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20", "--unix-socket", host.socket,
                                                  "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + big, "http://fargate-run/v1/tasks"])
        #expect(oversized.stdout == "413", "\(oversized.stdout)")
        #expect(host.h.taskIds().isEmpty, "no task was made")
        #expect((try host.curl("GET", "/v1/host")).status == 200, "the host goes on serving")
    }

    /// The host keeps its network's rules in the firewall table between its tasks (the next
    /// task joins without the table made again) and takes them away as it stops; those of a
    /// host that was killed go with gc.
    @Test func theHostKeepsItsNetworkBetweenTasksAndReleasesItAsItStops() throws {
        let host = try Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"{"family": "kept", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        func runOne() throws {
            let r = try host.cli(["run", "-d", t])
            #expect(r.status == 0, "\(r.stderr)")
            let w = try host.cli(["wait", r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
            #expect(w.status == 0, "\(w.stderr)")
        }
        try runOne()
        #expect(host.subnetRules().contains("masquerade"), "kept between tasks")
        #expect(try host.net.footprint(kept: true).isEmpty, "nothing of the task")
        try runOne()
        // SIGINT: the host stops, and its network leaves the table.
        host.process?.stop()
        host.process = nil
        #expect(host.subnetRules().isEmpty, "released: \(host.subnetRules())")
        let left = try host.net.footprint()
        #expect(left.isEmpty, "\(left)")
        // A killed host's network goes with gc. (Any task's join or leave, another test's host
        // start or gc, at the same time, may sweep it first: whether it was still there before
        // gc is not asked. HostPolicyKernelTests sees a killed host's network stay until swept.)
        try host.start()
        try runOne()
        host.kill9()
        let gc = try host.cli(["gc"])
        #expect(gc.status == 0, "\(gc.stderr)")
        #expect(host.subnetRules().isEmpty, "\(host.subnetRules()) \(gc.stdout)")
        let afterGC = try host.net.footprint()
        #expect(afterGC.isEmpty, "\(afterGC)")
    }

    /// Twenty tasks run while their host is killed and another takes over; each later stops
    /// with its own exit code, billed once.
    @Test func twentyTasksRunOnThroughAHostRestart() throws {
        let host = try Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"{"family": "twenty", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "while [ ! -e /go ]; do sleep 0.2; done; exit $(cat /go)"]}]}"#)
        var ids: [String] = []
        for _ in 0..<2 {
            let r = try host.cli(["run", "-d", "--count", "10", t])
            #expect(r.status == 0, "\(r.stderr)")
            ids += r.stdout.split(separator: "\n").map(String.init)
        }
        #expect(ids.count == 20)
        let pids = ids.compactMap { host.pids($0)["a"] }
        #expect(pids.count == 20)
        try host.restart()
        #expect(pids.allSatisfy(alive), "all twenty ran on without a host")
        for (n, id) in ids.enumerated() {
            let e = try host.cli(["exec", id, "--", "sh", "-c", "echo \(n % 7 + 1) > /go"])
            #expect(e.status == 0, "\(e.stderr)")
        }
        for (n, id) in ids.enumerated() {
            let w = try host.cli(["wait", id])
            #expect(w.status == Int32(n % 7 + 1), "task \(n): \(w.stdout) \(w.stderr)")
        }
        let footprint = try host.net.footprint(kept: true)
        #expect(footprint.isEmpty, "\(footprint)")
        // The host that took them over keeps their network after the last (as if it had
        // started them), and gives it back as it stops.
        #expect(host.subnetRules().contains("masquerade"), "kept by the new host")
        host.process?.stop()
        host.process = nil
        #expect(host.subnetRules().isEmpty, "released: \(host.subnetRules())")
        let records = try run("/usr/bin/sqlite3", [host.h.root + "/ledger.sqlite", "select count(distinct task_arn), count(*) from billing_records; select count(*) from open_tasks"])
        #expect(records.stdout == "20|20\n0\n", "\(records.stdout)")
    }

    /// kill -9 of the host at random moments while tasks start and stop, then a last host:
    /// every task ends STOPPED, billed once if its billing started, with the exit code of every
    /// container that ran; nothing is left on the machine.
    @Test func killingTheHostAtRandomDuringStartsAndStopsLosesNothing() throws {
        let host = try Host()
        defer { host.cleanup() }
        let t = try host.h.task(#"{"family": "chaos", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "trap 'exit 3' TERM; sleep 0.3; while :; do sleep 0.1; done"], "stopTimeout": 2}, {"name": "b", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "exit 5"]}]}"#)
        let cycles = Atomic(0)
        let worker = Thread {
            // Starts and stops, whatever the host is doing; failures while it is down are expected.
            while cycles.load(ordering: .relaxed) < 50 {
                if let r = try? host.cli(["run", "-d", t]), r.status == 0, let id = r.stdout.split(separator: "\n").first {
                    usleep(UInt32.random(in: 0...400_000))
                    _ = try? host.cli(["stop", String(id)])
                } else {
                    usleep(100_000)
                }
                cycles.add(1, ordering: .relaxed)
            }
        }
        worker.start()
        var kills = 0
        while cycles.load(ordering: .relaxed) < 50 {
            usleep(UInt32.random(in: 200_000...1_200_000))
            try host.restart()
            kills += 1
        }
        while !worker.isFinished { usleep(50_000) }
        // The last host takes over what is left; the tasks whose stop requests met no host
        // still run, and are stopped now.
        try host.restart()
        let ids = host.h.taskIds()
        #expect(ids.count >= 20, "tasks were started: \(ids.count), host killed \(kills) times")
        for id in ids where ((host.h.state(id)?["task"] as? [String: Any])?["lastStatus"] as? String) != "STOPPED" {
            _ = try host.cli(["stop", id])
        }
        #expect(eventually(timeout: 120) {
            ids.allSatisfy { ((host.h.state($0)?["task"] as? [String: Any])?["lastStatus"] as? String) == "STOPPED" }
        }, "every task ends STOPPED: \(ids.filter { ((host.h.state($0)?["task"] as? [String: Any])?["lastStatus"] as? String) != "STOPPED" }.map { "\($0.prefix(12)) \(host.h.state($0).map { "\($0["task"] ?? "?") \($0["lifecycle"] ?? "?")" } ?? "no state")" }) host: \(host.process?.stderr.suffix(3000) ?? "")")
        var started = 0
        for id in ids {
            guard let state = host.h.state(id), let task = state["task"] as? [String: Any] else { continue }
            if task["pullStartedAt"] != nil { started += 1 }
            for c in (task["containers"] as? [[String: Any]]) ?? [] {
                // A container that ran has its exit code (a and b: 3, 5, or 137 when killed).
                let ran = ((state["lifecycle"] as? [String: Any])?["containers"] as? [[String: Any]])?
                    .first { $0["name"] as? String == c["name"] as? String }?["hasRun"] as? Bool ?? false
                if ran { #expect(c["exitCode"] != nil, "task \(id.prefix(12)) container \(c["name"] ?? "?") ran and has its exit code") }
            }
        }
        let records = try run("/usr/bin/sqlite3", [host.h.root + "/ledger.sqlite", "select count(distinct task_arn), count(*) from billing_records; select count(*) from open_tasks"])
        #expect(records.stdout == "\(started)|\(started)\n0\n", "every task whose billing started is billed exactly once: \(records.stdout)")
        let footprint = try host.net.footprint(kept: true)
        #expect(footprint.isEmpty, "\(footprint)")
        for id in ids { #expect(host.h.leftovers(id).isEmpty, "\(id): \(host.h.leftovers(id))") }
        let monitors = try run("/usr/bin/pgrep", ["-f", "fargate-monitor " + host.h.root])
        #expect(monitors.stdout.isEmpty, "no monitor is left: \(monitors.stdout)")
    }
}
