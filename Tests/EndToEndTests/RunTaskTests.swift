#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// A state root and helpers for running the real binary against it.
struct Harness {
    let dir: TemporaryDirectory
    var root: String { dir.path + "/root" }
    let image: String

    init() throws {
        dir = try TemporaryDirectory("fr-e2e")
        image = try TestImages.busyboxOCI()
    }

    func cleanup() { dir.remove() }

    /// Writes a task definition; "IMAGE" in it becomes the busybox image reference.
    func task(_ json: String, name: String = "task.json") throws -> String {
        let path = dir.path + "/" + name
        try json.replacingOccurrences(of: "IMAGE", with: image).write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    /// Options follow the subcommand, as ArgumentParser wants them: a first argument that is
    /// a word (not an option, not a file) is a subcommand.
    func withRoot(_ args: [String]) -> [String] {
        if args.first == "images", args.count >= 2 { return ["images", args[1], "--root", root] + args.dropFirst(2) }
        if let first = args.first, !first.hasPrefix("-"), !first.contains("/"), !first.contains(".") {
            return [first, "--root", root] + args.dropFirst()
        }
        return ["--root", root] + args
    }

    func fargateRun(_ args: [String], cwd: String? = nil) throws -> RunResult {
        try run(fargateRunBinary, withRoot(args), currentDirectory: cwd)
    }

    func background(_ args: [String]) throws -> BackgroundProcess {
        try BackgroundProcess(fargateRunBinary, withRoot(args))
    }

    /// Task ids in the root.
    func taskIds() -> [String] {
        (try? FileManager.default.contentsOfDirectory(atPath: root + "/tasks")) ?? []
    }

    func state(_ id: String) -> [String: Any]? {
        guard let d = FileManager.default.contents(atPath: root + "/tasks/\(id)/state.json") else { return nil }
        return try? JSONSerialization.jsonObject(with: d) as? [String: Any]
    }

    /// The task whose state says RUNNING, with its state.
    func runningTask() -> (String, [String: Any])? {
        for id in taskIds() {
            if let s = state(id), ((s["task"] as? [String: Any])?["lastStatus"] as? String) == "RUNNING" { return (id, s) }
        }
        return nil
    }

    /// Everything of task `id` still on the machine: mounts, the network namespace, cgroups,
    /// container processes, container directories.
    func leftovers(_ id: String, pids: [Int32] = []) -> [String] {
        var found: [String] = []
        found += mountsContaining(root).map { "mount \($0)" }
        let ns = "fr-" + String(id.prefix(16))
        if FileManager.default.fileExists(atPath: "/run/netns/" + ns) { found.append("netns \(ns)") }
        let cg = try? run("/usr/bin/find", ["/sys/fs/cgroup", "-maxdepth", "6", "-type", "d", "-name", "fargate-run-\(id)"])
        found += (cg?.stdout.split(separator: "\n").map { "cgroup \($0)" }) ?? []
        for pid in pids where kill(pid, 0) == 0 { found.append("process \(pid)") }
        if FileManager.default.fileExists(atPath: root + "/tasks/\(id)/containers") { found.append("container directories") }
        return found
    }
}

func json(_ s: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
}

func firstTask(_ output: String) throws -> [String: Any] {
    let tasks = try #require(try json(output)["tasks"] as? [[String: Any]])
    return try #require(tasks.first)
}

func container(_ task: [String: Any], _ name: String) throws -> [String: Any] {
    let list = try #require(task["containers"] as? [[String: Any]])
    return try #require(list.first { $0["name"] as? String == name })
}

/// `fargate-run task.json` end to end, as root, on the real kernel.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct RunTaskTests {
    @Test func theExampleTaskServesItsPageOverLocalhost() throws {
        let h = try Harness()
        defer { h.cleanup() }
        // The example names oci:out/busybox/oci:latest, relative to where it runs.
        let cwd = h.dir.path + "/cwd"
        try FileManager.default.createDirectory(atPath: cwd + "/out", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: cwd + "/out/busybox", withDestinationPath: try TestImages.busybox())
        // An address of its own: other tests publish 8080 on 127.0.0.1 meanwhile.
        let r = try h.fargateRun(["--output", "json", "--publish-address", "127.0.0.4", repositoryRoot + "/Examples/web-and-client.json"], cwd: cwd)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("client | <h1>hello from the web container</h1>"), "container output goes to stderr with --output json")
        let task = try firstTask(r.stdout)
        #expect(task["lastStatus"] as? String == "STOPPED")
        #expect(task["desiredStatus"] as? String == "STOPPED")
        #expect(task["stopCode"] as? String == "EssentialContainerExited")
        #expect(task["stoppedReason"] as? String == "Essential container in task exited")
        #expect(task["cpu"] as? String == "256")
        #expect(task["memory"] as? String == "512")
        #expect((task["taskArn"] as? String)?.hasPrefix("arn:aws:ecs:us-east-1:") == true)
        #expect((task["taskDefinitionArn"] as? String)?.hasSuffix(":task-definition/web-and-client:1") == true)
        let iso = #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+\+00:00$"#
        for key in ["createdAt", "pullStartedAt", "pullStoppedAt", "startedAt", "stoppedAt"] {
            let v = try #require(task[key] as? String, "\(key) missing")
            #expect(v.range(of: iso, options: .regularExpression) != nil, "\(key) = \(v)")
        }
        let client = try container(task, "client"), web = try container(task, "web")
        #expect(client["exitCode"] as? Int == 0)
        #expect(web["exitCode"] as? Int == 0, "web traps SIGTERM and exits 0 when the task stops")
        for c in [client, web] {
            #expect(c["lastStatus"] as? String == "STOPPED")
            #expect((c["imageDigest"] as? String)?.hasPrefix("sha256:") == true)
            #expect((c["runtimeId"] as? String)?.isEmpty == false)
            #expect(c["image"] as? String == "oci:out/busybox/oci:latest")
        }
        let id = try #require(h.taskIds().first)
        #expect(h.leftovers(id).isEmpty, "\(h.leftovers(id))")
        let log = try String(contentsOfFile: h.root + "/tasks/\(id)/logs/client.log", encoding: .utf8)
        #expect(log == "<h1>hello from the web container</h1>\n", "output is kept in per-task log files")
    }

    @Test func badNetworkFlagsNameTheFlagAndStartNothing() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "flags", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        for (flag, value, message) in [("--subnet", "10.0.0.0/33", "is not an IPv4 CIDR"), ("--subnet", "10.0.0/8", "is not an IPv4 CIDR"),
                                       ("--subnet", "10.0.0.999/8", "is not an IPv4 CIDR"), ("--publish-address", "1.2.3.256", "is not an IPv4 address"),
                                       ("--publish-address", "localhost", "is not an IPv4 address"), ("--bridge", "bad/name", "is not an interface name"),
                                       ("--bridge", "abcdefghijklmnop", "is not an interface name")] {
            let r = try h.fargateRun([flag, value, t])
            #expect(r.status == 64, "\(flag) \(value): \(r.stderr)")
            #expect(r.stderr.contains("\(flag) \"\(value)\" \(message)"), "\(r.stderr)")
        }
        #expect(h.taskIds().isEmpty, "nothing started")
        #expect(try h.fargateRun(["--subnet", "198.18.250.0/24", "--publish-address", "127.0.0.2", "--bridge", "fr-t.1_x", "--network", "none", t]).status == 0)
    }

    @Test func textOutputPrefixesEachLineWithTheContainerName() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "echo", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "first", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "echo one; echo two >&2"]},
              {"name": "second-longer", "image": "IMAGE", "dependsOn": [{"containerName": "first", "condition": "COMPLETE"}],
               "command": ["sh", "-c", "echo three; printf 'no newline'"]}]}
            """#)
        let r = try h.fargateRun(["-q", t])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains("first         | one"))
        #expect(lines.contains("first         | two"))
        #expect(lines.contains("second-longer | three"))
        #expect(lines.contains("second-longer | no newline"))
        #expect(lines.firstIndex(of: "second-longer | three")! > lines.firstIndex(of: "first         | one")!,
                "COMPLETE: second starts after first stopped")
        #expect(!r.stderr.contains("PROVISIONING"), "-q prints no status lines")
    }

    @Test func containersShareTheNetworkNamespaceOnlyThenSIGINTStopsTheTask() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "ns", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "a", "image": "IMAGE", "command": ["sh", "-c", "trap 'exit 0' TERM; echo trapping; sleep 1000 & wait"]},
              {"name": "b", "image": "IMAGE", "command": ["sh", "-c", "trap 'exit 0' TERM; echo trapping; sleep 1000 & wait"]}]}
            """#)
        let p = try h.background(["--output", "json", t])
        defer { p.stop() }
        var pids: [String: Int32] = [:]
        var id = ""
        let running = eventually {
            guard let tid = h.taskIds().first, let s = h.state(tid),
                  ((s["task"] as? [String: Any])?["lastStatus"] as? String) == "RUNNING",
                  let ps = s["pids"] as? [String: Int], ps.count == 2 else { return false }
            id = tid
            pids = ps.mapValues { Int32($0) }
            return true
        }
        try #require(running, "task never reached RUNNING: \(p.stderr)")
        func ns(_ pid: Int32, _ kind: String) throws -> String {
            try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/\(kind)")
        }
        let a = pids["a"]!, b = pids["b"]!
        #expect(try ns(a, "net") == ns(b, "net"), "awsvpc: one network namespace per task")
        #expect(try ns(a, "net") != ns(getpid(), "net"))
        for kind in ["pid", "mnt", "ipc", "uts", "cgroup"] {
            #expect(try ns(a, kind) != ns(b, kind), "\(kind) namespaces differ between containers")
            #expect(try ns(a, kind) != ns(getpid(), kind), "\(kind) namespace differs from the host")
        }
        // The task cgroup carries the task's memory as a hard limit.
        let s = try #require(h.state(id))
        let dirs = try #require(s["cgroupDirectories"] as? [String])
        let limits = dirs.compactMap { d -> String? in
            for f in ["memory.limit_in_bytes", "memory.max"] {
                if let v = try? String(contentsOfFile: d + "/" + f, encoding: .utf8) { return v.trimmingCharacters(in: .whitespacesAndNewlines) }
            }
            return nil
        }
        #expect(limits == ["\(512 << 20)"])

        // RUNNING is not "its shell has set its trap": as pid 1 of its namespace, a shell
        // without a handler ignores SIGTERM (seen on the slow emulated v2 VM under load).
        try #require(eventually { p.stderr.contains("a | trapping") && p.stderr.contains("b | trapping") }, "\(p.stderr)")
        p.signal(SIGINT)
        let status = p.wait(timeout: 30)
        #expect(status == 0, "both containers exit 0 on SIGTERM: \(p.stderr)")
        let task = try firstTask(p.stdout)
        #expect(task["stopCode"] as? String == "UserInitiated")
        #expect(task["stoppedReason"] as? String == "Task stopped by user")
        #expect(h.leftovers(id, pids: [a, b]).isEmpty, "\(h.leftovers(id, pids: [a, b]))")
    }

    @Test func sigintKillsContainersThatIgnoreTheStopSignalAfterStopTimeout() throws {
        let h = try Harness()
        defer { h.cleanup() }
        // sleep as pid 1 has no SIGTERM handler, so the kernel drops the signal: SIGKILL after 2 s.
        let t = try h.task(#"""
            {"family": "stubborn", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "command": ["sleep", "1000"], "stopTimeout": 2}]}
            """#)
        let p = try h.background(["--output", "json", t])
        defer { p.stop() }
        var pid: Int32 = 0
        try #require(eventually {
            guard let id = h.taskIds().first, let ps = h.state(id)?["pids"] as? [String: Int], let a = ps["app"] else { return false }
            pid = Int32(a)
            return true
        })
        let started = Date()
        p.signal(SIGINT)
        let status = p.wait(timeout: 30)
        let took = Date().timeIntervalSince(started)
        #expect(status == 137, "128 + SIGKILL: \(p.stderr)")
        #expect(took >= 1.9, "the stop timeout is waited for")
        let task = try firstTask(p.stdout)
        #expect(task["stopCode"] as? String == "UserInitiated")
        #expect(try container(task, "app")["exitCode"] as? Int == 137)
        #expect(h.leftovers(h.taskIds()[0], pids: [pid]).isEmpty)
    }

    @Test func exitStatusIsTheFirstFailingEssentialContainers() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let failing = try h.task(#"""
            {"family": "fail", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "main", "image": "IMAGE", "command": ["sh", "-c", "exit 3"]},
              {"name": "side", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]}]}
            """#, name: "fail.json")
        let r = try h.fargateRun(["--output", "json", failing])
        #expect(r.status == 3)
        let task = try firstTask(r.stdout)
        #expect(try container(task, "main")["exitCode"] as? Int == 3)
        #expect(task["stopCode"] as? String == "EssentialContainerExited")

        let nonEssentialFails = try h.task(#"""
            {"family": "ok", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "side", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "exit 5"]},
              {"name": "main", "image": "IMAGE", "dependsOn": [{"containerName": "side", "condition": "COMPLETE"}], "command": ["true"]}]}
            """#, name: "ok.json")
        let ok = try h.fargateRun(["--output", "json", nonEssentialFails])
        #expect(ok.status == 0, "only essential containers decide the exit status")
        #expect(try container(try firstTask(ok.stdout), "side")["exitCode"] as? Int == 5)
    }

    @Test func aMissingImageFailsWith125AndANamedReason() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "noimage", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "oci:/nonexistent/images/app:1.0"}]}
            """#)
        let r = try h.fargateRun(["--output", "json", t])
        #expect(r.status == 125)
        let last = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
        #expect(last.hasPrefix("fargate-run: ") && last.contains("/nonexistent/images/app"), "one line naming what failed: \(last)")
        let task = try firstTask(r.stdout)
        #expect(task["stopCode"] as? String == "TaskFailedToStart")
        let reason = try container(task, "app")["reason"] as? String
        #expect(reason?.hasPrefix("CannotPullContainerError: ") == true)
        #expect(h.leftovers(h.taskIds()[0]).isEmpty)
    }

    /// libarchive (and the ten libraries it brings) is loaded only when a layer is unpacked:
    /// the dynamic loader's own log (LD_DEBUG=libs) shows it absent from a start whose image
    /// is unpacked already and loaded by the run that unpacks.
    @Test func libarchiveIsLoadedOnlyToUnpack() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "lazy", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["true"]}]}"#)
        func loads(_ args: [String]) throws -> (RunResult, Bool) {
            let r = try run("/usr/bin/env", ["LD_DEBUG=libs", fargateRunBinary] + h.withRoot(args))
            return (r, r.stderr.contains("libarchive.so"))
        }
        let (first, unpacking) = try loads(["--network", "none", t])
        #expect(first.status == 0, "\(first.stderr.suffix(2000))")
        #expect(unpacking, "the run that unpacks the image loads libarchive")
        let (again, cached) = try loads(["--network", "none", t])
        #expect(again.status == 0)
        #expect(!cached, "a start with the image unpacked does not load libarchive")
        let (version, _) = try loads(["--version"])
        #expect(version.status == 0 && !version.stderr.contains("libarchive.so"))
    }

    @Test func aMissingCommandIs127() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "nocmd", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "command": ["no-such-program"]}]}
            """#)
        let r = try h.fargateRun(["--output", "json", t])
        #expect(r.status == 127)
        let task = try firstTask(r.stdout)
        #expect(task["stopCode"] as? String == "TaskFailedToStart")
        let reason = try #require(try container(task, "app")["reason"] as? String)
        #expect(reason.hasPrefix("CannotStartContainerError: exec no-such-program: No such file or directory"), "\(reason)")
        #expect(h.leftovers(h.taskIds()[0]).isEmpty)
    }

    @Test func anInvalidDefinitionStartsNothing() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "x", "networkMode": "awsvpc", "cpu": "256", "memory": "4096", "containerDefinitions": [{"name": "a", "image": "IMAGE", "portMappings": [{"containerPort": 80, "hostPort": 81}]}]}"#)
        let r = try h.fargateRun([t])
        #expect(r.status == 2)
        #expect(r.stderr.contains("containerDefinitions[0].portMappings[0].hostPort"))
        #expect(r.stderr.contains("memory: 4096 MiB is not allowed with cpu 256"))
        #expect(h.taskIds().isEmpty)
    }

    @Test func everyTaskIsBilledAndReported() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "billed", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        // Two tasks in one root at the same time.
        let p1 = try h.background([t]), p2 = try h.background([t])
        defer { p1.stop(); p2.stop() }
        #expect(p1.wait() == 0)
        #expect(p2.wait() == 0)
        let report = try h.fargateRun(["report", "--format", "json"])
        #expect(report.status == 0, "\(report.stderr)")
        let j = try json(report.stdout)
        let rows = try #require(j["tasks"] as? [[String: Any]])
        #expect(rows.count == 2)
        for row in rows {
            #expect(row["billedSeconds"] as? Int == 60, "a short task bills the one-minute minimum")
            #expect(row["cost"] as? String == "0.000205708")
            #expect(row["family"] as? String == "billed")
        }
        #expect(j["totalCost"] as? String == "0.000411416")
        let csv = try h.fargateRun(["report", "--format", "csv"]).stdout.split(separator: "\n")
        #expect(csv.count == 3)
        let table = try h.fargateRun(["report"]).stdout
        #expect(table.contains("TOTAL") && table.contains("$0.000411416"))
        let sqlite = try run("/usr/bin/sqlite3", [h.root + "/ledger.sqlite", "SELECT count(*) FROM open_tasks;"])
        #expect(sqlite.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func aReaderThatGoesAwayDoesNotStrandTheTask() throws {
        // `fargate-run task.json | head -1`: the pipe closes while containers still write.
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "pipe", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "for i in $(seq 1 3000); do echo line $i; done; sleep 1; echo end"]}]}"#)
        let r = try run("/bin/sh", ["-c", "'\(fargateRunBinary)' --root '\(h.root)' '\(t)' 2>&1 | head -n 1"])
        #expect(r.stdout.split(separator: "\n").count == 1)
        let id = try #require(h.taskIds().first)
        #expect(eventually(timeout: 30) { (h.state(id)?["task"] as? [String: Any])?["lastStatus"] as? String == "STOPPED" })
        #expect(h.leftovers(id).isEmpty, "\(h.leftovers(id))")
        let billed = try run("/usr/bin/sqlite3", [h.root + "/ledger.sqlite", "SELECT count(*) FROM billing_records;"])
        #expect(billed.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1", "the task still ended and was billed")
    }

    @Test func theRootComesFromTheEnvironmentAndRunIsTheDefaultCommand() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"{"family": "env", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["true"]}]}"#)
        let envRoot = h.dir.path + "/from-env"
        var env = ProcessInfo.processInfo.environment
        env["FARGATE_RUN_ROOT"] = envRoot
        let r = try run(fargateRunBinary, ["run", "-q", t], environment: env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect((try FileManager.default.contentsOfDirectory(atPath: envRoot + "/tasks")).count == 1)
        #expect(FileManager.default.fileExists(atPath: envRoot + "/ledger.sqlite"))
        #expect(h.taskIds().isEmpty, "the other root is untouched")
    }

    @Test func validateSummarisesAValidDefinition() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let r = try h.fargateRun(["validate", repositoryRoot + "/Examples/web-and-client.json"])
        #expect(r.status == 0)
        #expect(r.stdout == "web-and-client:1 valid: 0.25 vCPU, 0.5 GB, 2 containers: web (non-essential), client\n")
        // From a pipe (`aws ecs describe-task-definition ... | fargate-run validate /dev/stdin`;
        // /dev/stdin is this link, which the cgroup v2 VM's /dev lacks).
        let piped = try run(fargateRunBinary, ["validate", "/proc/self/fd/0"],
                            input: try String(contentsOfFile: repositoryRoot + "/Examples/web-and-client.json", encoding: .utf8))
        #expect(piped.status == 0 && piped.stdout == r.stdout, "\(piped.stdout) \(piped.stderr)")
        let directory = try h.fargateRun(["validate", h.dir.path])
        #expect(directory.status == 2 && directory.stderr.contains("cannot read \(h.dir.path): Is a directory"), "\(directory.stderr)")
    }
}
