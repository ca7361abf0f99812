#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Metering
import Sandbox
import TaskRuntime
import TestSupport
import Testing

/// The usage source over real cgroups: between reads of the task's own cgroup its CPU count is
/// derived from its containers', and that count follows them, never runs ahead of the kernel's
/// and never goes back; a complete read is the kernel's. Needs root.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct CgroupUsageSourceTests {
    /// A shell in `cgroup` that spins once told to (its spinning counted there, not where it
    /// started): `rounds` times, or until killed.
    func spinner(in cgroup: Cgroup, rounds: Int?) throws -> (Process, Pipe) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", rounds.map { "read go; i=0; while [ $i -lt \($0) ]; do i=$((i+1)); done" } ?? "read go; while :; do :; done"]
        let stdin = Pipe()
        p.standardInput = stdin
        try p.run()
        try cgroup.add(pid: p.processIdentifier)
        return (p, stdin)
    }

    @Test func theTasksCountBetweenItsReadsFollowsItsContainersAndNeverRunsAhead() throws {
        let host = try CgroupHost.probe()
        let task = try Cgroup.create(host: host, relativePath: "fargate-run-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))",
                                     limits: ResourceLimits(), delegateControllers: true)
        let app = try task.child("app", limits: ResourceLimits())
        var processes: [Process] = []
        defer {
            for p in processes where p.isRunning { kill(p.processIdentifier, SIGKILL) }
            for p in processes { p.waitUntilExit() }
            #expect(throws: Never.self) { try task.remove() }
        }
        // The container spins; so does a process of the task's own (as a pause process would
        // use a little): the containers' sum misses it until the task's cgroup is read.
        let (container, go1) = try spinner(in: app, rounds: nil)
        let (own, go2) = try spinner(in: task, rounds: 100_000)
        processes = [container, own]
        let source = CgroupUsageSource(taskCgroup: task, containers: ["app"])
        let kernel = try #require(CgroupUsageReader(task))
        _ = source.read(complete: true)
        for go in [go1, go2] { go.fileHandleForWriting.write(Data("\n".utf8)) }
        var last: UInt64 = 0, movedBetweenReads = 0
        var previousContainer: UInt64 = 0
        for _ in 0..<(2 * CgroupUsageSource.fullEvery) {
            usleep(20_000)
            let readings = source.read(complete: false)
            let t = try #require(readings.first { $0.container == "" })
            let c = try #require(readings.first { $0.container == "app" })
            let real = try #require(kernel.read()).cpuUsageNanos
            #expect(t.cpuNanos >= last, "the task's count never goes back")
            #expect(t.cpuNanos <= real, "derived \(t.cpuNanos) ns, the kernel's \(real) ns read after it")
            if t.cpuNanos > last && c.cpuNanos > previousContainer { movedBetweenReads += 1 }
            last = t.cpuNanos
            previousContainer = c.cpuNanos
        }
        #expect(movedBetweenReads > CgroupUsageSource.fullEvery, "the task's count follows its container's every read")
        let before = try #require(kernel.read()).cpuUsageNanos
        let final = try #require(source.read(complete: true).first { $0.container == "" }).cpuNanos
        let after = try #require(kernel.read()).cpuUsageNanos
        #expect(before <= final && final <= after, "a complete read is the kernel's count: \(before) ≤ \(final) ≤ \(after)")
        #expect(final >= last)
    }
}
