#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// The cgroup v2 driver on a real v2 kernel: boots Debian's kernel under QEMU (software
/// emulation) with the host's root shared read-only over virtio-9p and cgroup2 mounted alone,
/// and runs the cgroup-dependent suites of this test binary inside it. This project's build
/// machines are cgroup v1 (hybrid), so without this the v2 driver would never run.
@Suite(.enabled(if: Prerequisites.rootOrCI && ProcessInfo.processInfo.environment["FARGATE_RUN_IN_VM"] == nil,
                "needs root, QEMU and Debian's kernel package; CI runs it"),
       .serialized)
struct CgroupV2VMTests {
    /// The suites that touch cgroups, namespaces and mounts, and `info`, which must name the
    /// v2 driver there.
    static let suites = ["ContainerLaunchTests", "CgroupLimitTests", "RunTaskTests", "IsolationTests", "InfoCommandTests", "InsideTheVM"]

    @Test(.timeLimit(.minutes(45)))
    func cgroupDependentSuitesPassOnCgroupV2() throws {
        let vm = repositoryRoot + "/.build/vm"
        let build = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/vm/build-vm.sh", vm])
        try #require(build.status == 0, "building the VM: \(build.stderr)")
        // Build the test images on the host; the VM sees them through the shared root.
        _ = try TestImages.busybox()
        _ = try TestImages.probeOCI()
        let testBinary = try #require(Bundle.main.executablePath)
        // Whole suite names: a bare "IsolationTests" would take MetadataIsolationTests too.
        let filter = "\\.(" + Self.suites.joined(separator: "|") + ")/"
        let command = "'\(testBinary)' --testing-library swift-testing --filter '\(filter)' 2>&1"
        let r = try run("/bin/bash", [repositoryRoot + "/rootfs-tools/vm/run-in-vm.sh", vm, repositoryRoot, command])
        let tail = r.stdout.split(separator: "\n").suffix(80).joined(separator: "\n")
        #expect(r.stdout.contains("FR-VM-READY"), "the VM did not start: \(r.stderr)\n\(tail)")
        let ready = r.stdout.split(separator: "\n").first { $0.contains("FR-VM-READY") }.map(String.init) ?? ""
        for c in ["cpu", "memory", "pids", "io"] { #expect(ready.split(separator: " ").contains(Substring(c)), "controller \(c): \(ready)") }
        #expect(r.status == 0, "suites failed inside the v2 VM:\n\(tail)")
        #expect(r.stdout.contains("Suite InsideTheVM passed"), "the in-VM checks ran:\n\(tail)")
        for s in Self.suites { #expect(r.stdout.contains("Suite \(s) passed"), "\(s) did not pass in the VM") }
    }
}

/// Runs only inside the VM: proves the suites above really ran against cgroup v2.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["FARGATE_RUN_IN_VM"] != nil, "runs inside the cgroup v2 VM only"))
struct InsideTheVM {
    @Test func theHostIsCgroupV2Only() throws {
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(mounts.contains(" /sys/fs/cgroup rw") || mounts.contains(" /sys/fs/cgroup "))
        #expect(mounts.split(separator: "\n").contains { $0.contains(" - cgroup2 ") && $0.contains(" /sys/fs/cgroup ") })
        #expect(!mounts.split(separator: "\n").contains { $0.contains(" - cgroup ") }, "no v1 hierarchy is mounted")
        let controllers = try String(contentsOfFile: "/sys/fs/cgroup/cgroup.subtree_control", encoding: .utf8)
        #expect(controllers.contains("memory") && controllers.contains("cpu") && controllers.contains("pids"))
    }

    /// A host started in a cgroup of its own, as systemd starts a service with Delegate=yes,
    /// moves itself into a leaf so its tasks' cgroups can have controllers (v2 allows none
    /// beneath a cgroup holding processes), and its tasks run with their limits.
    @Test func aHostInADelegatedCgroupGivesItsTasksControllers() throws {
        let h = try Harness()
        let service = "/sys/fs/cgroup/fr-service-\(getpid())"
        defer {
            h.cleanup()
            rmdir(service + "/" + "fargate-run-host")
            rmdir(service)
        }
        try #require(mkdir(service, 0o755) == 0)
        let host = try BackgroundProcess("/bin/sh", ["-c", "echo $$ > \(service)/cgroup.procs && exec \(fargateRunBinary) serve --listen none --root \(h.root)"])
        defer { host.signal(SIGTERM); _ = host.wait(timeout: 20) }
        try #require(eventually(timeout: 30) { FileManager.default.fileExists(atPath: h.root + "/host.sock") }, "\(host.stderr)")
        let membership = try String(contentsOfFile: "/proc/\(host.pid)/cgroup", encoding: .utf8)
        #expect(membership.contains("/fr-service-\(getpid())/fargate-run-host"), "the host moved into its leaf: \(membership)")
        let t = try h.task(#"{"family": "delegated", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "a", "image": "IMAGE", "command": ["sh", "-c", "cat /sys/fs/cgroup/cpu.max /sys/fs/cgroup/../memory.max 2>/dev/null; sleep 1000"], "stopTimeout": 2}]}"#)
        let r = try h.fargateRun(["run", "-d", t])
        #expect(r.status == 0, "a task starts beneath the service's cgroup: \(r.stderr) \(host.stderr)")
        let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let dirs = (h.state(id)?["cgroupDirectories"] as? [String]) ?? []
        #expect(dirs == [service + "/fargate-run-" + id], "\(dirs)")
        #expect((try? String(contentsOfFile: service + "/fargate-run-\(id)/memory.max", encoding: .utf8)) == "536870912\n", "the task's memory limit is set")
        _ = try h.fargateRun(["stop", id])
        let w = try h.fargateRun(["wait", id])
        #expect(w.status == 137, "\(w.stdout) \(w.stderr)")
    }
}
