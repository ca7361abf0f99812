#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// What a task definition asks for beyond the walking skeleton, on the real kernel: secrets,
/// environment files, awslogs, volumes, tmpfs, shared memory, sysctls, overrides, --count,
/// and that nothing starts when the definition or its inputs are wrong.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct TaskDefinitionTests {
    @Test func secretsFilesVolumesTmpfsSysctlsAndAwslogsReachTheContainer() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let image = try TestImages.busyboxWithVolume()
        try "# the app's settings\nFROM_FILE=file\nSHARED=file\nQUOTED=\"kept\"\n".write(toFile: h.dir.path + "/app.env", atomically: false, encoding: .utf8)
        try "FROM_S3=mapped\n".write(toFile: h.dir.path + "/bucket-copy.env", atomically: false, encoding: .utf8)
        try #"""
            {"arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf": {"password": "pw-1", "port": 5432},
             "arn:aws:ssm:us-east-1:123456789012:parameter/app/token": "tok-2",
             "arn:aws:s3:::config/app.env": "bucket-copy.env"}
            """#.write(toFile: h.dir.path + "/secrets.json", atomically: false, encoding: .utf8)
        let t = try h.task(#"""
            {"family": "inputs", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "volumes": [{"name": "data"}, {"name": "shared"}, {"name": "files", "efsVolumeConfiguration": {"fileSystemId": "fs-0abc", "rootDirectory": "/app"}}],
             "containerDefinitions": [
              {"name": "writer", "image": "VOLIMAGE", "essential": false,
               "command": ["sh", "-c", "echo from-writer > /shared/note && echo persisted > /files/kept"],
               "mountPoints": [{"sourceVolume": "shared", "containerPath": "/shared"}, {"sourceVolume": "files", "containerPath": "/files"}]},
              {"name": "main", "image": "VOLIMAGE", "dependsOn": [{"containerName": "writer", "condition": "SUCCESS"}],
               "command": ["sh", "-c", "echo env $FROM_FILE $SHARED $QUOTED $FROM_S3 $PW $PORT $TOKEN; stat -c 'data %u:%g %a' /data; cat /data/seed.txt /shared/note; touch /shared/x 2>/dev/null || echo shared-read-only; grep -E ' /(tmp|dev/shm|data) ' /proc/mounts | cut -d' ' -f2,4 | sort; cat /proc/sys/net/core/somaxconn /proc/sys/kernel/msgmax"],
               "environment": [{"name": "SHARED", "value": "environment"}],
               "environmentFiles": [{"value": "app.env", "type": "s3"}, {"value": "arn:aws:s3:::config/app.env", "type": "s3"}],
               "secrets": [{"name": "PW", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:password::"},
                           {"name": "PORT", "valueFrom": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf:port::"},
                           {"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/app/token"}],
               "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
               "volumesFrom": [{"sourceContainer": "writer", "readOnly": true}],
               "linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 16, "mountOptions": ["noatime", "mode=0700"]}], "sharedMemorySize": 32},
               "systemControls": [{"namespace": "net.core.somaxconn", "value": "777"}, {"namespace": "kernel.msgmax", "value": "9999"}],
               "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/inputs", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "app"}}}]}
            """#.replacingOccurrences(of: "VOLIMAGE", with: image))
        let r = try h.fargateRun(["-q", "--secrets", h.dir.path + "/secrets.json", t])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n").map { String($0.drop { $0 != "|" }.dropFirst(2)) }
        #expect(lines.contains("env file environment \"kept\" mapped pw-1 5432 tok-2"),
                "files, then environment over files, then secrets; quotes kept as ECS does: \(lines)")
        #expect(lines.contains("data 33:33 750"), "the task volume starts as the image's VOLUME, owner and mode kept")
        #expect(lines.contains("seeded from the image"))
        #expect(lines.contains("from-writer"), "volumesFrom shares the writer's volume")
        #expect(lines.contains("shared-read-only"), "volumesFrom readOnly")
        #expect(lines.contains { $0.hasPrefix("/data rw,nosuid,nodev,") }, "volumes are nosuid and nodev")
        #expect(lines.contains("/dev/shm rw,nosuid,nodev,noexec,relatime,size=32768k"), "sharedMemorySize")
        #expect(lines.contains("/tmp rw,nosuid,nodev,noexec,noatime,size=16384k,mode=700"), "tmpfs with its size and options")
        #expect(lines.contains("777") && lines.contains("9999"), "systemControls in the task's namespaces")
        #expect(try String(contentsOfFile: "/proc/sys/net/core/somaxconn", encoding: .utf8) != "777\n", "the host's value is untouched")

        let id = try #require(h.taskIds().first)
        // awslogs: <root>/awslogs/<group>/<prefix>/<container>/<task id>, each line with its time.
        let stream = try String(contentsOfFile: h.root + "/awslogs/ecs/inputs/app/main/\(id)", encoding: .utf8)
        let first = try #require(stream.split(separator: "\n").first)
        #expect(first.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 env file environment"#, options: .regularExpression) != nil, "\(first)")
        #expect(!FileManager.default.fileExists(atPath: h.root + "/awslogs/ecs/inputs/app/writer"), "writer has no awslogs")
        // Task volumes go with the task; the EFS directory stays, as the file system does.
        #expect(!FileManager.default.fileExists(atPath: h.root + "/tasks/\(id)/volumes"))
        #expect(try String(contentsOfFile: h.root + "/efs/fs-0abc/app/kept", encoding: .utf8) == "persisted\n")
        #expect(h.leftovers(id).isEmpty, "\(h.leftovers(id))")
    }

    @Test func aSecretWithoutAValueStartsNothing() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "s", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "secrets": [{"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/db"}]}]}
            """#)
        try "{}".write(toFile: h.dir.path + "/empty.json", atomically: false, encoding: .utf8)
        let r = try h.fargateRun([t, "--secrets", h.dir.path + "/empty.json"])
        #expect(r.status == 2)
        #expect(r.stderr.contains("containerDefinitions[0].secrets[0].valueFrom: secret DB of container app: \(h.dir.path)/empty.json has no entry for \"arn:aws:ssm:us-east-1:1:parameter/db\""), "\(r.stderr)")
        #expect(h.taskIds().isEmpty, "no task was created")
    }

    @Test func anInvalidDefinitionStartsNothingAndListsEveryProblem() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "bad", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "portMappings": [{"containerPort": 80, "hostPort": 8080}], "privileged": true, "stopTimout": 5}]}
            """#)
        let r = try h.fargateRun(["--output", "json", t])
        #expect(r.status == 2)
        let list = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: String]])
        #expect(list == [
            ["path": "containerDefinitions[0].stopTimout", "message": "unknown member: did you mean \"stopTimeout\"?", "severity": "error"],
            ["path": "containerDefinitions[0].privileged", "message": "not supported on Fargate", "severity": "error"],
            ["path": "containerDefinitions[0].portMappings[0].hostPort", "message": "8080 must be absent or equal to containerPort (80) with awsvpc", "severity": "error"],
        ])
        #expect(r.stderr.contains("invalid task definition \(t) (3 problems)"))
        #expect(h.taskIds().isEmpty, "nothing started")
        let v = try h.fargateRun(["validate", t])
        #expect(v.status == 2)
        #expect(v.stderr.contains("  containerDefinitions[0].privileged: not supported on Fargate"))
    }

    @Test func validatePrintsASummary() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "sum", "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "2 GB", "containerDefinitions": [
              {"name": "app", "image": "IMAGE"}, {"name": "sidecar", "image": "IMAGE", "essential": false}]}
            """#)
        let r = try h.fargateRun(["validate", t])
        #expect(r.status == 0)
        #expect(r.stdout == "sum:1 valid: 1 vCPU, 2 GB, 2 containers: app, sidecar (non-essential)\n")
        let j = try h.fargateRun(["validate", "--output", "json", t])
        #expect(j.status == 0 && j.stdout == "[]\n")
    }

    @Test func overridesChangeCommandEnvironmentAndSize() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "ov", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "command": ["sh", "-c", "echo default"], "environment": [{"name": "A", "value": "definition"}]}]}
            """#)
        try #"{"cpu": "512", "memory": "1 GB", "containerOverrides": [{"name": "app", "command": ["sh", "-c", "echo $A $B"], "environment": [{"name": "A", "value": "override"}, {"name": "B", "value": "added"}]}]}"#
            .write(toFile: h.dir.path + "/overrides.json", atomically: false, encoding: .utf8)
        let r = try h.fargateRun(["--output", "json", "--overrides", h.dir.path + "/overrides.json", t])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("app | override added"))
        let task = try firstTask(r.stdout)
        #expect(task["cpu"] as? String == "512" && task["memory"] as? String == "1024", "billed at the overridden size")
        let bad = try h.fargateRun([t, "--overrides", #"{"containerOverrides": [{"name": "ap", "memory": 4}]}"#])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("overrides.containerOverrides[0].name: \"ap\" is not a container of this task (did you mean \"app\"?)"))
    }

    @Test func countRunsCopiesAtOnce() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "many", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "command": ["sh", "-c", "sleep 3; echo done"], "portMappings": [{"containerPort": 8080}]}]}
            """#)
        // An address of its own: other tests publish 8080 on 127.0.0.1 meanwhile.
        let r = try h.fargateRun(["--output", "json", "--count", "3", "--publish-address", "127.0.0.6", t])
        #expect(r.status == 0, "\(r.stderr)")
        let tasks = try #require(try json(r.stdout)["tasks"] as? [[String: Any]])
        #expect(tasks.count == 3)
        #expect(Set(tasks.compactMap { $0["taskArn"] as? String }).count == 3)
        for n in 1...3 { #expect(r.stderr.contains("app-\(n) | done")) }
        // They ran at once: every one started before any stopped.
        let started = tasks.compactMap { $0["startedAt"] as? String }.max()!, stopped = tasks.compactMap { $0["stoppedAt"] as? String }.min()!
        #expect(started < stopped)
        let bindings = tasks.map { (($0["containers"] as? [[String: Any]])?.first?["networkBindings"] as? [Any])?.count ?? 0 }
        #expect(bindings == [1, 0, 0], "only the first copy publishes its port on the host")
        #expect(h.taskIds().allSatisfy { h.leftovers($0).isEmpty })
    }

    @Test func aHealthyDependencyStartsItsDependentAndHealthIsReported() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "health", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "db", "image": "IMAGE", "command": ["sh", "-c", "touch /tmp/ready; trap 'exit 0' TERM; sleep 1000 & wait"],
               "healthCheck": {"command": ["CMD-SHELL", "test -f /tmp/ready && [ $(id -u) = 33 ]"], "interval": 5, "timeout": 2, "retries": 1}, "user": "33"},
              {"name": "web", "image": "IMAGE", "dependsOn": [{"containerName": "db", "condition": "HEALTHY"}], "command": ["sh", "-c", "echo db is healthy; sleep 3"]},
              {"name": "flaky", "image": "IMAGE", "essential": false, "command": ["sleep", "1000"],
               "healthCheck": {"command": ["CMD", "sh", "-c", "echo not ready; exit 3"], "interval": 5, "retries": 1}}]}
            """#)
        // web, essential, ends the task: it stays 3 s, so that flaky's first check (due with
        // db's, 5 s in) has reported before the task stops, however loaded the machine.
        let start = Date()
        let r = try h.fargateRun(["--output", "json", t])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("web   | db is healthy"))
        #expect(Date().timeIntervalSince(start) >= 5, "web waited for the first check, one interval in")
        #expect(r.stderr.contains("container db is HEALTHY"))
        #expect(r.stderr.contains("warning: container flaky is UNHEALTHY (exit 3: not ready)"), "\(r.stderr)")
        let task = try firstTask(r.stdout)
        #expect(try container(task, "db")["healthStatus"] as? String == "HEALTHY")
        #expect(try container(task, "flaky")["healthStatus"] as? String == "UNHEALTHY")
        #expect(try container(task, "web")["healthStatus"] as? String == "UNKNOWN", "no health check")
        #expect(task["healthStatus"] as? String == "HEALTHY", "flaky is not essential")
        #expect(h.taskIds().allSatisfy { h.leftovers($0).isEmpty })
    }

    @Test func aDependencysStartTimeoutStopsItsDependents() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "timeout", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "setup", "image": "IMAGE", "essential": false, "startTimeout": 2, "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"]},
              {"name": "app", "image": "IMAGE", "dependsOn": [{"containerName": "setup", "condition": "COMPLETE"}], "command": ["echo", "never"]}]}
            """#)
        let r = try h.fargateRun(["--output", "json", "-q", t])
        #expect(r.status == 1, "an essential container never ran: \(r.stderr)")
        #expect(r.stderr.contains("fargate-run: task failed to start: ContainerRuntimeTimeoutError: setup did not reach COMPLETE within its startTimeout of 2 s"))
        let task = try firstTask(r.stdout)
        #expect(task["stopCode"] as? String == "TaskFailedToStart")
        #expect(try container(task, "app")["lastStatus"] as? String == "STOPPED")
        #expect(try container(task, "app")["exitCode"] == nil)
        #expect(try container(task, "setup")["exitCode"] as? Int == 0, "setup got SIGTERM when the task stopped")
        #expect(!r.stderr.contains("never"))
    }

    /// The working directory of a health check is resolved in the container's root even after
    /// the container replaced it with a symlink climbing out (CVE-2024-21626's cousin).
    @Test func aHealthCheckStaysInsideItsContainer() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let marker = "fr-health-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let t = try h.task(#"""
            {"family": "escape", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "volumes": [{"name": "scratch"}],
             "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "workingDirectory": "/w", "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/tmp"}],
               "command": ["sh", "-c", "cd / && rm -rf /w && ln -s ../../../../../../../tmp /w && trap 'exit 0' TERM; sleep 1000 & wait"],
               "healthCheck": {"command": ["CMD-SHELL", "echo $(pwd) > MARKER"], "interval": 5, "retries": 1}},
              {"name": "reader", "image": "IMAGE", "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}],
               "mountPoints": [{"sourceVolume": "scratch", "containerPath": "/data"}], "command": ["cat", "/data/MARKER"]}]}
            """#.replacingOccurrences(of: "MARKER", with: marker))
        let r = try h.fargateRun(["-q", t])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("reader | /tmp"), "the check ran in the container's /tmp: \(r.stdout)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/" + marker), "nothing was written on the host")
    }

    /// restartPolicy's shortest period is 60 s, so this test takes a minute: the container runs
    /// past it, exits 1, is started again in the same writable layer, and exits 0 (ignored).
    @Test func aRestartPolicyStartsAnExitedContainerAgainInPlace() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "restarts", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "restartPolicy": {"enabled": true, "ignoredExitCodes": [0], "restartAttemptPeriod": 60},
               "command": ["sh", "-c", "if [ -e /ran-once ]; then echo second run sees $(cat /ran-once); exit 0; fi; echo first > /ran-once; sleep 61; exit 1"]},
              {"name": "sidecar", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "echo sidecar up; trap 'exit 0' TERM; sleep 1000 & wait"]}]}
            """#)
        let r = try h.fargateRun([t])
        #expect(r.status == 0, "the last exit, 0, ends the task: \(r.stderr)")
        #expect(r.stderr.contains("container app exited with 1; its restartPolicy started it again (restart 1)"), "\(r.stderr)")
        #expect(r.stdout.contains("app     | second run sees first"), "same writable layer: \(r.stdout)")
        #expect(r.stdout.components(separatedBy: "sidecar up").count == 2, "the sidecar was not restarted: \(r.stdout)")
    }

    @Test func aContainerFailingBeforeItsRestartPeriodIsNotRestarted() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "crashloop", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "restartPolicy": {"enabled": true}, "command": ["sh", "-c", "echo crashing; exit 3"]}]}
            """#)
        let r = try h.fargateRun([t])
        #expect(r.status == 3, "\(r.stderr)")
        #expect(r.stdout.components(separatedBy: "crashing").count == 2, "ran once: \(r.stdout)")
        #expect(!r.stderr.contains("restartPolicy started it again"))
    }

    /// `stop` from another shell stops one copy of a --count run with StopTask's code and the
    /// reason given, leaving the other running; `logs` prints and follows container output.
    @Test func stopOneCopyAndReadItsLogs() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "stoppable", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [
              {"name": "app", "image": "IMAGE", "stopTimeout": 5,
               "command": ["sh", "-c", "trap 'echo got TERM; exit 0' TERM; i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]},
              {"name": "side", "image": "IMAGE", "essential": false, "command": ["sh", "-c", "trap 'exit 0' TERM; echo side up; sleep 1000 & wait"]}]}
            """#)
        let p = try h.background(["run", "--output", "json", "--count", "2", t])
        defer { p.stop() }
        var ids: [String] = []
        try #require(eventually {
            ids = h.taskIds().filter { ((h.state($0)?["task"] as? [String: Any])?["lastStatus"] as? String) == "RUNNING" }
            return ids.count == 2
        })
        #expect(eventually { (try? h.fargateRun(["logs", ids[0], "--container", "app"]).stdout.contains("tick 3")) == true })
        // Both have set their TERM traps once they print.
        #expect(eventually { (try? h.fargateRun(["logs", ids[0], "--container", "side"]).stdout.contains("side up")) == true })
        let logs = try h.fargateRun(["logs", ids[0]])
        #expect(logs.status == 0)
        #expect(logs.stdout.contains("app  | tick 1") && logs.stdout.contains("side | side up"), "\(logs.stdout)")
        let follow = try h.background(["logs", "--follow", ids[0], "--container", "app"])
        defer { follow.stop() }

        let stop = try h.fargateRun(["stop", "--wait", "--reason", "deploy replaced it", String(ids[0].prefix(12))])
        #expect(stop.status == 0, "\(stop.stderr)")
        #expect(stop.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == ids[0])
        let stopped = h.state(ids[0])?["task"] as? [String: Any]
        #expect(stopped?["lastStatus"] as? String == "STOPPED")
        #expect(stopped?["stopCode"] as? String == "UserInitiated")
        #expect(stopped?["stoppedReason"] as? String == "deploy replaced it")
        #expect(follow.wait(timeout: 30) == 0, "logs --follow ends with the task")
        #expect(follow.stdout.contains("tick 1") && follow.stdout.contains("got TERM"), "\(follow.stdout)")
        #expect(((h.state(ids[1])?["task"] as? [String: Any])?["lastStatus"] as? String) == "RUNNING", "the other copy runs on")

        let again = try h.fargateRun(["stop", ids[0]])
        #expect(again.status == 1 && again.stderr.contains("is not running (STOPPED)"), "\(again.stderr)")
        #expect(try h.fargateRun(["logs", ids[0], "--container", "nope"]).stderr.contains("has no container nope; it has app, side"))
        #expect(try h.fargateRun(["stop", "--wait", ids[1]]).status == 0)
        #expect(p.wait(timeout: 60) == 0, "both copies stopped: \(p.stderr)")
    }

    @Test func aPortRangeTooWideToPublishStartsNothing() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "wide", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "IMAGE", "command": ["true"],
               "portMappings": [{"containerPortRange": "20000-21500"}]}]}
            """#)
        let r = try h.fargateRun([t])
        #expect(r.status == 125, "\(r.stderr)")
        #expect(r.stderr.contains("containerPortRange \"20000-21500\" publishes 1501 ports; at most 1000 can be published here"), "\(r.stderr)")
        for id in h.taskIds() { #expect(h.leftovers(id).isEmpty, "\(h.leftovers(id))") }
    }

    /// A check that leaves a child holding its output open is judged when it exits, not when
    /// the child does (30 s later here).
    @Test func aHealthCheckIsJudgedWithoutWaitingForItsChildren() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let t = try h.task(#"""
            {"family": "lingering", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
             "containerDefinitions": [{"name": "app", "image": "IMAGE", "stopTimeout": 2,
               "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 1000 & wait"],
               "healthCheck": {"command": ["CMD-SHELL", "sleep 30 & echo left a child; exit 1"], "interval": 5, "timeout": 2, "retries": 1}}]}
            """#)
        let p = try h.background([t])
        defer { p.stop() }
        let start = Date()
        #expect(eventually(timeout: 15) { p.stderr.contains("container app is UNHEALTHY (exit 1: left a child)") }, "\(p.stderr)")
        #expect(Date().timeIntervalSince(start) < 15)
    }
}
