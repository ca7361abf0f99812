#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox
import TaskNetwork

/// A hosted task taken over by a new host: what the state file recorded, and what its monitor
/// says happened since.
extension SandboxTaskBackend {
    /// The backend of a task another host provisioned: its namespace, cgroup, network and name
    /// files as recorded, its containers through its monitor (connected by `recover`).
    public convenience init(resuming state: TaskState, plan: TaskPlan, config: RunConfiguration, taskId: String) throws {
        self.init(plan: plan, config: config, taskId: taskId, credentialsId: state.identity?.credentialsId, sink: NoLogSink())
        let host = try CgroupHost.probe(parent: config.cgroupParent)
        cgroupHost = host
        taskCgroup = Cgroup.recorded(state.cgroupDirectories, on: host)
        namespace = state.networkNamespace.map { NetworkNamespace(name: ($0 as NSString).lastPathComponent) }
        attachment = state.network
        networkUnrecorded = state.network == nil && config.network.mode == .awsvpc
        nameFiles = TaskNameFiles(existing: taskDirectory + "/etc")
    }

    /// Connects to the task's monitor and takes its children over: running ones are watched
    /// (their exits reported as any other), ended ones are returned with how and when they
    /// ended. Needs the images (`prepareImages`) to rebuild running containers' specs, which
    /// their health checks and `exec` use.
    public func recover() throws -> [RecoveredContainer] {
        let monitor = try TaskMonitor.connect(taskDirectory: taskDirectory)
        self.monitor = monitor
        recoverEndpoint(from: monitor)
        let (warning, lost, id) = (warningHandler, lossHandler, taskId)
        monitor.connect(exit: { _ in }, drained: { [weak self] _, pid in self?.drained.withLock { _ = $0.insert(pid) } }, closed: { [weak self] in
            guard let self, !self.finished.withLock({ $0 }) else { return }
            warning("the monitor of task \(id.prefix(12)) is gone: its containers are killed")
            self.killOrphans()
            lost("The task's monitor process ended unexpectedly")
        })
        // The newest child of each slot: a restart leaves its predecessor's record behind.
        var latest: [UInt32: TaskMonitor.Child] = [:]
        for c in try monitor.children() {
            if let seen = latest[c.slot], seen.status == nil { continue }
            if let seen = latest[c.slot], let a = seen.endedAt, let b = c.endedAt, a > b, c.status != nil { continue }
            latest[c.slot] = c
        }
        if let p = latest[SandboxTaskBackend.pauseSlot]?.process { pause = p }
        var out: [RecoveredContainer] = []
        for c in plan.containers {
            guard let slot = slots[c.name], let child = latest[UInt32(c.index)] else { continue }
            if let process = child.process {
                let cg = taskCgroup.map { Cgroup(existing: $0.host, relativePath: $0.relativePath + "/" + c.name) }
                lock.withLock {
                    slot.process = process
                    slot.cgroup = cg
                }
                slot.stopSignal = (slot.image?.config.config).map { ProcessResolution.stopSignal($0) } ?? SIGTERM
                if let spec = try? rebuiltSpec(slot) { lock.withLock { slot.spec = spec } }
                let handler = exitHandler, name = c.name
                Task {
                    let status = await process.wait()
                    handler(name, status)
                }
            }
            out.append(RecoveredContainer(container: c.name, status: child.status, endedAt: child.endedAt))
        }
        return out
    }

    /// The exits the monitor wrote to `monitor.exits` ("slot pid exited status nanoseconds"),
    /// the last of each container.
    public func recordedExits() -> [RecoveredContainer] {
        guard let text = try? FileSystem.readString(taskDirectory + "/monitor.exits") else { return [] }
        var last: [UInt32: RecoveredContainer] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ").compactMap { Int64($0) }
            guard f.count == 5, let c = plan.containers.first(where: { $0.index == Int(f[0]) }) else { continue }
            last[UInt32(f[0])] = RecoveredContainer(container: c.name, status: TerminationStatus(exited: f[2] != 0, value: Int32(f[3])),
                                                    endedAt: Date(timeIntervalSince1970: Double(f[4]) / 1e9))
        }
        return Array(last.values)
    }

    /// The spec a running container was started with, made again from its image and the task.
    func rebuiltSpec(_ slot: Slot) throws -> ContainerSpec? {
        guard let image = slot.image, let cgroupHost, let namespace else { return nil }
        let context = ContainerSpecBuilder.TaskContext(
            cgroupHost: cgroupHost, networkNamespace: namespace.path, hostname: knownAddress()?.hostname ?? String(taskId.prefix(12)),
            hostnameIsFinal: true, cacheDirectory: config.root.cacheDirectory, nameFiles: nameFiles.mounts,
            volumeDirectories: volumeDirectories, pidNamespace: pause.map { "/proc/\($0.pid)/ns/pid" },
            environment: endpointVariables(slot.plan, image: image))
        return try ContainerSpecBuilder(container: slot.plan, image: image, directory: slot.directory).build(context) { try sealedInit() }.spec
    }
}

/// Output that goes nowhere but the log files (a hosted task's, which its monitor writes).
struct NoLogSink: LogSink {
    func line(container: String, stream: LogStream, text: String) {}
}
