#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import LinuxSupport
import Sandbox
import Synchronization
import TaskNetwork

/// The real `TaskBackend`: the task's network namespace, network, cgroups, volumes and name
/// files, and its containers as sandboxed processes with their output in the log pump.
///
/// Its mutable state is touched by the runner's calls, one at a time; what runs beside them
/// (the network attach's thread, exit watchers, health checks) reads only what a lock guards.
public final class SandboxTaskBackend: TaskBackend, @unchecked Sendable {
    /// One container's machine side.
    final class Slot {
        let plan: TaskPlan.Container
        let directory: String
        var image: PreparedImage?
        var process: ContainerProcess?
        var cgroup: Cgroup?
        /// The spec it was started with: health checks run with the same user, limits and filters.
        var spec: ContainerSpec?
        var stopSignal: Int32 = SIGTERM
        /// Made ready while the network attached, waiting to run (or why that failed).
        var prepared: Result<PreparedContainer, any Error>?
        var restarts = 0

        init(plan: TaskPlan.Container, directory: String) {
            self.plan = plan
            self.directory = directory
        }
    }

    let plan: TaskPlan
    let config: RunConfiguration
    let taskId: String
    /// The id of the task's AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, when it has one.
    let credentialsId: String?
    let sink: any LogSink
    let taskDirectory: String
    let slots: [String: Slot]
    /// Guards what exit watchers and health checks read: processes, cgroups, specs.
    let lock = NSLock()

    var cgroupHost: CgroupHost?
    var taskCgroup: Cgroup?
    public var cgroup: Cgroup? { taskCgroup }
    var namespace: NetworkNamespace?
    /// The network being attached, on a thread of its own, while images are resolved and the
    /// first containers are made ready.
    var attaching: Task<Result<TaskNetworkAttachment, any Error>, Never>?
    var attachment: TaskNetworkAttachment?
    /// The task's address once its network leased it, while the attach goes on.
    let leasedAddress = Mutex<String?>(nil)
    /// The metadata endpoint's listener being made on a thread of its own (the BPF verifier's
    /// 0.15-0.2 ms), beside the rest of the start; joined before any container starts.
    var endpointJob: ThreadJob<Result<TaskEndpointSockets, SystemError>>?
    /// The listener once made (this process's copies; a hosted task's monitor keeps others).
    var endpoint: TaskEndpointSockets?
    var nameFiles: TaskNameFiles
    var pump: LogPump?
    /// The pause process holding the task's shared pid namespace (pidMode "task").
    var pause: ContainerProcess?
    /// fargate-init in a sealed memfd, made once when a container or the pause process needs it.
    var initExecutable: SealedExecutable?
    var images: [String: PreparedImage] = [:]
    /// A hosted task's monitor, which clones its containers and writes their output.
    var monitor: TaskMonitor?
    /// Container processes whose output the monitor has written to the end, by pid.
    let drained = Mutex<Set<pid_t>>([])
    /// Set once the task is released: the monitor leaving then is expected.
    let finished = Mutex(false)
    /// A resumed task recorded no network: its host may have died while attaching it, so its
    /// release looks for what such an attach leaves (host policy, lease, ports).
    var networkUnrecorded = false
    var exitHandler: @Sendable (String, TerminationStatus) -> Void = { _, _ in }
    var warningHandler: @Sendable (String) -> Void = { _ in }
    var lossHandler: @Sendable (String) -> Void = { _ in }

    public init(plan: TaskPlan, config: RunConfiguration, taskId: String, credentialsId: String? = nil, sink: any LogSink) {
        self.plan = plan
        self.config = config
        self.taskId = taskId
        self.credentialsId = credentialsId
        self.sink = sink
        taskDirectory = config.root.taskDirectory(taskId)
        nameFiles = TaskNameFiles(directory: taskDirectory + "/etc",
                                  recordsFile: ServiceNameRecords.recordsFile(root: config.root, cluster: config.cluster))
        var slots: [String: Slot] = [:]
        for c in plan.containers { slots[c.name] = Slot(plan: c, directory: taskDirectory + "/containers/" + c.name) }
        self.slots = slots
    }

    public func connect(exit: @escaping @Sendable (String, TerminationStatus) -> Void, warning: @escaping @Sendable (String) -> Void,
                        lost: @escaping @Sendable (String) -> Void) {
        exitHandler = exit
        warningHandler = warning
        lossHandler = lost
    }

    public var resources: TaskResources {
        TaskResources(networkNamespace: namespace?.path, cgroupDirectories: taskCgroup?.directories ?? [], network: lock.withLock { attachment },
                      containerDirectories: plan.containers.compactMap { slots[$0.name]?.directory })
    }

    var networkNamespaceName: String { SandboxTaskBackend.networkNamespaceName(taskId) }

    /// A task's network namespace (in /run/netns) and cgroup (in each hierarchy) are named
    /// after it, so that `gc` finds them by the task's id alone.
    static func networkNamespaceName(_ taskId: String) -> String { "fr-" + String(taskId.prefix(16)) }
    static func cgroupName(_ taskId: String) -> String { "fargate-run-" + taskId }

    public func nameResources() throws {
        // The cgroup and namespace are named before they exist, so that `gc` finds them should
        // this process die.
        let host = try CgroupHost.probe(parent: config.cgroupParent)
        cgroupHost = host
        taskCgroup = Cgroup(existing: host, relativePath: SandboxTaskBackend.cgroupName(taskId))
        namespace = NetworkNamespace(name: networkNamespaceName)
    }

    /// The network namespace (while the monitor starts), then the network's attach on its own
    /// thread (the longest step of a start), then the task cgroup and volume directories.
    public func provision() throws {
        guard let host = cgroupHost else { throw TaskRuntimeError(.internal, "provision before nameResources") }
        // fargate-run's own network is IPv4, and so are its security groups; a user's conflist
        // decides for itself.
        let ownNetwork = config.network.mode == .awsvpc && config.network.conflistPath == nil
        // 169.254.170.2 on the namespace's loopback and, unless allowed, the rest of
        // 169.254.0.0/16 unreachable, from its first moment: no request to them is ever
        // routed out of it, not even while the task starts or stops.
        let (name, linkLocal) = (networkNamespaceName, LinkLocalSetup(allowed: config.endpoint.allowLinkLocal))
        // Neither needs the other, and each is mostly the kernel's work: made on two cores.
        let making = ThreadJob {
            Result<NetworkNamespace, any Error> { try NetworkNamespace.create(name: name, withoutIPv6: ownNetwork, linkLocal: linkLocal) }
        }
        do {
            if let executable = config.monitorExecutable {
                try startMonitor(executable)
            } else {
                pump = try LogPump(sink: sink)
            }
        } catch {
            // Made or not, the namespace is named: the release finds it once nothing makes it.
            _ = making.wait()
            throw error
        }
        let ns = try making.wait().get()
        namespace = ns
        PhaseTiming.mark("netns")
        if config.endpoints != nil {
            let path = ns.path
            endpointJob = ThreadJob {
                defer { PhaseTiming.mark("endpoint listener made") }
                return Result { () throws(SystemError) in try TaskEndpointSockets.make(inExisting: path) }
            }
        }
        let ports = config.publishPorts ? try publishedPorts() : []
        if config.network.mode == .awsvpc {
            // The interface and the host policy take milliseconds of mostly waiting (netlink,
            // RCU grace periods): they are made while the cgroups are, images are resolved and
            // the first containers are made ready.
            // The reservation lives as long as whoever keeps the task: its monitor, when hosted.
            let holder = PortRegistry.Holder(root: config.root.path, taskId: taskId, family: plan.family,
                                             owner: monitor?.identity ?? .current)
            let networking = TaskNetworking(options: config.network)
            let (id, path, region) = (taskId, ns.path, config.region)
            attaching = startOnOwnThread { [self] in
                defer { PhaseTiming.mark("network attached") }
                return Result {
                    try networking.attach(taskId: id, netns: path, ports: ports, holder: holder, region: region) { ip in
                        self.leasedAddress.withLock { $0 = ip }
                    }
                }
            }
        } else if !ports.isEmpty {
            throw TaskRuntimeError(.unsupported, "portMappings need the awsvpc network: with --network none a task has loopback only")
        }
        let cpuQuota = Int64(plan.size.cpu) * 100_000 / 1024
        taskCgroup = try Cgroup.create(host: host, relativePath: SandboxTaskBackend.cgroupName(taskId),
                                       limits: ResourceLimits(cpuQuota: cpuQuota, memoryMax: Int64(plan.size.memory) << 20,
                                                              noSwap: true, pidsMax: config.pidsLimit,
                                                              devices: DeviceRule.containerDefault),
                                       delegateControllers: true)
        PhaseTiming.mark("task cgroup")
        for dir in volumeDirectories.values.sorted() { try FileSystem.makeDirectories(dir, mode: 0o755) }
    }

    public func network() async -> Result<TaskNetworkAttachment?, any Error> {
        guard let attaching else { return .success(attachment) }
        let result = await attaching.value
        if case .success(let a) = result { lock.withLock { attachment = a } }
        return result.map { $0 }
    }

    /// Every portMappings entry, published on the configured host address.
    func publishedPorts() throws -> [PublishedPort] {
        var out: [PublishedPort] = []
        for c in plan.containers {
            for pm in c.definition.portMappings ?? [] {
                let proto = pm.protocol?.rawValue ?? "tcp"
                // Validation made sure the range is well formed; a thousand DNAT rules per
                // mapping is where publishing on one host stops being reasonable.
                guard let ports = pm.containerPorts else { continue }
                guard ports.count <= 1000 else {
                    throw TaskRuntimeError(.unsupported, "container \(c.name): containerPortRange \"\(pm.containerPortRange ?? "")\" publishes \(ports.count) ports; at most 1000 can be published here")
                }
                for p in ports {
                    out.append(PublishedPort(hostIP: config.network.publishAddress, hostPort: pm.hostPort ?? p, containerPort: p, proto: proto))
                }
            }
        }
        return out
    }

    /// The host directory backing each task volume.
    var volumeDirectories: [String: String] {
        var out: [String: String] = [:]
        for (name, source) in plan.volumes {
            switch source {
            case .task: out[name] = taskDirectory + "/volumes/" + name
            case .fileSystem(let kind, let id, let root): out[name] = config.root.fileSystemDirectory(kind, id: id) + (root == "/" ? "" : root)
            }
        }
        return out
    }

    // MARK: Images

    public func needsRegistry(_ images: [String]) -> Bool {
        guard let store = try? ImageStore(root: config.root.path) else { return true }
        return images.contains { store.needsRegistry($0, platform: plan.platform, cwd: config.workingDirectory, pull: config.pullPolicy) }
    }

    public func prepareImages(_ images: [String], progress: @escaping @Sendable (ImageProgress) -> Void) async throws
        -> [String: Result<PreparedImage, ImageError>] {
        let store = try ImageStore(root: config.root.path)
        let platform = plan.platform, cwd = config.workingDirectory, registry = config.registry, pull = config.pullPolicy
        let results = await withTaskGroup(of: (String, Result<PreparedImage, ImageError>).self) { group in
            for image in images {
                group.addTask {
                    do throws(ImageError) {
                        // Bound first: Swift 6.3.1's optimizer loses the child's result when the
                        // `try await` is written inside the returned tuple (`-c release`: the
                        // group gave nothing back, so every container failed to start).
                        let prepared = try await store.prepare(image, platform: platform, cwd: cwd, registry: registry, pull: pull, progress: progress)
                        return (image, .success(prepared))
                    } catch {
                        return (image, .failure(error))
                    }
                }
            }
            var out: [String: Result<PreparedImage, ImageError>] = [:]
            for await (image, r) in group { out[image] = r }
            return out
        }
        for (ref, r) in results { if case .success(let p) = r { self.images[ref] = p } }
        for slot in slots.values { slot.image = self.images[slot.plan.image] }
        return results
    }

    /// A new task volume mounted where a container's image declares VOLUME gets the image's
    /// content there, as on Fargate: the first such container (in definition order) fills it.
    public func seedVolumes() throws {
        var seeded = Set<String>()
        let dirs = volumeDirectories
        for c in plan.containers {
            guard let image = slots[c.name]?.image else { continue }
            let declared = Set((image.config.config?.Volumes ?? [:]).keys.map(TaskPlan.normalized))
            for m in c.volumeMounts where plan.volumes[m.volume] == .task && declared.contains(m.containerPath) && !seeded.contains(m.volume) {
                guard let dir = dirs[m.volume] else { continue }
                seeded.insert(m.volume)
                try VolumeSeeder.seed(from: image.layers, path: m.containerPath, into: dir)
            }
        }
    }

    // MARK: Provisioning's end

    /// The task's IP and hostname as far as they are known: from the attachment, else from
    /// the address its network leased while the attach goes on (the hostname is made from
    /// the address alone).
    public func knownAddress() -> (ip: String, hostname: String)? {
        if let a = lock.withLock({ attachment }) { return (a.ip, a.hostname) }
        guard let ip = leasedAddress.withLock({ $0 }) else { return nil }
        return (ip, TaskNetworking.hostname(ip: ip, domain: config.network.dnsDomain ?? TaskNetworking.domain(region: config.region)))
    }

    func writeNameFiles() throws {
        let known = knownAddress()
        if let warning = try nameFiles.write(ip: known?.ip, hostname: known?.hostname ?? String(taskId.prefix(12)),
                                             dnsServers: config.network.dnsServers) {
            warningHandler(warning)
        }
    }

    public func prepareAhead(_ containers: [String]) {
        do { try writeNameFiles() } catch {
            for name in containers { slots[name]?.prepared = .failure(error) }
            return
        }
        guard attaching != nil, !plan.sharedPidNamespace else { return }
        for name in containers {
            guard let slot = slots[name], slot.image != nil else { continue }
            slot.prepared = Result { try prepare(slot) }
            PhaseTiming.mark("prepared \(name)")
        }
    }

    public func finishProvisioning() throws {
        try writeNameFiles()
        takeEndpoint()
        if plan.sharedPidNamespace, let taskCgroup, let namespace {
            let (process, _) = try PauseProcess.start(taskDirectory: taskDirectory, hostname: String(taskId.prefix(12)),
                                                      networkNamespace: namespace.path, cacheDirectory: config.root.cacheDirectory,
                                                      taskCgroup: taskCgroup, executable: try sealedInit(),
                                                      monitor: monitor.map { ($0, SandboxTaskBackend.pauseSlot) })
            pause = process
        }
    }

    func sealedInit() throws -> SealedExecutable {
        if let initExecutable { return initExecutable }
        let e = try SealedExecutable.fargateInit()
        initExecutable = e
        return e
    }

    // MARK: The end

    public func quiesce() async {
        takeEndpoint()
        if let pause {
            pause.signal(SIGKILL)
            _ = await pause.wait()
        }
        if let pump { await pump.close() }
        if monitor != nil { await monitorDrained() }
        PhaseTiming.mark("logs drained")
        // A task that failed before its network was attached is torn down all the same.
        if attaching != nil { _ = await network() }
        attaching = nil
    }

    public func release(beforeReleasing: () async -> Void,
                        meanwhile: (TaskResources.Released) async -> Void) async -> TaskResources.Released {
        // No connection to the endpoint is accepted any more (the service has let go of its
        // copies); ours go before the namespace, which they would keep alive.
        endpoint?.close()
        endpoint = nil
        let released = await resources.release(taskId: taskId, stateRoot: config.root.path, taskDirectory: taskDirectory,
                                                cgroup: taskCgroup, options: config.network,
                                                unrecorded: networkUnrecorded && lock.withLock({ attachment }) == nil,
                                                beforeReleasing: beforeReleasing, meanwhile: meanwhile)
        // Nothing of the task is left for its monitor to keep.
        finished.withLock { $0 = true }
        monitor?.finish()
        return released
    }
}
