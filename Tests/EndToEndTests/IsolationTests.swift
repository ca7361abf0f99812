#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// Isolation and limits, tried from inside real containers. The hostile parts run only inside
/// containers. Each test names the escape or default it checks.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct IsolationTests {
    struct Probe {
        let h: Harness
        let image: String

        init() throws {
            h = try Harness()
            image = try TestImages.probeOCI()
        }

        /// Runs one container with `command` and returns its output lines and the task JSON.
        func run(_ command: [String], extra: String = "", taskExtra: String = "", args: [String] = []) throws -> (lines: [String], task: [String: Any], status: Int32, stderr: String) {
            let cmd = String(data: try JSONSerialization.data(withJSONObject: command), encoding: .utf8)!
            let t = try h.task(#"{"family": "iso", "networkMode": "awsvpc", "cpu": "256", "memory": "512"\#(taskExtra), "containerDefinitions": [{"name": "c", "image": "\#(image)", "command": \#(cmd)\#(extra)}]}"#)
            let r = try h.fargateRun(args + ["-q", "--output", "json", t])
            let lines = r.stderr.split(separator: "\n").compactMap { l -> String? in
                l.hasPrefix("c | ") ? String(l.dropFirst(4)) : nil
            }
            return (lines, (try? firstTask(r.stdout)) ?? [:], r.status, r.stderr)
        }

        func results(_ lines: [String]) -> [String: String] {
            var out: [String: String] = [:]
            for l in lines {
                let p = l.split(separator: " ", maxSplits: 1)
                if p.count == 2 { out[String(p[0])] = String(p[1]) }
            }
            return out
        }
    }

    @Test func syscallsDockersProfileRefusesAreRefused() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let (lines, _, status, err) = try p.run(["probe", "syscalls"])
        #expect(status == 0, "\(err)")
        let r = p.results(lines)
        for name in ["mount", "umount", "unshare", "setns", "keyctl", "add_key", "bpf", "perf_event_open", "io_uring_setup",
                     "userfaultfd", "open_by_handle_at", "pivot_root", "sethostname", "socket_vsock", "socket_alg",
                     "kexec_load", "swapon", "clone_newns"] {
            #expect(r[name] == "EPERM", "\(name): \(r[name] ?? "missing")")
        }
        #expect(r["clone3"] == "ENOSYS", "clone3 answers ENOSYS so libc falls back to clone")
        #expect(r["syscall_999"] == "ENOSYS", "a syscall newer than the profile answers ENOSYS, not EPERM")
        #expect(r["socket_inet"] == "ok", "ordinary sockets still work")
    }

    @Test func filesThatMustStayOutOfReach() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let (lines, _, status, err) = try p.run(["probe", "files"])
        #expect(status == 0, "\(err)")
        let r = p.results(lines)
        // Kernels without CONFIG_MAGIC_SYSRQ or CONFIG_PROC_KCORE (this project's build VMs)
        // have neither file: then ENOENT is the refusal. The cgroup v2 VM's Debian kernel has both.
        let hostHasSysrq = FileManager.default.fileExists(atPath: "/proc/sysrq-trigger")
        #expect(r["write_sysrq"] == (hostHasSysrq ? "EROFS" : "ENOENT"), "write_sysrq: \(r["write_sysrq"] ?? "")")
        let hostHasKcore = FileManager.default.fileExists(atPath: "/proc/kcore")
        #expect(r["read_kcore"] == (hostHasKcore ? "empty" : "ENOENT"), "/proc/kcore is masked by /dev/null")
        #expect(r["write_sys"] == "EROFS" || r["write_sys"] == "ENOENT", "/sys is read-only: \(r["write_sys"] ?? "")")
        #expect(r["write_cgroup_limit"] == "EROFS", "the container's own cgroup limits are read-only")
        #expect(r["mknod_block"] == "ok", "CAP_MKNOD is in the default set, as in Docker")
        #expect(r["open_block"] == "EPERM", "but the device cgroup refuses opening a block device")
    }

    @Test func noRuntimeFileDescriptorReachesTheContainer() throws {
        // CVE-2024-21626: a leaked fd (or a cwd of /proc/self/fd/N) would reach the host.
        let p = try Probe()
        defer { p.h.cleanup() }
        let (lines, _, status, err) = try p.run(["probe", "fds"])
        #expect(status == 0, "\(err)")
        #expect(lines.last == "leaked_fds 0", "\(lines)")
        for n in 3...20 {
            let (_, task, s, _) = try p.run(["true"], extra: #", "workingDirectory": "/proc/self/fd/\#(n)""#)
            #expect(s == 125, "a working directory through /proc/self/fd/\(n) is refused")
            let reason = (try? container(task, "c"))?["reason"] as? String ?? ""
            #expect(reason.hasPrefix("CannotStartContainerError: working directory /proc/self/fd/\(n)"), "\(reason)")
        }
    }

    @Test func cgroupParentPlacesTheTaskCgroup() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let parent = "fr-test-parent-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let t = try p.h.task(#"{"family": "parent", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "c", "image": "\#(p.image)", "command": ["cat", "/proc/self/cgroup"]}]}"#)
        let r = try p.h.fargateRun(["-q", "--cgroup-parent", parent, t])
        #expect(r.status == 0, "\(r.stderr)")
        let id = try #require(p.h.taskIds().first)
        let dirs = p.h.state(id)?["cgroupDirectories"] as? [String] ?? []
        #expect(!dirs.isEmpty && dirs.allSatisfy { $0.hasSuffix("/\(parent)/fargate-run-\(id)") }, "\(dirs)")
        // Inside its cgroup namespace the container sees itself at the root.
        #expect(r.stdout.split(separator: "\n").allSatisfy { $0.hasSuffix(":/") }, "\(r.stdout)")
        #expect(p.h.leftovers(id).isEmpty)
        // The parent was made for us; remove it.
        for d in dirs { rmdir(FileSystemPath.parent(d)) }
    }

    @Test(arguments: [false, true])
    func theBinaryBehindPidOneCannotBeWritten(_ initEnabled: Bool) throws {
        // CVE-2019-5736: no runtime binary is exec'd in the container; with an init, pid 1 runs
        // from a sealed memfd.
        let p = try Probe()
        defer { p.h.cleanup() }
        let extra = initEnabled ? #", "linuxParameters": {"initProcessEnabled": true}"# : ""
        let (lines, _, status, _) = try p.run(["sh", "-c", "probe exe; readlink /proc/1/exe"], extra: extra)
        #expect(status == 0)
        let r = p.results(lines)
        #expect(r["write_proc_1_exe"] == "ETXTBSY", "\(lines)")
        #expect(r["write_proc_self_exe"] == "ETXTBSY")
        if initEnabled { #expect(lines.last?.hasPrefix("/memfd:fargate-init") == true, "\(lines)") }
    }

    @Test func theInitsMemfdIsSealed() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let t = try p.h.task(#"{"family": "sealed", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "c", "image": "\#(p.image)", "command": ["sleep", "1000"], "linuxParameters": {"initProcessEnabled": true}}]}"#)
        let bg = try p.h.background([t])
        defer { bg.stop() }
        var pid: Int32 = 0
        try #require(eventually {
            guard let (_, s) = p.h.runningTask(), let c = (s["pids"] as? [String: Int])?["c"] else { return false }
            pid = Int32(c)
            return true
        })
        let fd = open("/proc/\(pid)/exe", O_RDONLY | O_CLOEXEC)
        try #require(fd >= 0)
        defer { close(fd) }
        let seals = fcntl(fd, 1034)  // F_GET_SEALS
        #expect(seals & 0xF == 0xF, "SEAL, SHRINK, GROW and WRITE: \(seals)")
        #expect(write(fd, "x", 1) < 0)
        bg.signal(SIGINT)
        #expect(bg.wait(timeout: 30) == 143)
    }

    @Test func statusMatchesDockersDefaults() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let (lines, _, status, err) = try p.run(["grep", "-E", "^(Cap|NoNewPrivs|Seccomp:)", "/proc/self/status"])
        #expect(status == 0, "\(err)")
        var r: [String: String] = [:]
        for l in lines {
            let p = l.split(separator: ":", maxSplits: 1)
            if p.count == 2 { r[String(p[0])] = p[1].trimmingCharacters(in: .whitespaces) }
        }
        // CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW
        // SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
        #expect(r["CapEff"] == "00000000a80425fb")
        #expect(r["CapPrm"] == "00000000a80425fb")
        #expect(r["CapBnd"] == "00000000a80425fb")
        #expect(r["CapInh"] == "0000000000000000")
        #expect(r["CapAmb"] == "0000000000000000")
        #expect(r["NoNewPrivs"] == "1")
        #expect(r["Seccomp"] == "2")
    }

    @Test func capabilitiesUserReadonlyRootAndUlimits() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let (lines, _, _, err) = try p.run(
            ["sh", "-c", "id; touch /x 2>&1; grep -E '^Cap(Bnd|Eff)' /proc/self/status; ulimit -n; ulimit -Hn"],
            extra: #", "user": "www", "readonlyRootFilesystem": true, "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}], "linuxParameters": {"capabilities": {"drop": ["ALL"], "add": ["SYS_PTRACE"]}}"#)
        #expect(lines.first == "uid=33(www) gid=33(www) groups=33(www),50(staff)", "\(lines) \(err)")
        #expect(lines.contains("touch: /x: Read-only file system"))
        #expect(lines.contains("CapBnd:\t0000000000080000"), "only SYS_PTRACE stays in the bounding set")
        #expect(lines.contains("CapEff:\t0000000000000000"), "a non-root user has no effective capabilities")
        #expect(lines.suffix(2) == ["1024", "4096"])
    }

    @Test func initReapsZombiesAndForwardsTheStopSignal() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        // An orphan that exits becomes our init's child and must be reaped.
        let (lines, _, status, _) = try p.run(["sh", "-c", "(sleep 0.2 &); sleep 0.6; ps -o pid,stat,comm | grep -c ' Z ' || true"],
                                              extra: #", "linuxParameters": {"initProcessEnabled": true}"#)
        #expect(status == 0)
        #expect(lines.last == "0", "no zombie left: \(lines)")
        // SIGINT to fargate-run: the stop signal reaches the command through the init (sleep as
        // pid 1 would ignore it), so the task stops long before stopTimeout.
        let t = try p.h.task(#"{"family": "init", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "c", "image": "\#(p.image)", "command": ["sleep", "1000"], "stopTimeout": 60, "linuxParameters": {"initProcessEnabled": true}}]}"#, name: "init.json")
        let bg = try p.h.background(["--output", "json", t])
        defer { bg.stop() }
        try #require(eventually { p.h.runningTask() != nil })
        let start = Date()
        bg.signal(SIGINT)
        #expect(bg.wait(timeout: 30) == 143)
        #expect(Date().timeIntervalSince(start) < 10)
    }

    @Test func pidModeTaskSharesOnePidNamespace() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let t = try p.h.task(#"""
            {"family": "pidtask", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "pidMode": "task", "containerDefinitions": [
              {"name": "a", "image": "\#(p.image)", "essential": false, "command": ["sleep", "1000"]},
              {"name": "b", "image": "\#(p.image)", "dependsOn": [{"containerName": "a", "condition": "START"}],
               "command": ["sh", "-c", "sleep 0.3; ps -o comm | sort | tr '\\n' ' '"]}]}
            """#)
        let r = try p.h.fargateRun(["-q", t])
        #expect(r.status == 0, "\(r.stderr)")
        let seen = r.stdout.split(separator: " ")
        #expect(seen.contains("sleep"), "b sees a's sleep: \(r.stdout)")
        #expect(seen.contains("memfd:fargate-i"), "and the pause process (fargate-init from its memfd): \(r.stdout)")
    }

    @Test func aForkBombStopsAtThePidsLimit() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let (lines, _, status, err) = try p.run(["probe", "forks", "100000"], args: ["--pids-limit", "64"])
        #expect(status == 0, "\(err)")
        let forked = lines.first { $0.hasPrefix("forked ") }?.split(separator: " ") ?? []
        #expect(forked.count == 3 && forked[2] == "EAGAIN", "fork fails with EAGAIN at the limit: \(lines)")
        let n = forked.count == 3 ? Int(forked[1]) ?? 0 : 0
        #expect(n >= 50 && n < 64, "the probe got close to, never past, the limit: \(n)")
        let current = lines.first { $0.hasPrefix("pids.current ") }.flatMap { Int($0.dropFirst(13)) } ?? 0
        #expect(current <= 64 && current > 50, "pids.current \(current)")
        // The host is unaffected: it can still fork.
        #expect(try run("/bin/true", []).status == 0)
    }

    @Test func aMemoryHogIsOOMKilledWithTheECSReasonAndItsSiblingKeepsRunning() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let t = try p.h.task(#"""
            {"family": "oom", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "hog", "image": "\#(p.image)", "essential": false, "memory": 64, "command": ["probe", "hog", "400"]},
              {"name": "sibling", "image": "\#(p.image)", "memory": 64, "command": ["sh", "-c", "sleep 2; echo still alive"]}]}
            """#)
        let r = try p.h.fargateRun(["-q", "--output", "json", t])
        #expect(r.status == 0, "the essential sibling exited 0: \(r.stderr)")
        let task = try firstTask(r.stdout)
        let hog = try container(task, "hog")
        #expect(hog["reason"] as? String == "OutOfMemoryError: Container killed due to memory usage")
        #expect(hog["exitCode"] as? Int == 137)
        #expect(r.stderr.contains("sibling | still alive"))
        #expect(try container(task, "sibling")["exitCode"] as? Int == 0)
    }

    @Test func aCPUSpinnerInAQuarterVCPUTaskGetsAQuarterOfACPU() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let t = try p.h.task(#"{"family": "spin", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "c", "image": "\#(p.image)", "command": ["sh", "-c", "while :; do :; done"], "stopTimeout": 2}]}"#)
        let bg = try p.h.background([t])
        defer { bg.stop() }
        var dirs: [String] = []
        try #require(eventually {
            guard let id = p.h.taskIds().first, let s = p.h.state(id), ((s["task"] as? [String: Any])?["lastStatus"] as? String) == "RUNNING",
                  let d = s["cgroupDirectories"] as? [String] else { return false }
            dirs = d
            return true
        })
        func usageNanos() -> Double {
            for d in dirs {
                if let v = try? String(contentsOfFile: d + "/cpuacct.usage", encoding: .utf8) { return Double(v.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0 }
                if let v = try? String(contentsOfFile: d + "/cpu.stat", encoding: .utf8),
                   let line = v.split(separator: "\n").first(where: { $0.hasPrefix("usage_usec") }) {
                    return (Double(line.split(separator: " ")[1]) ?? 0) * 1000
                }
            }
            return 0
        }
        usleep(300_000)
        let u0 = usageNanos(), t0 = Date()
        usleep(2_000_000)
        let rate = (usageNanos() - u0) / 1e9 / Date().timeIntervalSince(t0)
        #expect(rate <= 0.30, "CPU seconds per wall second: \(rate)")
        #expect(rate >= 0.05, "it did spin (a loose bound: the machine may be busy): \(rate)")
        bg.signal(SIGINT)
        #expect(bg.wait(timeout: 30) == 137)
    }

    @Test func oneTaskCanNeitherSeeNorSignalAnothersProcesses() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let victim = try p.h.task(#"{"family": "victim", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "v", "image": "\#(p.image)", "command": ["sleep", "1000"], "stopTimeout": 2}]}"#, name: "victim.json")
        let bg = try p.h.background([victim])
        defer { bg.stop() }
        var victimPid = 0
        try #require(eventually {
            guard let id = p.h.taskIds().first, let pids = p.h.state(id)?["pids"] as? [String: Int], let v = pids["v"] else { return false }
            victimPid = v
            return true
        })
        let (lines, _, _, _) = try p.run(["sh", "-c", "ps -o pid,comm | grep -c sleep; kill -9 \(victimPid) 2>&1; kill -9 1 2>&1; echo done"])
        #expect(lines.first == "0", "no sleep of the other task is visible: \(lines)")
        #expect(lines.contains { $0.contains("No such process") }, "the other task's pid does not exist here: \(lines)")
        #expect(kill(pid_t(victimPid), 0) == 0, "the victim is alive")
        bg.signal(SIGINT)
        _ = bg.wait(timeout: 30)
    }

    @Test func inspectReportsWhatTheKernelEnforces() throws {
        let p = try Probe()
        defer { p.h.cleanup() }
        let t = try p.h.task(#"""
            {"family": "inspect", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [
              {"name": "a", "image": "\#(p.image)", "memory": 128, "command": ["sleep", "1000"], "stopTimeout": 2},
              {"name": "b", "image": "\#(p.image)", "user": "www", "readonlyRootFilesystem": true, "command": ["sleep", "1000"], "stopTimeout": 2}]}
            """#)
        let bg = try p.h.background([t])
        defer { bg.stop() }
        var id = ""
        try #require(eventually {
            guard let tid = p.h.taskIds().first, (p.h.state(tid)?["pids"] as? [String: Int])?.count == 2 else { return false }
            id = tid
            return true
        })
        let r = try p.h.fargateRun(["inspect", "--output", "json", String(id.prefix(8))])
        #expect(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        let cs = try #require(report["containers"] as? [[String: Any]])
        #expect(cs.count == 2)
        #expect(report["networkCheck"] as? String == "ok", "CNI CHECK of the task's interface: \(report["networkCheck"] ?? "")")
        #expect((report["ip"] as? String)?.hasPrefix("198.19.") == true)
        let a = try #require(cs.first { $0["name"] as? String == "a" }), b = try #require(cs.first { $0["name"] as? String == "b" })
        let sa = try #require(a["sharing"] as? [String: String]), sb = try #require(b["sharing"] as? [String: String])
        #expect(sa["net"] == "b" && sb["net"] == "a", "the task's containers share the network namespace")
        for k in ["pid", "mnt", "ipc", "uts", "cgroup"] { #expect(sa[k] == "own", "\(k): \(sa[k] ?? "")") }
        #expect(sa["user"] == "host", "no user namespace, as Docker's default")
        let ia = try #require(a["isolation"] as? [String: Any]), ib = try #require(b["isolation"] as? [String: Any])
        #expect(ia["seccomp"] as? String == "filter")
        #expect(ia["noNewPrivileges"] as? Bool == true)
        #expect(((ia["capabilities"] as? [String: [String]])?["effective"] ?? []).contains("NET_RAW"))
        #expect(ib["uid"] as? Int == 33)
        #expect(ib["readonlyRoot"] as? Bool == true)
        #expect(((a["limits"] as? [String: Any])?["memoryMax"] as? Int) == 128 << 20)
        let text = try p.h.fargateRun(["inspect", id])
        #expect(text.stdout.contains("container a (host pid"))
        #expect(text.stdout.contains("seccomp   filter   no_new_privs yes"))
        #expect(!text.stdout.contains("ns pid    ") || !text.stdout.contains("SHARED WITH HOST\n  ns pid"))
        bg.signal(SIGINT)
        _ = bg.wait(timeout: 30)
        #expect(try p.h.fargateRun(["inspect", id]).status == 1, "a stopped task cannot be inspected")
    }
}

enum FileSystemPath {
    static func parent(_ p: String) -> String { URL(fileURLWithPath: p).deletingLastPathComponent().path }
}
