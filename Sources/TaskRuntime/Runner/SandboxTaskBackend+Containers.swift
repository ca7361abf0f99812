#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox

/// Containers: made ready, started, signalled, checked, restarted.
extension SandboxTaskBackend {
    /// Everything of a container's start up to its first instruction: its spec, cgroup, log
    /// pipes, and its process cloned and waiting.
    func prepare(_ slot: Slot) throws -> PreparedContainer {
        guard let image = slot.image, let taskCgroup, let cgroupHost, let namespace, pump != nil || monitor != nil else {
            throw TaskRuntimeError(.internal, "container \(slot.plan.name) prepared before its task was provisioned")
        }
        let upper = slot.directory + "/upper", work = slot.directory + "/work", rootfs = slot.directory + "/rootfs"
        for d in [upper, work, rootfs] { try FileSystem.makeDirectories(d, mode: 0o755) }
        // A restart mounts the same writable layer again. Its last (volatile) mount was made by
        // this process, so the crash the kernel's mark guards against cannot have come between:
        // the mark goes, as the kernel's documentation says to do in that case.
        if slot.restarts > 0 { try? FileSystem.removeTree(work + "/work/incompat") }
        let known = knownAddress()
        let context = ContainerSpecBuilder.TaskContext(
            cgroupHost: cgroupHost, networkNamespace: namespace.path, hostname: known?.hostname ?? String(taskId.prefix(12)),
            // Only a task whose address is still to come may learn its hostname at the start.
            hostnameIsFinal: known != nil || config.network.mode != .awsvpc,
            cacheDirectory: config.root.cacheDirectory, nameFiles: nameFiles.mounts, volumeDirectories: volumeDirectories,
            pidNamespace: pause.map { "/proc/\($0.pid)/ns/pid" }, environment: endpointVariables(slot.plan, image: image))
        let built = try ContainerSpecBuilder(container: slot.plan, image: image, directory: slot.directory).build(context) { try sealedInit() }
        for w in built.warnings { warningHandler(w) }
        let cg = try taskCgroup.child(slot.plan.name, limits: built.limits)
        lock.withLock {
            slot.cgroup = cg
            slot.spec = built.spec
        }
        slot.stopSignal = built.stopSignal

        let (logFile, events) = try logPaths(slot)
        if let monitor {
            PhaseTiming.mark("spec \(slot.plan.name)")
            return try prepareMonitored(built.spec, cgroup: cg, slot: slot, monitor: monitor, logFile: logFile, eventsFile: events)
        }
        guard let pump else { throw TaskRuntimeError(.internal, "no log pump for container \(slot.plan.name)") }
        var outp: [Int32] = [-1, -1], errp: [Int32] = [-1, -1]
        guard pipe(&outp) == 0 else { throw SystemError("pipe") }
        guard pipe(&errp) == 0 else { close(outp[0]); close(outp[1]); throw SystemError("pipe") }
        for fd in outp + errp { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(outp[1]); close(errp[1]) }
        do {
            try pump.add(fd: outp[0], container: slot.plan.name, stream: .stdout, logFile: logFile, eventsFile: events)
        } catch {
            close(outp[0]); close(errp[0])
            throw error
        }
        try pump.add(fd: errp[0], container: slot.plan.name, stream: .stderr, logFile: logFile, eventsFile: events)
        PhaseTiming.mark("spec \(slot.plan.name)")
        return try ContainerLauncher.prepare(built.spec, cgroup: cg, stdout: outp[1], stderr: errp[1])
    }

    /// The container's log file, and its awslogs stream file if it has one (its directory made).
    func logPaths(_ slot: Slot) throws -> (String, String?) {
        let logFile = config.root.logDirectory(taskId) + "/" + slot.plan.name + ".log"
        guard let stream = slot.plan.awslogs else { return (logFile, nil) }
        let dir = config.root.awslogsDirectory(group: stream.group, streamPrefix: stream.streamPrefix) + "/" + slot.plan.name
        try FileSystem.makeDirectories(dir, mode: 0o750)
        return (logFile, dir + "/" + taskId)
    }

    public func start(_ container: String) throws {
        guard let slot = slots[container] else { throw TaskRuntimeError(.notFound, "no container \(container)") }
        let prepared: PreparedContainer
        var hostname: String?
        if let early = slot.prepared {
            slot.prepared = nil
            prepared = try early.get()
            // Made ready before the task's hostname was known, it is told it now; one made
            // with its hostname final must have the attachment's (start refuses another, and
            // the container fails to start rather than run misnamed).
            if !prepared.hostnameIsFinal || slot.spec?.hostname != attachment?.hostname { hostname = attachment?.hostname }
        } else {
            prepared = try prepare(slot)
        }
        let process = try prepared.start(hostname: hostname)
        lock.withLock {
            slot.process = process
            if let hostname, var spec = slot.spec {
                spec.hostname = hostname
                spec.environment = spec.environment.map { $0.hasPrefix("HOSTNAME=") ? "HOSTNAME=" + hostname : $0 }
                slot.spec = spec
            }
        }
        PhaseTiming.mark("exec \(container)")
        let handler = exitHandler
        Task {
            let status = await process.wait()
            handler(container, status)
        }
    }

    public func stop(_ container: String) {
        guard let slot = slots[container] else { return }
        slot.process?.signal(slot.stopSignal)
    }

    public func kill(_ container: String) {
        slots[container]?.process?.signal(SIGKILL)
    }

    public func killRemaining(_ container: String) {
        slots[container]?.cgroup?.killAll()
    }

    public func resetForRestart(_ container: String) {
        guard let slot = slots[container] else { return }
        slot.restarts += 1
        do {
            try slot.cgroup?.remove()
        } catch {
            warningHandler("container \(container): its old cgroup was not removed: \(error)")
        }
        lock.withLock {
            slot.cgroup = nil
            slot.process = nil
        }
    }

    public func oomKilled(_ container: String) -> Bool {
        (slots[container]?.cgroup?.stats().oomKills ?? 0) > 0
    }

    public func healthCheck(_ container: String, _ policy: HealthPolicy) async -> HealthProbe.Result {
        guard let slot = slots[container] else { return HealthProbe.Result(passed: false, exitCode: nil, output: "no container \(container)") }
        let (spec, process, cgroup) = lock.withLock { (slot.spec, slot.process, slot.cgroup) }
        guard var spec, let process else { return HealthProbe.Result(passed: false, exitCode: nil, output: "container not running") }
        spec.arguments = policy.arguments
        spec.executable = nil
        return await HealthProbe.run(spec, in: process, cgroup: cgroup, timeout: policy.timeout)
    }

    public func execProfiles() -> [String: ExecProfile] {
        lock.withLock { Dictionary(uniqueKeysWithValues: slots.compactMap { name, s in s.spec.map { (name, ExecProfile($0)) } }) }
    }

    public func pids() -> [String: Int32] {
        lock.withLock { Dictionary(uniqueKeysWithValues: slots.compactMap { name, s in s.process.map { (name, $0.pid) } }) }
    }

    public func abandonPrepared() async {
        for slot in slots.values {
            guard case .success(let p)? = slot.prepared else { continue }
            slot.prepared = nil
            p.abandon()
            _ = await p.process.wait()
        }
    }

    public func killEverything() async -> [String: TerminationStatus] {
        await abandonPrepared()
        var out: [String: TerminationStatus] = [:]
        for (name, slot) in slots {
            guard let process = slot.process, process.status == nil else { continue }
            process.signal(SIGKILL)
            out[name] = await process.wait()
        }
        return out
    }
}
