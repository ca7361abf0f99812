#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox

/// A hosted task: its monitor clones the containers and writes their output, so the task
/// outlives this process.
extension SandboxTaskBackend {
    /// The monitor's name for the pause process; containers are their index in the definition.
    static let pauseSlot: UInt32 = 100

    public var keeper: ProcessIdentity? { monitor?.identity }

    func startMonitor(_ executable: SealedExecutable) throws {
        let monitor = try TaskMonitor.start(taskDirectory: taskDirectory, executable: executable)
        self.monitor = monitor
        let (warning, lost, id) = (warningHandler, lossHandler, taskId)
        monitor.connect(exit: { _ in }, drained: { [weak self] _, pid in self?.drained.withLock { _ = $0.insert(pid) } }, closed: { [weak self] in
            guard let self, !self.finished.withLock({ $0 }) else { return }
            // Its containers are no one's now: they stop, and so does the task.
            warning("the monitor of task \(id.prefix(12)) (pid \(monitor.identity.pid)) is gone: its containers are killed")
            self.killOrphans()
            lost("The task's monitor process ended unexpectedly")
        })
        PhaseTiming.mark("monitor")
    }

    /// Containers whose monitor died are killed through their pidfds and counted as killed:
    /// nobody is left to learn how they ended.
    func killOrphans() {
        let processes = lock.withLock { slots.values.compactMap(\.process) + (pause.map { [$0] } ?? []) }
        for p in processes where p.status == nil {
            p.signal(SIGKILL)
            p.resolve(TerminationStatus(exited: false, value: SIGKILL))
        }
    }

    /// Waits (bounded) until the monitor has written every started container's output.
    func monitorDrained() async {
        let pids = Set(lock.withLock { slots.values.compactMap { $0.process?.pid } })
        for _ in 0..<2000 {
            if monitor?.isConnected != true || pids.isSubset(of: drained.withLock({ $0 })) { return }
            try? await Task.sleep(for: .milliseconds(5))
        }
        warningHandler("the monitor of task \(taskId.prefix(12)) did not finish writing its containers' output within 10 s")
    }

    /// Has the monitor make a container ready (its output to `logFile` and the awslogs stream).
    func prepareMonitored(_ spec: ContainerSpec, cgroup: Cgroup, slot: Slot, monitor: TaskMonitor, logFile: String,
                          eventsFile: String?) throws -> PreparedContainer {
        let log = open(logFile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o640)
        guard log >= 0 else { throw SystemError("open", path: logFile) }
        defer { close(log) }
        var events: Int32 = -1
        if let eventsFile {
            events = open(eventsFile, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0o640)
            guard events >= 0 else { throw SystemError("open", path: eventsFile) }
        }
        defer { if events >= 0 { close(events) } }
        return try ContainerLauncher.prepare(spec, cgroup: cgroup, via: .init(monitor: monitor, slot: UInt32(slot.plan.index),
                                                                          logFile: log, eventsFile: events))
    }
}
