#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import LinuxSupport
import Logging
import Metering
import Sandbox
import Synchronization
import TaskNetwork

/// Settings of one fargate-run invocation that are not part of the task definition.
public struct RunConfiguration: Sendable {
    public var root: StateRoot
    /// A cgroup (path from the hierarchy root, or relative to ours) to create task cgroups in.
    public var cgroupParent: String?
    public var prices: PriceTable
    public var region: String
    public var account: String
    public var cluster: String
    /// Where relative image paths (oci:DIR) are resolved.
    public var workingDirectory: String
    /// Task-level pids limit (fork bombs stop here).
    public var pidsLimit: Int64
    /// Subnet, bridge, published-port address, DNS, security groups.
    public var network: NetworkOptions
    /// For images named by registry; nil refuses them.
    public var registry: RegistryClient?
    public var pullPolicy: ImageStore.PullPolicy
    /// Publish portMappings on the host address; off for the extra copies of `--count`, which
    /// would collide on it (each is still reachable at its own IP).
    public var publishPorts = true

    public init(root: StateRoot, cgroupParent: String? = nil, prices: PriceTable = .usEast1, region: String? = nil,
                account: String = "000000000000", cluster: String = "fargate-run",
                workingDirectory: String = FileManager.default.currentDirectoryPath, pidsLimit: Int64 = 4096,
                network: NetworkOptions = NetworkOptions(), registry: RegistryClient? = nil,
                pullPolicy: ImageStore.PullPolicy = .always) {
        self.root = root
        self.cgroupParent = cgroupParent
        self.prices = prices
        self.region = region ?? prices.region
        self.account = account
        self.cluster = cluster
        self.workingDirectory = workingDirectory
        self.pidsLimit = pidsLimit
        self.network = network
        self.registry = registry
        self.pullPolicy = pullPolicy
    }
}

/// How a task ended, for the CLI.
public struct TaskResult: Sendable {
    /// The final task description, shaped like `aws ecs describe-tasks` output.
    public var task: ECS.Task
    /// 0 when every essential container exited 0; else the first non-zero exit code of an
    /// essential container, in the order they stopped; 125 when fargate-run itself failed.
    public var exitCode: Int32
    /// Set when fargate-run itself failed (not the containers): a one-line message.
    public var failure: String?
}

/// What a running task reports besides container output.
public protocol TaskObserver: Sendable {
    func imageProgress(_ event: ImageProgress)
    func statusChanged(_ task: ECS.Task)
    func warning(_ message: String)
    /// A container's health changed (HEALTHY or UNHEALTHY), with the last check's output.
    func healthChanged(container: String, status: String, detail: String)
    /// A container exited and its restartPolicy started it again (`count` restarts so far).
    func containerRestarted(container: String, exitCode: Int32, count: Int)
}

/// Runs one task through the ECS lifecycle:
/// PROVISIONING (cgroup, network namespace, the network attached) → PENDING (images) →
/// ACTIVATING (containers, in dependency order) → RUNNING → DEACTIVATING → STOPPING (reverse
/// dependency order, stop signal then SIGKILL after stopTimeout) → DEPROVISIONING (everything
/// removed) → STOPPED, billed.
public actor TaskRunner {
    enum Event: Sendable {
        case exited(String, TerminationStatus)
        case stopRequested(code: String, reason: String)
        case forceKill
        case killTimeout(String)
        case startTimeout(String)
        case healthChecked(String, HealthProbe.Result, Date)
    }

    final class ContainerState {
        let plan: TaskPlan.Container
        var lastStatus = "PENDING"
        var image: PreparedImage?
        var process: ContainerProcess?
        var cgroup: Cgroup?
        var exitCode: Int32?
        var reason: String?
        var runtimeId: String
        var stopSignal: Int32 = SIGTERM
        var signalled = false
        var directory: String
        /// The spec it was started with: health checks run with the same user, limits and filters.
        var spec: ContainerSpec?
        var startedAt: Date?
        var health = HealthPolicy.State()
        var healthChecker: Task<Void, Never>?
        var restartCount = 0
        /// Cloned into its cgroup while the network attached, waiting to run (or why that failed).
        var prepared: Result<PreparedContainer, any Error>?

        init(plan: TaskPlan.Container, runtimeId: String, directory: String) {
            self.plan = plan
            self.runtimeId = runtimeId
            self.directory = directory
        }
    }

    public let plan: TaskPlan
    public let config: RunConfiguration
    public nonisolated let taskId: String
    public nonisolated let taskArn: String
    let observer: any TaskObserver
    let sink: any LogSink
    let logger: Logger
    let events: AsyncStream<Event>
    let eventInput: AsyncStream<Event>.Continuation

    var task: ECS.Task
    var containers: [ContainerState] = []
    var taskCgroup: Cgroup?
    var network: NetworkNamespace?
    /// The task's IP, published ports and security groups, once attached.
    var attachment: TaskNetworkAttachment?
    /// The network being attached, on a thread of its own, while images are resolved and the
    /// first containers are made ready.
    var attaching: Task<Result<TaskNetworkAttachment, any Error>, Never>?
    /// /etc/hosts, /etc/resolv.conf and /etc/hostname of every container.
    var nameFiles: [ContainerSpec.Mount] = []
    /// What the name files last had written: /etc/hosts and /etc/hostname.
    var nameFileContents: ([UInt8], [UInt8]) = ([], [])
    /// The task's address once its network leased it, while the attach goes on (on the
    /// attach's thread, hence the lock).
    nonisolated let leasedAddress = Mutex<String?>(nil)
    /// Opening the ledger and committing the open-task marker (an fdatasync) runs beside the
    /// pull and the container starts; it must only finish before the bill is written. nil in
    /// the task when its network never attached: it did not leave PROVISIONING and is not
    /// billed (its images were resolved meanwhile, but on ECS the pull comes after).
    var ledgerOpening: Task<Ledger?, any Error>?
    var stopping = false
    var stopCode: String?
    /// Essential containers in the order they stopped.
    var essentialExits: [Int32] = []
    var failure: String?
    var pump: LogPump?
    /// The pause process holding the task's shared pid namespace (pidMode "task").
    var pause: ContainerProcess?
    var pauseCgroup: Cgroup?
    /// fargate-init in a sealed memfd, made once when a container or the pause process needs it.
    var initExecutable: SealedExecutable?
    /// The state file's writer; nothing is submitted once the last state is written.
    let stateWriter: StateFileWriter
    var stateFinal = false

    public init(plan: TaskPlan, config: RunConfiguration, sink: any LogSink, observer: any TaskObserver, logger: Logger? = nil) {
        self.plan = plan
        self.config = config
        self.sink = sink
        self.observer = observer
        var id = ""
        for _ in 0..<16 { id += String(format: "%02x", UInt8.random(in: 0...255)) }
        taskId = id
        stateWriter = StateFileWriter(path: config.root.taskDirectory(id) + "/state.json")
        taskArn = "arn:aws:ecs:\(config.region):\(config.account):task/\(config.cluster)/\(id)"
        var l = logger ?? Logger(label: "fargate-run.task")
        l[metadataKey: "task"] = .string(String(id.prefix(12)))
        self.logger = l
        (events, eventInput) = AsyncStream.makeStream(of: Event.self)
        task = ECS.Task()
    }

    /// Asks the task to stop (SIGINT/SIGTERM to fargate-run, or StopTask). The stop signal
    /// goes to every container, SIGKILL after its stopTimeout.
    public nonisolated func requestStop(code: String = "UserInitiated", reason: String = "Task stopped by user") {
        eventInput.yield(.stopRequested(code: code, reason: reason))
    }

    /// SIGKILLs every container now (a second ^C).
    public nonisolated func forceStop() {
        eventInput.yield(.forceKill)
    }

    /// Runs the task to its end. Never throws: a failure is a stopped task with a reason.
    public func run() async -> TaskResult {
        let now = Date()
        task = ECS.Task(availabilityZone: "\(config.region)-local", capacityProviderName: "FARGATE",
                        clusterArn: "arn:aws:ecs:\(config.region):\(config.account):cluster/\(config.cluster)",
                        connectivity: ECS.Connectivity(rawValue: "CONNECTED"), connectivityAt: ECS.Timestamp(now), containers: [],
                        cpu: String(plan.size.cpu), createdAt: ECS.Timestamp(now), desiredStatus: "RUNNING",
                        group: "family:\(plan.family)", healthStatus: ECS.HealthStatus(rawValue: "UNKNOWN"),
                        lastStatus: "PROVISIONING", launchType: ECS.LaunchType(rawValue: "FARGATE"),
                        memory: String(plan.size.memory), platformVersion: "1.4.0", platformFamily: "Linux",
                        startedBy: "fargate-run", taskArn: taskArn, taskDefinitionArn: plan.taskDefinitionArn, version: 1,
                        ephemeralStorage: ECS.EphemeralStorage(sizeInGiB: plan.ephemeralStorageGiB))
        let dir = config.root.taskDirectory(taskId)
        for c in plan.containers {
            // ECS runtime ids are "<task id>-<10 digits>"; ours are stable per container name.
            var h: UInt32 = 2_166_136_261
            for b in c.name.utf8 { h = (h ^ UInt32(b)) &* 16_777_619 }
            let rid = "\(taskId)-\(String(format: "%010u", h))"
            containers.append(ContainerState(plan: c, runtimeId: rid, directory: dir + "/containers/" + c.name))
        }

        do {
            // The task's directory first: the state file written next lives in it. The state
            // names the cgroup and namespace provision() makes before they exist, so that
            // `gc` finds them should this process die in between (it skips what is not there).
            try FileSystem.makeDirectories(config.root.logDirectory(taskId), mode: 0o700)
            let host = try CgroupHost.probe(parent: config.cgroupParent)
            taskCgroup = Cgroup(existing: host, relativePath: "fargate-run-\(taskId)")
            network = NetworkNamespace(name: "fr-" + String(taskId.prefix(16)))
            publishNow()
            // An empty marker, made in place: nothing to write, so no temporary file for
            // another fargate-run's startup sweep of this directory to find.
            let marker = config.root.activeDirectory + "/" + taskId
            close(try syscallRetrying("create", path: marker) { open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600) })
            pump = try LogPump(sink: sink)
            mark("start")
            try provision(host: host)
            mark("provisioned")
            try await pullImages()
            try seedVolumes()
            mark("images ready")
            try await finishProvisioning()
            setStatus("ACTIVATING")
            startReadyContainers()
            await abandonPrepared()
            mark("containers started")
            try await supervise()
            mark("containers exited")
        } catch {
            if failure == nil { failure = "\(error)" }
            if stopCode == nil {
                stopCode = "TaskFailedToStart"
                task.stopCode = ECS.TaskStopCode(rawValue: "TaskFailedToStart")
                task.stoppedReason = task.stoppedReason ?? "Task failed to start"
            }
            logger.error("task failed", metadata: ["error": "\(error)"])
            await killEverything()
        }
        await deprovision()
        return TaskResult(task: task, exitCode: exitCode(), failure: failure)
    }

    // MARK: Phases

    /// Makes the task's network namespace and cgroup (both already named in the state file)
    /// and, on awsvpc, starts attaching the network: first, as the longest step of a start.
    func provision(host: CgroupHost) throws {
        // fargate-run's own network is IPv4, and so are its security groups; a user's conflist
        // decides for itself.
        let ownNetwork = config.network.mode == .awsvpc && config.network.conflistPath == nil
        let ns = try NetworkNamespace.create(name: "fr-" + String(taskId.prefix(16)), withoutIPv6: ownNetwork)
        network = ns
        mark("netns")
        let ports = config.publishPorts ? try publishedPorts() : []
        if config.network.mode == .awsvpc {
            // The interface and the host policy take milliseconds of mostly waiting (netlink,
            // RCU grace periods): they are made while the cgroups are, images are resolved and
            // the first containers are cloned into their cgroups (finishProvisioning).
            let holder = PortRegistry.Holder(root: config.root.path, taskId: taskId, family: plan.family, owner: .current)
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
            throw NetworkError.config("portMappings need the awsvpc network: with --network none a task has loopback only")
        }
        let cpuQuota = Int64(plan.size.cpu) * 100_000 / 1024
        taskCgroup = try Cgroup.create(host: host, relativePath: "fargate-run-\(taskId)",
                                       limits: ResourceLimits(cpuQuota: cpuQuota, memoryMax: Int64(plan.size.memory) << 20,
                                                              noSwap: true, pidsMax: config.pidsLimit,
                                                              devices: DeviceRule.containerDefault),
                                       delegateControllers: true)
        mark("task cgroup")
        try makeVolumes()
    }

    /// Waits for the network, making the containers that start at once ready to run
    /// meanwhile (cloned, in their cgroups, root mounted: `ContainerLauncher.prepare`); they
    /// run only once it is attached, as on ECS. Then the name files and the pause process.
    func finishProvisioning() async throws {
        try writeNameFiles()
        if let attaching {
            if !plan.sharedPidNamespace {
                for c in containers where c.image != nil {
                    guard case .ready = dependencyState(c) else { continue }
                    c.prepared = Result { try prepareLaunch(c) }
                    mark("prepared \(c.plan.name)")
                }
            }
            let result = await attaching.value
            self.attaching = nil
            attachment = try result.get()
            if task.lastStatus == "PROVISIONING" { task.lastStatus = "PENDING" }
            // Recorded at once for `gc`, but not waited for: what is made next (the containers'
            // processes) gc finds through the task's cgroups, already recorded.
            publish()
            try writeNameFiles()
        }
        if plan.sharedPidNamespace { try startPause() }
    }

    /// Containers made ready that did not start (the task failed or is stopping) are killed
    /// unrun, and waited for.
    func abandonPrepared() async {
        for c in containers {
            guard case .success(let p)? = c.prepared else { continue }
            c.prepared = nil
            p.abandon()
            _ = await p.process.wait()
        }
    }

    /// The host directory backing a task volume.
    func volumeDirectory(_ name: String) -> String? {
        switch plan.volumes[name] {
        case .task?: return config.root.taskDirectory(taskId) + "/volumes/" + name
        case .fileSystem(let kind, let id, let root)?: return config.root.fileSystemDirectory(kind, id: id) + (root == "/" ? "" : root)
        case nil: return nil
        }
    }

    func makeVolumes() throws {
        for name in plan.volumes.keys.sorted() {
            guard let dir = volumeDirectory(name) else { continue }
            try FileSystem.makeDirectories(dir, mode: 0o755)
        }
    }

    /// A new task volume mounted where a container's image declares VOLUME gets the image's
    /// content there, as on Fargate: the first such container (in definition order) fills it.
    func seedVolumes() throws {
        var seeded = Set<String>()
        for c in containers {
            guard let image = c.image else { continue }
            let declared = Set((image.config.config?.Volumes ?? [:]).keys.map(TaskPlan.normalized))
            for m in c.plan.volumeMounts where plan.volumes[m.volume] == .task && declared.contains(m.containerPath) && !seeded.contains(m.volume) {
                guard let dir = volumeDirectory(m.volume) else { continue }
                seeded.insert(m.volume)
                try VolumeSeeder.seed(from: image.layers, path: m.containerPath, into: dir)
            }
        }
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
                    throw NetworkError.config("container \(c.name): containerPortRange \"\(pm.containerPortRange ?? "")\" publishes \(ports.count) ports; at most 1000 can be published here")
                }
                for p in ports {
                    out.append(PublishedPort(hostIP: config.network.publishAddress, hostPort: pm.hostPort ?? p, containerPort: p, proto: proto))
                }
            }
        }
        return out
    }

    /// The task's IP and hostname as far as they are known: from the attachment, else from
    /// the address its network leased while the attach goes on (the hostname is made from
    /// the address alone).
    func knownAddress() -> (ip: String, hostname: String)? {
        if let attachment { return (attachment.ip, attachment.hostname) }
        guard let ip = leasedAddress.withLock({ $0 }) else { return nil }
        return (ip, TaskNetworking.hostname(ip: ip, domain: config.network.dnsDomain ?? TaskNetworking.domain(region: config.region)))
    }

    /// /etc/hosts, /etc/resolv.conf and /etc/hostname of the task's containers. Containers
    /// made ready while the network attaches bind-mount them before the task's IP is known:
    /// the second call, once it is, rewrites hosts and hostname in place (the same inodes),
    /// before any of those containers runs.
    func writeNameFiles() throws {
        let dir = config.root.taskDirectory(taskId) + "/etc"
        let known = knownAddress()
        let hostname = known?.hostname ?? String(taskId.prefix(12))
        let hosts = Array(NameFiles.hosts(ip: known?.ip, hostname: hostname).utf8), name = Array((hostname + "\n").utf8)
        guard nameFiles.isEmpty else {
            guard (hosts, name) != nameFileContents else { return }
            try FileSystem.rewrite(dir + "/hosts", hosts)
            try FileSystem.rewrite(dir + "/hostname", name)
            nameFileContents = (hosts, name)
            return
        }
        nameFileContents = (hosts, name)
        try FileSystem.makeDirectories(dir, mode: 0o755)
        let (resolv, warning) = NameFiles.resolvConf(servers: config.network.dnsServers)
        if let warning { observer.warning(warning) }
        // A new directory that nothing reads until the containers mount these: no atomic writes.
        try FileSystem.createFile(dir + "/hosts", hosts)
        try FileSystem.createFile(dir + "/resolv.conf", Array(resolv.utf8))
        try FileSystem.createFile(dir + "/hostname", name)
        let ro = UInt(MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        nameFiles = ["hosts", "resolv.conf", "hostname"].map {
            ContainerSpec.Mount(source: dir + "/" + $0, target: "/etc/" + $0, fstype: nil, flags: ro, kind: .file)
        }
    }

    func sealedInit() throws -> SealedExecutable {
        if let initExecutable { return initExecutable }
        let e = try SealedExecutable.fargateInit()
        initExecutable = e
        return e
    }

    /// pidMode "task": a pause process is pid 1 of a pid namespace every container joins. It
    /// has an empty read-only root, no capabilities and the default seccomp filter, so a
    /// container that can see it (as pid 1) gains nothing through /proc/1.
    func startPause() throws {
        guard let taskCgroup, let network else { return }
        let root = config.root.taskDirectory(taskId) + "/pause-root"
        try FileSystem.makeDirectories(root, mode: 0o555)
        var spec = ContainerSpec(rootfs: .directory(root), arguments: ["fargate-init", "--pause"], environment: [],
                                 workingDirectory: "/", hostname: String(taskId.prefix(12)), networkNamespace: network.path,
                                 readonlyRootfs: true, capabilities: [], rlimits: [],
                                 seccompProgram: try SeccompProfile.program(for: [], cacheDirectory: config.root.cacheDirectory))
        spec.executable = try sealedInit()
        let cg = try taskCgroup.child("pause", limits: ResourceLimits())
        pauseCgroup = cg
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devnull) }
        pause = try ContainerLauncher.start(spec, cgroup: cg, stdout: devnull, stderr: devnull)
    }

    /// Pulls (or imports) every distinct image of the task at once, as Fargate does.
    func pullImages() async throws {
        let store = try ImageStore(root: config.root.path)
        var images: [String] = []
        for c in containers where !images.contains(c.plan.image) { images.append(c.plan.image) }
        let observer = self.observer, platform = plan.platform, cwd = config.workingDirectory
        let registry = config.registry, pull = config.pullPolicy
        // Images found here are resolved while the network attaches (as the container
        // processes are made ready), and the task reports PENDING once PROVISIONING is over.
        // A registry is asked only once the network is attached, as on ECS: a task whose
        // network fails pulls nothing.
        if let attaching, images.contains(where: { store.needsRegistry($0, platform: platform, cwd: cwd, pull: pull) }) {
            if case .failure(let error) = await attaching.value { throw error }
            setStatus("PENDING")
        } else if attaching == nil {
            setStatus("PENDING")
        }
        let start = Date()
        task.pullStartedAt = ECS.Timestamp(start)
        let marker = OpenTask(taskArn: taskArn, family: plan.family, billingStartMicros: Billing.micros(start), pid: getpid())
        let path = config.root.ledgerPath
        let provisioning = attaching
        ledgerOpening = Task.detached {
            if let provisioning, case .failure = await provisioning.value { return nil }
            let ledger = try Ledger(path: path)
            try ledger.open(marker)
            return ledger
        }
        publish()
        let results = await withTaskGroup(of: (String, Result<PreparedImage, ImageError>).self) { group in
            for image in images {
                group.addTask {
                    do throws(ImageError) {
                        let p = try await store.prepare(image, platform: platform, cwd: cwd, registry: registry, pull: pull) { observer.imageProgress($0) }
                        return (image, .success(p))
                    } catch {
                        return (image, .failure(error))
                    }
                }
            }
            var out: [String: Result<PreparedImage, ImageError>] = [:]
            for await (image, r) in group { out[image] = r }
            return out
        }
        task.pullStoppedAt = ECS.Timestamp(Date())
        var firstError: ImageError?
        for c in containers {
            switch results[c.plan.image] {
            case .success(let p)?:
                c.image = p
            case .failure(let e)?:
                c.reason = String("CannotPullContainerError: \(e)".prefix(1024))
                c.lastStatus = "STOPPED"
                if firstError == nil {
                    firstError = e
                    task.stoppedReason = c.reason
                }
            case nil:
                break
            }
        }
        publish()
        if let firstError { throw firstError }
    }

    /// Starts every pending container whose dependencies are met; gives up on those whose
    /// dependencies can no longer be met.
    func startReadyContainers() {
        var progress = true
        while progress && !stopping {
            progress = false
            for c in containers where c.lastStatus == "PENDING" {
                switch dependencyState(c) {
                case .wait: continue
                case .never(let why):
                    c.lastStatus = "STOPPED"
                    c.reason = "DependencyFailed: \(why)"
                    progress = true
                    if c.plan.essential {
                        beginStop(code: "TaskFailedToStart", reason: "Essential container \(c.plan.name) did not start: \(why)")
                        return
                    }
                case .ready:
                    progress = true
                    start(c)
                    if stopping { return }
                }
            }
        }
        if !stopping, task.startedAt == nil,
           containers.allSatisfy({ !$0.plan.essential || $0.lastStatus != "PENDING" }),
           containers.contains(where: { $0.lastStatus == "RUNNING" }) {
            task.startedAt = ECS.Timestamp(Date())
            setStatus("RUNNING")
        }
    }

    /// A container's startTimeout bounds how long the containers depending on it wait for it
    /// to reach COMPLETE, SUCCESS or HEALTHY, counted from its start (as the ECS agent does).
    func scheduleStartTimeout(_ d: ContainerState) {
        guard let t = d.plan.startTimeout,
              containers.contains(where: { $0.plan.dependsOn.contains { $0.container == d.plan.name && $0.condition != "START" } }) else { return }
        let input = eventInput, name = d.plan.name
        Task {
            try? await Task.sleep(for: .seconds(t))
            input.yield(.startTimeout(name))
        }
    }

    /// `d`'s startTimeout has passed: whoever still waits on it for more than START gives up.
    func startTimedOut(_ d: ContainerState) {
        guard !stopping else { return }
        for c in containers where c.lastStatus == "PENDING" {
            guard let dep = c.plan.dependsOn.first(where: { $0.container == d.plan.name && $0.condition != "START" }) else { continue }
            let met: Bool
            switch dep.condition {
            case "HEALTHY": met = d.health.status == "HEALTHY"
            case "SUCCESS": met = d.lastStatus == "STOPPED" && d.exitCode == 0
            default: met = d.lastStatus == "STOPPED"
            }
            if met { continue }
            c.lastStatus = "STOPPED"
            c.reason = "ContainerRuntimeTimeoutError: \(d.plan.name) did not reach \(dep.condition) within its startTimeout of \(d.plan.startTimeout ?? 0) s"
            if c.plan.essential {
                beginStop(code: "TaskFailedToStart", reason: c.reason!)
                break
            }
        }
        publish()
    }

    enum DependencyState { case ready, wait, never(String) }

    func dependencyState(_ c: ContainerState) -> DependencyState {
        for (name, condition) in c.plan.dependsOn {
            guard let d = containers.first(where: { $0.plan.name == name }) else { return .never("\(name) does not exist") }
            let stoppedWithoutRunning = d.lastStatus == "STOPPED" && d.exitCode == nil
            switch condition {
            case "START":
                if stoppedWithoutRunning { return .never("dependency \(name) never started") }
                if d.lastStatus == "PENDING" { return .wait }
            case "COMPLETE":
                if stoppedWithoutRunning { return .never("dependency \(name) never started") }
                if d.lastStatus != "STOPPED" { return .wait }
            case "SUCCESS":
                if stoppedWithoutRunning { return .never("dependency \(name) never started") }
                if d.lastStatus != "STOPPED" { return .wait }
                if d.exitCode != 0 { return .never("dependency \(name) exited with \(d.exitCode ?? -1), SUCCESS needs 0") }
            case "HEALTHY":
                if d.lastStatus == "STOPPED" { return .never("dependency \(name) stopped before it was healthy") }
                if d.health.status != "HEALTHY" { return .wait }
            default:
                return .never("condition \(condition) on \(name) is not supported")
            }
        }
        return .ready
    }

    func start(_ c: ContainerState) {
        do {
            try launch(c)
            c.lastStatus = "RUNNING"
            c.startedAt = Date()
            startHealthChecks(c)
            scheduleStartTimeout(c)
            publish()
            let input = eventInput
            let name = c.plan.name
            if let p = c.process {
                Task {
                    let status = await p.wait()
                    input.yield(.exited(name, status))
                }
            }
        } catch {
            c.lastStatus = "STOPPED"
            var code: Int32 = 125
            if case SandboxError.spawn(let stage, _, let errno) = error, stage == "exec" { code = errno == ENOENT ? 127 : 126 }
            c.exitCode = code
            c.reason = String("CannotStartContainerError: \(error)".prefix(1024))
            logger.error("container failed to start", metadata: ["container": "\(c.plan.name)", "error": "\(error)"])
            if c.plan.essential {
                if failure == nil && code == 125 { failure = "container \(c.plan.name): \(error)" }
                essentialExits.append(code)
                beginStop(code: "TaskFailedToStart", reason: c.reason!)
            }
            publish()
        }
    }

    func launch(_ c: ContainerState) throws {
        let prepared: PreparedContainer
        var hostname: String?
        if let early = c.prepared {
            c.prepared = nil
            prepared = try early.get()
            // Cloned before the task's IP, and so its hostname, was known, it is told the name
            // now; one cloned with the name final must have the attachment's (start refuses
            // another, and the container fails to start rather than run misnamed).
            if !prepared.hostnameIsFinal || c.spec?.hostname != attachment?.hostname { hostname = attachment?.hostname }
        } else {
            prepared = try prepareLaunch(c)
        }
        c.process = try prepared.start(hostname: hostname)
        if let hostname, var spec = c.spec {
            spec.hostname = hostname
            spec.environment = spec.environment.map { $0.hasPrefix("HOSTNAME=") ? "HOSTNAME=" + hostname : $0 }
            c.spec = spec
        }
        mark("exec \(c.plan.name)")
    }

    /// Everything of a container's start up to its first instruction: its spec, cgroup, log
    /// pipes, and its process cloned and waiting.
    func prepareLaunch(_ c: ContainerState) throws -> PreparedContainer {
        guard let image = c.image, let taskCgroup, let network, let pump else { throw SandboxError.invalidSpec("task not provisioned") }
        let def = c.plan.definition
        let runtime = image.config.config
        let upper = c.directory + "/upper", work = c.directory + "/work", rootfs = c.directory + "/rootfs"
        for d in [upper, work, rootfs] { try FileSystem.makeDirectories(d, mode: 0o755) }
        // A restart mounts the same writable layer again. Its last (volatile) mount was made by
        // this process, so the crash the kernel's mark guards against cannot have come between:
        // the mark goes, as the kernel's documentation says to do in that case.
        if c.restartCount > 0 { try? FileSystem.removeTree(work + "/work/incompat") }
        let user = try ImageUser.resolve(def.user ?? runtime?.User, layers: image.layers)
        let known = knownAddress()
        let hostname = known?.hostname ?? String(taskId.prefix(12))
        let args = ProcessResolution.arguments(definition: def, image: runtime)
        guard !args.isEmpty else {
            throw SandboxError.invalidSpec("no command: the task definition has no entryPoint or command and the image no Entrypoint or Cmd")
        }
        let env = ProcessResolution.environment(definition: def, image: runtime, files: c.plan.fileEnvironment,
                                                secrets: c.plan.secretEnvironment, extra: [("HOSTNAME", hostname)])
        let caps = try ContainerSecurity.capabilities(def.linuxParameters)
        let (rlimits, warnings) = HostCapabilities.achievable(try ContainerSecurity.rlimits(def.ulimits))
        for w in warnings { observer.warning("container \(c.plan.name): \(w)") }
        let initEnabled = def.linuxParameters?.initProcessEnabled ?? false
        let mountPoints = try MountPointLayer.ensure(in: config.root.cacheDirectory, withEtc: MountPointLayer.etcFits(layers: image.layers))
        var spec = ContainerSpec(
            rootfs: .overlay(lower: [mountPoints] + image.layers.reversed(), upper: upper, work: work, target: rootfs),
            arguments: initEnabled ? ["fargate-init", "--"] + args : args, environment: env,
            workingDirectory: def.workingDirectory ?? (runtime?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"),
            user: user, hostname: hostname, networkNamespace: network.path,
            mounts: try containerMounts(c, defaults: DefaultProfile.mounts(cgroups: taskCgroup.host)), devices: DefaultProfile.devices,
            symlinks: DefaultProfile.symlinks, maskedPaths: DefaultProfile.maskedPaths,
            readonlyPaths: DefaultProfile.readonlyPaths(cgroups: taskCgroup.host),
            readonlyRootfs: def.readonlyRootFilesystem ?? false, capabilities: caps, rlimits: rlimits,
            seccompProgram: try SeccompProfile.program(for: caps, cacheDirectory: config.root.cacheDirectory))
        spec.sysctls = (def.systemControls ?? []).compactMap { sc in
            guard let n = sc.namespace, let v = sc.value else { return nil }
            return ContainerSpec.Sysctl(name: n, value: v)
        }
        // Only a task whose address is still to come may learn its hostname at the start.
        spec.hostnameIsFinal = known != nil || config.network.mode != .awsvpc
        if initEnabled { spec.executable = try sealedInit() }
        if let pause { spec.pidNamespace = "/proc/\(pause.pid)/ns/pid" }
        var limits = ResourceLimits(noSwap: true)
        if let cpu = def.cpu, cpu > 0 { limits.cpuShares = Int64(max(cpu, 2)) }
        if let m = def.memory { limits.memoryMax = Int64(m) << 20 }
        if let r = def.memoryReservation { limits.memoryLow = Int64(r) << 20 }
        let cg = try taskCgroup.child(c.plan.name, limits: limits)
        c.cgroup = cg
        c.stopSignal = ProcessResolution.stopSignal(runtime)

        var outp: [Int32] = [-1, -1], errp: [Int32] = [-1, -1]
        guard pipe(&outp) == 0 else { throw SystemError("pipe") }
        guard pipe(&errp) == 0 else { close(outp[0]); close(outp[1]); throw SystemError("pipe") }
        for fd in outp + errp { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        defer { close(outp[1]); close(errp[1]) }
        let logFile = config.root.logDirectory(taskId) + "/" + c.plan.name + ".log"
        var events: String?
        if let stream = c.plan.awslogs {
            let dir = config.root.awslogsDirectory(group: stream.group, streamPrefix: stream.streamPrefix) + "/" + c.plan.name
            do { try FileSystem.makeDirectories(dir, mode: 0o750) } catch {
                close(outp[0]); close(errp[0])
                throw error
            }
            events = dir + "/" + taskId
        }
        do {
            try pump.add(fd: outp[0], container: c.plan.name, stream: .stdout, logFile: logFile, eventsFile: events)
        } catch {
            close(outp[0]); close(errp[0])
            throw error
        }
        try pump.add(fd: errp[0], container: c.plan.name, stream: .stderr, logFile: logFile, eventsFile: events)
        logger.debug("starting container", metadata: ["container": "\(c.plan.name)", "argv": "\(args)"])
        mark("spec \(c.plan.name)")
        c.spec = spec
        return try ContainerLauncher.prepare(spec, cgroup: cg, stdout: outp[1], stderr: errp[1])
    }

    /// The default mounts (with /dev/shm sized by sharedMemorySize), the name files, then the
    /// container's volumes and tmpfs mounts, parents before children.
    func containerMounts(_ c: ContainerState, defaults: [ContainerSpec.Mount]) throws -> [ContainerSpec.Mount] {
        let lp = c.plan.definition.linuxParameters
        var mounts = defaults
        if let shm = lp?.sharedMemorySize, let i = mounts.firstIndex(where: { $0.target == "/dev/shm" }) {
            mounts[i].data = "mode=1777,size=\(shm)m"
        }
        mounts += nameFiles
        let hardened = UInt(MS_NOSUID | MS_NODEV)
        var own: [ContainerSpec.Mount] = []
        for m in c.plan.volumeMounts {
            guard let dir = volumeDirectory(m.volume) else { continue }
            own.append(ContainerSpec.Mount(source: dir, target: m.containerPath, fstype: nil,
                                           flags: UInt(MS_BIND) | hardened | (m.readOnly ? UInt(MS_RDONLY) : 0)))
        }
        for t in lp?.tmpfs ?? [] {
            guard let path = t.containerPath, let size = t.size else { continue }
            let (flags, data, ignored) = TmpfsOptions.parse(t.mountOptions ?? [])
            for o in ignored { observer.warning("container \(c.plan.name): tmpfs \(path): \"\(o)\" is not applied (tmpfs mounts are always nosuid and nodev here)") }
            own.append(ContainerSpec.Mount(source: "tmpfs", target: TaskPlan.normalized(path), fstype: "tmpfs", flags: flags,
                                           data: (["size=\(size)m"] + data).joined(separator: ",")))
        }
        let depth = { (m: ContainerSpec.Mount) in m.target.split(separator: "/").count }
        return mounts + own.enumerated().sorted { (depth($0.element), $0.offset) < (depth($1.element), $1.offset) }.map(\.element)
    }

    // MARK: Health checks

    /// Runs the container's healthCheck every `interval` seconds (the first after one interval,
    /// as Docker does) until it stops, feeding the results to the event loop.
    func startHealthChecks(_ c: ContainerState) {
        guard let policy = HealthPolicy(c.plan.definition.healthCheck), var spec = c.spec, let process = c.process else { return }
        spec.arguments = policy.arguments
        spec.executable = nil
        let cgroup = c.cgroup, input = eventInput, name = c.plan.name
        c.healthChecker = Task.detached {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(policy.interval))
                if Task.isCancelled { return }
                let result = await HealthProbe.run(spec, in: process, cgroup: cgroup, timeout: policy.timeout)
                input.yield(.healthChecked(name, result, Date()))
            }
        }
    }

    func healthChecked(_ c: ContainerState, _ result: HealthProbe.Result, at: Date) {
        guard let policy = HealthPolicy(c.plan.definition.healthCheck) else { return }
        let before = c.health.status
        c.health = policy.next(c.health, passed: result.passed, secondsSinceStart: at.timeIntervalSince(c.startedAt ?? at))
        logger.debug("health check", metadata: ["container": "\(c.plan.name)", "passed": "\(result.passed)",
                                                "exitCode": "\(result.exitCode.map(String.init) ?? "-")", "status": "\(c.health.status)"])
        guard c.health.status != before else { return }
        let detail = result.passed ? "" : (result.exitCode.map { "exit \($0)" } ?? "") + (result.output.isEmpty ? "" : ": " + result.output.trimmingCharacters(in: .whitespacesAndNewlines).suffix(300))
        observer.healthChanged(container: c.plan.name, status: c.health.status, detail: detail)
        publish()
        startReadyContainers()
    }

    /// The event loop: container exits, stop requests, timers, until every container has stopped.
    func supervise() async throws {
        if allStopped() { return }
        for await event in events {
            switch event {
            case .exited(let name, let status):
                guard let c = containers.first(where: { $0.plan.name == name }) else { continue }
                containerExited(c, status)
            case .stopRequested(let code, let reason):
                beginStop(code: code, reason: reason)
            case .forceKill:
                for c in containers where c.lastStatus == "RUNNING" { c.process?.signal(SIGKILL) }
            case .killTimeout(let name):
                if let c = containers.first(where: { $0.plan.name == name }), c.lastStatus == "RUNNING" {
                    logger.info("stop timeout reached, killing", metadata: ["container": "\(name)"])
                    c.process?.signal(SIGKILL)
                }
            case .startTimeout(let name):
                if let d = containers.first(where: { $0.plan.name == name }) { startTimedOut(d) }
            case .healthChecked(let name, let result, let at):
                if let c = containers.first(where: { $0.plan.name == name }), c.lastStatus == "RUNNING" {
                    healthChecked(c, result, at: at)
                }
            }
            if allStopped() { return }
        }
    }

    func allStopped() -> Bool {
        containers.allSatisfy { $0.lastStatus == "STOPPED" || ($0.lastStatus == "PENDING" && stopping) }
    }

    func containerExited(_ c: ContainerState, _ status: TerminationStatus) {
        c.lastStatus = "STOPPED"
        c.healthChecker?.cancel()
        c.exitCode = status.code
        // In a shared pid namespace the container's other processes outlive its main one;
        // a stopped container has none left.
        if pause != nil { c.cgroup?.killAll() }
        if let cg = c.cgroup, cg.stats().oomKills > 0, !status.exited {
            c.reason = "OutOfMemoryError: Container killed due to memory usage"
        }
        logger.info("container exited", metadata: ["container": "\(c.plan.name)", "exitCode": "\(status.code)"])
        if let rule = RestartRule(c.plan.definition.restartPolicy) {
            let (again, why) = rule.decide(exitCode: status.code, startedAt: c.startedAt ?? Date(), now: Date(), taskStopping: stopping)
            if again {
                restart(c, after: status)
                return
            }
            logger.info("container not restarted", metadata: ["container": "\(c.plan.name)", "why": "\(why)"])
        }
        if c.plan.essential {
            essentialExits.append(status.code)
            if task.executionStoppedAt == nil { task.executionStoppedAt = ECS.Timestamp(Date()) }
            if !stopping { beginStop(code: "EssentialContainerExited", reason: "Essential container in task exited") }
        }
        publish()
        if stopping {
            signalNextWave()
        } else {
            startReadyContainers()
        }
    }

    /// Starts an exited container again in place, as the ECS agent does for a restartPolicy:
    /// the same writable layer and volumes, a fresh cgroup (so its OOM counter means this run),
    /// health UNKNOWN again. Dependents already started are left alone.
    func restart(_ c: ContainerState, after status: TerminationStatus) {
        c.restartCount += 1
        logger.info("restarting container", metadata: ["container": "\(c.plan.name)", "exitCode": "\(status.code)", "restarts": "\(c.restartCount)"])
        observer.containerRestarted(container: c.plan.name, exitCode: status.code, count: c.restartCount)
        do {
            try c.cgroup?.remove()
        } catch {
            logger.warning("old container cgroup not removed", metadata: ["container": "\(c.plan.name)", "error": "\(error)"])
        }
        c.cgroup = nil
        c.process = nil
        c.reason = nil
        c.health = HealthPolicy.State()
        start(c)
    }

    func beginStop(code: String, reason: String) {
        guard !stopping else { return }
        stopping = true
        stopCode = code
        task.desiredStatus = "STOPPED"
        task.stopCode = ECS.TaskStopCode(rawValue: code)
        task.stoppedReason = task.stoppedReason ?? reason
        task.stoppingAt = ECS.Timestamp(Date())
        for c in containers where c.lastStatus == "PENDING" { c.lastStatus = "STOPPED" }
        for c in containers { c.healthChecker?.cancel() }
        setStatus("DEACTIVATING")
        setStatus("STOPPING")
        signalNextWave()
    }

    /// Stops containers in reverse dependency order: a container gets its stop signal once no
    /// running container depends on it.
    func signalNextWave() {
        let running = containers.filter { $0.lastStatus == "RUNNING" }
        for c in running where !c.signalled {
            let neededBy = running.contains { other in other !== c && other.plan.dependsOn.contains { $0.container == c.plan.name } }
            if neededBy { continue }
            c.signalled = true
            logger.debug("stopping container", metadata: ["container": "\(c.plan.name)", "signal": "\(c.stopSignal)"])
            c.process?.signal(c.stopSignal)
            let input = eventInput
            let name = c.plan.name
            let timeout = c.plan.stopTimeout
            Task {
                try? await Task.sleep(for: .seconds(timeout))
                input.yield(.killTimeout(name))
            }
        }
    }

    func killEverything() async {
        await abandonPrepared()
        for c in containers where c.process != nil && c.lastStatus == "RUNNING" {
            c.process?.signal(SIGKILL)
            if let status = await c.process?.wait() {
                c.exitCode = status.code
                c.lastStatus = "STOPPED"
            }
        }
    }

    /// Removes everything the task made; runs whatever happened before. Errors are reported
    /// as warnings: the rest of the teardown still runs.
    func deprovision() async {
        if task.desiredStatus != "STOPPED" {
            task.desiredStatus = "STOPPED"
        }
        setStatus("DEPROVISIONING")
        if let pause {
            pause.signal(SIGKILL)
            _ = await pause.wait()
        }
        if let pump {
            await pump.close()
        }
        mark("logs drained")
        if let attaching {
            // The task failed before its network was attached: it is torn down all the same.
            if case .success(let a) = await attaching.value { attachment = a }
            self.attaching = nil
            publishNow()
        }
        // The network's teardown (netlink, the nft leave, CNI DEL for a user's conflist) runs
        // on its own thread: cgroups and directories go meanwhile.
        var detaching: Task<[String], Never>?
        if let attachment {
            mark("network detach start")
            let options = config.network, namespace = network
            detaching = startOnOwnThread { TaskNetworking(options: options).detach(attachment, namespace: namespace) }
        }
        var cpuUsage: Int64?
        var memoryPeak: Int64?
        if let cg = taskCgroup {
            let s = cg.stats()
            cpuUsage = Int64(s.cpuUsageNanos)
            memoryPeak = s.memoryPeak.map { Int64($0) }
            do { try cg.remove() } catch { observer.warning("removing cgroup \(cg.paths[0]): \(error)") }
        }
        mark("cgroups removed")
        // Directories go on a thread of their own, meanwhile the network and the ledger's
        // durable write (an fsync) finish; only now, with the cgroups gone, is no process of
        // the task left to use them.
        let directories = containers.map(\.directory), taskDirectory = config.root.taskDirectory(taskId)
        let removing = startOnOwnThread { () -> [String] in
            var problems: [String] = []
            for d in directories {
                do { try FileSystem.removeTree(d) } catch { problems.append("removing \(d): \(error)") }
            }
            try? FileSystem.removeTree(taskDirectory + "/containers")
            // Task volumes end with the task, as bind mounts do on Fargate (EFS ones stay).
            do { try FileSystem.removeTree(taskDirectory + "/volumes") } catch { problems.append("removing task volumes: \(error)") }
            return problems
        }
        if let detaching {
            for problem in await detaching.value { observer.warning("network teardown: \(problem)") }
            mark("network detached")
        }
        if let network, attachment == nil {
            do { try network.remove() } catch { observer.warning("removing network namespace \(network.path): \(error)") }
        }
        mark("netns removed")
        let end = Date()
        task.stoppedAt = ECS.Timestamp(end)
        if task.executionStoppedAt == nil { task.executionStoppedAt = ECS.Timestamp(end) }
        if let ledgerOpening, let start = task.pullStartedAt?.date {
            do {
                try await ledgerOpening.value?.close(billingInfo.record(taskArn: taskArn, start: start, end: end, prices: config.prices,
                                                                        stopCode: stopCode, cpuUsageNanos: cpuUsage,
                                                                        memoryPeakBytes: memoryPeak))
            } catch {
                observer.warning("\(error)")
                if failure == nil { failure = "\(error)" }
            }
        }
        for problem in await removing.value { observer.warning(problem) }
        mark("directories removed")
        // STOPPED once nothing of the task is left but its logs and state.
        task.lastStatus = "STOPPED"
        publishNow()
        stateFinal = true
        stateWriter.finish()
        unlink(config.root.activeDirectory + "/" + taskId)
        mark("billed")
    }

    func exitCode() -> Int32 {
        if failure != nil { return 125 }
        if let nonzero = essentialExits.first(where: { $0 != 0 }) { return nonzero }
        // An essential container that never ran (a dependency failed or timed out) did not
        // exit 0 either.
        if containers.contains(where: { $0.plan.essential && $0.process == nil && $0.exitCode == nil }) { return 1 }
        return 0
    }

    // MARK: Description

    func setStatus(_ s: String) {
        task.lastStatus = s
        publish()
    }

    /// Updates the task description, tells the observer, and has the state file rewritten on
    /// the writer's thread: the runner goes on meanwhile, and several status changes in a row
    /// make one write.
    func publish() {
        describe()
        observer.statusChanged(task)
        guard !stateFinal else { return }
        stateWriter.submit(stateSnapshot())
    }

    /// What the state file says now.
    func stateSnapshot() -> TaskState {
        TaskState(task: task, pids: Dictionary(uniqueKeysWithValues: containers.compactMap { c in c.process.map { (c.plan.name, $0.pid) } }),
                  networkNamespace: network?.path, cgroupDirectories: taskCgroup?.directories ?? [], ownerPid: getpid(),
                  owner: TaskRunner.owner, network: attachment, billing: billingInfo,
                  containerDirectories: containers.map(\.directory),
                  layers: Array(Set(containers.flatMap { $0.image?.layers ?? [] })).sorted())
    }

    /// As `publish`, with the state file written before it returns: what must be on disk
    /// before a resource is made (so `fargate-run gc` finds it should this process die), and
    /// the task's last state.
    func publishNow() {
        publish()
        stateWriter.flush()
    }

    /// The ECS description of the task from what is known now.
    func describe() {
        if let a = attachment {
            let eni = "eni-" + String(taskId.prefix(17))
            task.attachments = [ECS.Attachment(id: String(taskId.prefix(8)) + "-" + String(taskId.dropFirst(8).prefix(4)) + "-eni",
                                               type: "ElasticNetworkInterface", status: "ATTACHED", details: [
                ECS.KeyValuePair(name: "subnetId", value: "subnet-\(a.networkName)"),
                ECS.KeyValuePair(name: "networkInterfaceId", value: eni),
                ECS.KeyValuePair(name: "macAddress", value: a.mac),
                ECS.KeyValuePair(name: "privateDnsName", value: a.hostname),
                ECS.KeyValuePair(name: "privateIPv4Address", value: a.ip),
            ])]
        }
        task.healthStatus = ECS.HealthStatus(rawValue: HealthPolicy.taskStatus(containers.map {
            (essential: $0.plan.essential, checked: HealthPolicy($0.plan.definition.healthCheck) != nil, status: $0.health.status)
        }))
        task.containers = containers.map { c in
            ECS.Container(containerArn: "arn:aws:ecs:\(config.region):\(config.account):container/\(config.cluster)/\(taskId)/\(c.runtimeId)",
                          taskArn: taskArn, name: c.plan.name, image: c.plan.image,
                          imageDigest: c.image?.manifestDigest.description, runtimeId: c.runtimeId, lastStatus: c.lastStatus,
                          exitCode: c.exitCode.map(Int.init), reason: c.reason,
                          healthStatus: ECS.HealthStatus(rawValue: c.health.status),
                          cpu: String(c.plan.definition.cpu ?? 0), memory: c.plan.definition.memory.map(String.init),
                          memoryReservation: c.plan.definition.memoryReservation.map(String.init))
        }
        if let a = attachment {
            for i in task.containers!.indices {
                let c = containers[i]
                task.containers![i].networkInterfaces = [ECS.NetworkInterface(attachmentId: task.attachments?.first?.id, privateIpv4Address: a.ip)]
                let own = (c.plan.definition.portMappings ?? []).compactMap(\.containerPorts)
                let bindings = a.ports.filter { p in own.contains { $0.contains(p.containerPort) } }.map {
                    ECS.NetworkBinding(bindIP: $0.hostIP, containerPort: $0.containerPort, hostPort: $0.hostPort,
                                       protocol: ECS.TransportProtocol(rawValue: $0.proto))
                }
                if !bindings.isEmpty { task.containers![i].networkBindings = bindings }
            }
        }
    }

    nonisolated func mark(_ what: String) { PhaseTiming.mark(what) }

    nonisolated static let owner = ProcessIdentity.current

    var billingInfo: TaskState.BillingInfo {
        TaskState.BillingInfo(family: plan.family, revision: plan.revision, cpu: plan.size.cpu, memory: plan.size.memory,
                              ephemeralStorageGiB: plan.ephemeralStorageGiB, architecture: plan.cpuArchitecture)
    }

}

/// The task's state file (`<root>/tasks/<id>/state.json`): the ECS description plus what is
/// needed to inspect or clean up the task from another process.
public struct TaskState: Codable, Sendable {
    public var task: ECS.Task
    /// Host pids of the containers' init processes.
    public var pids: [String: Int32]
    public var networkNamespace: String?
    /// The task cgroup's directories (one per v1 hierarchy, one on v2).
    public var cgroupDirectories: [String]
    public var ownerPid: Int32
    /// The fargate-run process running the task (pid and start time: pids are recycled).
    public var owner: ProcessIdentity?

    /// Whether the fargate-run running the task is still there (a state from before owners
    /// were recorded has only the pid).
    public var ownerIsAlive: Bool { owner?.isAlive ?? (kill(ownerPid, 0) == 0) }
    /// Not finished, and someone is still running it.
    public var isRunning: Bool { task.lastStatus != "STOPPED" && ownerIsAlive }
    public var network: TaskNetworkAttachment?
    /// What `gc` needs to bill a task whose fargate-run died.
    public var billing: BillingInfo?
    public var containerDirectories: [String]?
    /// Snapshot directories the containers run on (`images prune` leaves them alone).
    public var layers: [String]?

    /// The task's size and prices key, as billed.
    public struct BillingInfo: Codable, Sendable {
        public var family: String
        public var revision: Int
        public var cpu: Int
        public var memory: Int
        public var ephemeralStorageGiB: Int
        public var architecture: String

        /// The ledger record of a task billed from `start` (the pull) to `end`, at `prices`.
        public func record(taskArn: String, start: Date, end: Date, prices: PriceTable, stopCode: String?,
                           cpuUsageNanos: Int64? = nil, memoryPeakBytes: Int64? = nil) throws -> BillingRecord {
            let platform = architecture == "ARM64" ? "linux/arm64" : "linux/x86_64"
            let rates = try prices.rates(for: platform)
            let startUs = Billing.micros(start), endUs = Billing.micros(end)
            let seconds = Billing.billedSeconds(startMicros: startUs, endMicros: endUs)
            let cost = Billing.cost(seconds: seconds, cpuUnits: Int64(cpu), memoryMiB: Int64(memory),
                                    ephemeralStorageGiB: Int64(ephemeralStorageGiB), rates: rates,
                                    storageGBHour: prices.ephemeralStorageGBHour)
            return BillingRecord(taskArn: taskArn, family: family, revision: revision, cpu: Int64(cpu), memory: Int64(memory),
                                 ephemeralStorageGiB: Int64(ephemeralStorageGiB), architecture: architecture,
                                 pricePlatform: platform, region: prices.region, billingStartMicros: startUs,
                                 billingEndMicros: endUs, billedSeconds: seconds, costNanos: cost.nanos,
                                 vcpuHourNanos: rates.vcpuHour.nanos, gbHourNanos: rates.gbHour.nanos, stopCode: stopCode,
                                 cpuUsageNanos: cpuUsageNanos, memoryPeakBytes: memoryPeakBytes)
        }
    }

    static var encoder: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return e
    }
}
