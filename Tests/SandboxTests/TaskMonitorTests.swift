#if canImport(Glibc)
import Glibc
#endif
import CShim
import Foundation
import LinuxSupport
@testable import Sandbox
import TestSupport
import Synchronization
import Testing

/// fargate-monitor, for real: it clones containers, writes their output, reaps them, and
/// tells a host that connects later what happened while none was connected. Needs root.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason), .serialized)
struct TaskMonitorTests {
    let launch = ContainerLaunchTests()

    /// Opens (creating) a log file for appending.
    func logFile(_ path: String) -> Int32 { open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640) }

    @Test func aContainerClonedByTheMonitorOutlivesItsHostsConnection() async throws {
        let tmp = try TemporaryDirectory("frmon")
        defer { tmp.remove() }
        let taskDir = tmp.path + "/task"
        try FileSystem.makeDirectories(taskDir)
        let started = Date()
        var (spec, cg) = try launch.busyboxSpec(tmp, ["sh", "-c", "echo one; echo two >&2; read x < /dev/null; sleep 1; echo three; exit 5"])
        defer { try? cg.remove() }
        spec.hostnameIsFinal = true
        let exec = try SealedExecutable.fargateMonitor()
        var monitor: TaskMonitor? = try TaskMonitor.start(taskDirectory: taskDir, executable: exec)
        let monitorPid = monitor!.identity.pid
        #expect(monitorPid > 0 && ProcessIdentity.startTime(of: monitorPid) != nil)
        let socket = TaskMonitor.socketPath(taskDir)
        var st = stat()
        #expect(stat(socket, &st) == 0 && st.st_mode & 0o777 == 0o600, "the socket is root's only")

        let log = logFile(taskDir + "/c.log")
        defer { close(log) }
        let prepared = try ContainerLauncher.prepare(spec, cgroup: cg, via: .init(monitor: monitor!, slot: 4, logFile: log))
        let process = try prepared.start()
        #expect(readParent(process.pid) == monitorPid, "the container is the monitor's child, not ours")

        // The host goes away (its connection closes) while the container runs.
        monitor = nil
        try await Task.sleep(for: .milliseconds(1500))
        #expect(kill(monitorPid, 0) == 0, "the monitor stays")

        let again = try TaskMonitor.connect(taskDirectory: taskDir)
        #expect(again.identity.pid == monitorPid)
        var children = try again.children()
        for _ in 0..<50 where children.first?.status == nil || children.first?.draining == true {
            try await Task.sleep(for: .milliseconds(100))
            children = try again.children()
        }
        let child = try #require(children.first)
        #expect(child.slot == 4 && child.pid == process.pid)
        #expect(child.status == TerminationStatus(exited: true, value: 5), "its exit, recorded while no host was connected")
        #expect(child.endedAt.map { $0 > started && $0 <= Date() } == true, "when it ended: \(String(describing: child.endedAt))")
        let lines = Set(try FileSystem.readString(taskDir + "/c.log").split(separator: "\n"))
        #expect(lines == ["one", "two", "three"], "its output, written by the monitor")
        #expect(try FileSystem.readString(taskDir + "/monitor.exits").hasPrefix("4 \(process.pid) 1 5 "), "and kept on disk")

        again.finish()
        await again.waitUntilGone()
        #expect(eventually(timeout: 5) { kill(monitorPid, 0) != 0 || isZombie(monitorPid) }, "it leaves once told the task is over")
        #expect(!FileSystem.exists(socket))
    }

    @Test func aRunningContainerIsKnownWithItsPidfdAndItsExitIsReported() async throws {
        let tmp = try TemporaryDirectory("frmon")
        defer { tmp.remove() }
        let taskDir = tmp.path + "/task"
        try FileSystem.makeDirectories(taskDir)
        var (spec, cg) = try launch.busyboxSpec(tmp, ["sleep", "30"])
        defer { try? cg.remove() }
        spec.hostnameIsFinal = true
        let monitor = try TaskMonitor.start(taskDirectory: taskDir, executable: try SealedExecutable.fargateMonitor())
        let exits = Mutex<[TaskMonitor.Exit]>([])
        monitor.connect(exit: { e in exits.withLock { $0.append(e) } })
        let log = logFile(taskDir + "/c.log")
        defer { close(log) }
        let process = try ContainerLauncher.prepare(spec, cgroup: cg, via: .init(monitor: monitor, slot: 0, logFile: log)).start()

        // A second host's view: the child runs, and its pidfd signals it.
        let other = try TaskMonitor.connect(taskDirectory: taskDir)
        let running = try other.children()
        #expect(running.count == 1 && running[0].status == nil)
        let adopted = try #require(running[0].process)
        // pid 1 of its namespace ignores SIGTERM without a handler: SIGKILL it is.
        #expect(adopted.signal(SIGKILL))
        let status = await adopted.wait()
        #expect(status == TerminationStatus(exited: false, value: SIGKILL), "the exit, through the monitor")
        #expect(process.status == nil, "the first connection's process hears nothing once that host is gone")
        other.finish()
        await other.waitUntilGone()
        #expect(exits.withLock { $0.isEmpty }, "only the connected host hears of exits: the first lost its connection")
    }

    @Test func aMalformedSpawnIsRefusedAndTheMonitorGoesOn() async throws {
        let tmp = try TemporaryDirectory("frmon")
        defer { tmp.remove() }
        let taskDir = tmp.path + "/task"
        try FileSystem.makeDirectories(taskDir)
        let monitor = try TaskMonitor.start(taskDirectory: taskDir, executable: try SealedExecutable.fargateMonitor())
        defer { monitor.kill() }
        // A spawn whose spec is garbage, from a connection of our own (it replaces the first).
        let sock = try TaskMonitor.unixSocket(path: TaskMonitor.socketPath(taskDir), listen: false)
        defer { close(sock) }
        var garbage = [UInt8](repeating: 0xAB, count: 300)
        garbage.replaceSubrange(0..<16, with: [UInt8](repeating: 0, count: 16))
        #expect(garbage.withUnsafeBytes { fr_monitor_send(sock, UInt32(FR_MON_SPAWN), 0, 0, $0.baseAddress, $0.count, nil, 0) } == 0)
        var buf = [UInt64](repeating: 0, count: 8192)
        var fds = [Int32](repeating: -1, count: 4)
        var nfds: Int32 = 0
        let n = buf.withUnsafeMutableBytes { raw in fds.withUnsafeMutableBufferPointer { fr_monitor_recv(sock, raw.baseAddress, raw.count, $0.baseAddress, 4, &nfds) } }
        #expect(n >= 16 + 8 && nfds == 0)
        let err = buf.withUnsafeBytes { $0.load(fromByteOffset: 16, as: Int32.self) }
        #expect(err == EINVAL)
        let again = try TaskMonitor.connect(taskDirectory: taskDir)
        #expect(try again.children().isEmpty, "it still answers")
        again.finish()
        await monitor.waitUntilGone()
    }

    func readParent(_ pid: pid_t) -> pid_t? {
        guard let text = try? FileSystem.readString("/proc/\(pid)/stat"), let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        return fields.count > 1 ? pid_t(fields[1]) : nil
    }

    func isZombie(_ pid: pid_t) -> Bool {
        ((try? FileSystem.readString("/proc/\(pid)/status")) ?? "").contains("State:\tZ")
    }
}
