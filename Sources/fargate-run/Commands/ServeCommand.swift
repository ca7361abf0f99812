#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import ECSAPI
import Services
import Foundation
import HTTPServing
import LinuxSupport
import Logging
import Metering
import NIOPosix
import Sandbox
import TaskHost
import TaskNetwork
import TaskRuntime

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the host that owns this state root's tasks, so they outlive the terminal, and serve the ECS API.",
        discussion: """
            It serves fargate-run's own API on <root>/host.sock (root only: run -d, stop, wait, \
            exec) and the Amazon ECS API on --listen (default 127.0.0.1:8557): \
            aws --endpoint-url http://127.0.0.1:8557 ecs list-clusters. One host per state root. \
            SIGTERM or SIGINT stops the host, not its tasks: each task's containers are kept by \
            its own monitor process, and the next host takes them over. Under systemd, run it \
            with KillMode=process (rootfs-tools/systemd/fargate-run.service).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: ArgumentHelp("Serve the ECS API on this TCP address (HOST:PORT; port 0 picks a free one, written to <root>/api-address), or none.",
                                            valueName: "address"))
    var listen = Serve.defaultListen

    @Option(name: .long, help: ArgumentHelp("Check SigV4 signatures against the key pairs of this file (the ~/.aws/credentials format; an optional account = 12 digits per key). Without it any signature is accepted.",
                                            valueName: "file"))
    var credentials: String?

    @Option(name: .long, help: "The region in ARNs (default: the price file's, us-east-1).")
    var region: String?

    @Option(name: .long, help: "The account in ARNs of requests whose key names none.")
    var account = "000000000000"

    @Option(name: .long, help: ArgumentHelp("Secrets for tasks started through the API (the format of run --secrets).", valueName: "file"))
    var secrets: String?

    @Option(name: .long, help: "How long stopped tasks stay in DescribeTasks and ListTasks, in seconds.")
    var stoppedTaskRetention: Int = 3600

    @Option(name: .long, help: ArgumentHelp("Remove stopped tasks of the root (foreground runs' too) this many seconds after they stopped: their state and logs, as prune does (their bills stay). Default: kept until rm or prune.", valueName: "seconds"))
    var removeStoppedAfter: Int?

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Where a service target group listens: ARN=ADDRESS:PORT (repeatable). One not given listens on 127.0.0.1 and its container port.", valueName: "arn=address:port"))
    var targetGroup: [String] = []

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("The DNS name of a Cloud Map service a service registers in: ARN=NAME (repeatable). Default: SERVICE.CLUSTER.local.", valueName: "arn=name"))
    var serviceRegistry: [String] = []

    @Option(name: .long, help: "Seconds after RUNNING a service task without a container health check counts as healthy (ECS: 40).")
    var taskHealthyAfter: Double = 40

    @Option(name: .long, help: "Seconds a service task drains out of its target group before it is stopped.")
    var deregistrationDelay: Double = 10

    @Option(name: .long, help: "Seconds of one Application Auto Scaling datapoint (CloudWatch's period: 60). Target tracking scales out after 3 datapoints above the target and in after 15 below 90 % of it; the tasks' cgroups are read every second (or every period, if shorter).")
    var autoscalingPeriod: Double = 60

    @Flag(name: .long, help: "Answer POST /moto-api/reset by deleting every cluster, definition, tag and service and stopping every task (for running moto's tests).")
    var testMode = false

    @Flag(name: .long, help: "Allow --listen on an address other than loopback without --credentials.")
    var insecureListen = false

    @Option(name: .long, help: "Create task cgroups under this cgroup instead of the one fargate-run runs in.")
    var cgroupParent: String?

    @Option(name: .long, help: "A price file (JSON, see Docs/METERING.md) instead of the built-in us-east-1 prices.")
    var prices: String?

    @Option(name: .long, help: "Most processes and threads a task may have.")
    var pidsLimit: Int64 = 4096

    @OptionGroup var network: NetworkFlags

    @OptionGroup var metadata: EndpointFlags

    @OptionGroup var registry: RegistryFlags

    /// The flags that are wrong in themselves, refused with serve's usage before anything starts.
    func validate() throws {
        // Sooner would take tasks DescribeTasks and the services' scheduler still show.
        if let removeStoppedAfter, removeStoppedAfter < stoppedTaskRetention {
            throw ValidationError("--remove-stopped-after \(removeStoppedAfter) is shorter than --stopped-task-retention \(stoppedTaskRetention): stopped tasks must stay at least as long as DescribeTasks shows them")
        }
        guard autoscalingPeriod > 0 else { throw ValidationError("--autoscaling-period must be more than 0 seconds (it is \(autoscalingPeriod))") }
        let endpoint = listen == "none" ? nil : try Serve.tcpEndpoint(listen, flag: "--listen")
        if case .tcp(let address, _) = endpoint, !Serve.isLoopback(address), credentials == nil, !insecureListen {
            throw ValidationError("--listen \(listen) is not a loopback address: anyone who reaches it could run tasks as root. Give --credentials FILE, or --insecure-listen if you mean it")
        }
        _ = try Serve.targetGroups(targetGroup)
        _ = try Serve.pairs(serviceRegistry, flag: "--service-registry")
    }

    func run() async throws {
        global.bootstrapLogging(default: .info)
        var logger = Logger(label: "fargate-run.host")
        let root = try global.stateRoot()
        logger[metadataKey: "root"] = .string(root.path)
        let lock: HostLock
        do { lock = try HostLock(root: root) } catch {
            writeOut(2, "fargate-run: \(error)\n")
            throw ExitCode(1)
        }
        let endpoint = listen == "none" ? nil : try Serve.tcpEndpoint(listen, flag: "--listen")
        let keys: [String: ECSAPI.AccessKey]?
        do { keys = try credentials.map { try CredentialsFile.load($0, defaultAccount: account) } } catch {
            writeOut(2, "fargate-run: serve: \(error)\n")
            throw ExitCode(1)
        }
        // cgroup v2: tasks' cgroups get controllers only beneath a cgroup without processes.
        var parent = cgroupParent
        if parent == nil, let own = try CgroupHost.moveIntoLeaf() {
            parent = own
            logger.info("moved into a leaf of its cgroup so its tasks can have controllers", metadata: ["cgroup": "\(own)/\(CgroupHost.hostLeaf)"])
        }
        let priceTable = try prices.map(PriceTable.load) ?? .usEast1
        var networkOptions = try network.settings.options()
        // The host keeps its network in the firewall table between its tasks (a table made
        // and deleted for each costs the kernel's hooks about 2 ms a task), and gives it back
        // as it stops; networks kept by a host that was killed are given back now.
        networkOptions.policyKeeper = .current
        let policy = TaskNetworking(options: networkOptions).policy
        do { try policy.release(keeper: nil) } catch { logger.warning("cannot release networks a host that is gone kept", metadata: ["error": "\(error)"]) }
        var base = RunConfiguration(root: root, cgroupParent: parent, prices: priceTable, region: region, account: account, pidsLimit: pidsLimit,
                                    network: networkOptions, registry: try registry.settings.client(), pullPolicy: registry.pull)
        base.ledger = try Ledger(path: root.ledgerPath)
        base.endpoint = metadata.settings.configuration
        base.endpoints = try metadata.settings.server(logger: Logger(label: "fargate-run.metadata"))
        let host = try TaskHost(base: base, logger: logger)

        // Tasks of foreground runs that died are cleaned up; hosted ones are taken over.
        for c in await GarbageCollector(root: root, prices: priceTable, network: networkOptions).collect() {
            logger.notice("cleaned up a task left by a fargate-run that died", metadata: ["task": "\(c.taskId)", "removed": "\(c.removed)"])
        }
        let resumed = await host.resumeTasks()
        host.finishRemovals()
        if !resumed.isEmpty { logger.notice("took over tasks left running", metadata: ["tasks": "\(resumed.count)"]) }
        // Those on this host's own network: it keeps it now, as if it had started them.
        if networkOptions.conflistPath == nil {
            do {
                try policy.keep(network: networkOptions.networkName, subnet: networkOptions.subnet, outboundNAT: networkOptions.outboundNAT,
                                tasks: resumed, keeper: .current)
            } catch {
                logger.warning("cannot keep the network of the tasks taken over", metadata: ["error": "\(error)"])
            }
        }

        let control = ControlAPI(host: host)
        let ecs: ECSAPI
        do {
            let settings = ECSAPI.Settings(region: base.region, account: account, credentials: keys, testMode: testMode,
                                           stoppedTaskRetention: TimeInterval(stoppedTaskRetention), secretsPath: secrets,
                                           targetGroups: try Serve.targetGroups(targetGroup),
                                           scheduler: SchedulerSettings(healthyAfter: taskHealthyAfter, deregistrationDelay: deregistrationDelay),
                                           registryNames: try Serve.pairs(serviceRegistry, flag: "--service-registry"),
                                           autoScaling: AutoScalingSettings(period: autoscalingPeriod))
            ecs = try ECSAPI(settings: settings, store: try ControlPlaneStore(path: root.path + "/control-plane.sqlite"), host: host,
                             logger: Logger(label: "fargate-run.ecs-api"))
        } catch {
            writeOut(2, "fargate-run: serve: \(error)\n")
            throw ExitCode(1)
        }
        // `run -d FILE` runs a registered revision, as an ECS client would.
        await host.registerFiles { [ecs] in try ecs.revision(ofFile: $0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let socketPath = ControlAPI.socketPath(root)
        let addressFile = root.path + "/api-address"
        unlink(addressFile)
        let servers: [HTTPServer]
        var apiAddress = "off"
        do {
            // The unix socket is root's: fargate-run's own API there, and the ECS API too.
            var s = [try await HTTPServer.start(.unix(path: socketPath), group: group) { request in
                request.path.hasPrefix("/v1/") ? await control.handle(request) : await ecs.handle(request, fromRootSocket: true)
            }]
            chmod(socketPath, 0o600)
            if let endpoint {
                let tcp = try await HTTPServer.start(endpoint, group: group) { await ecs.handle($0) }
                s.append(tcp)
                if case .tcp(let address, _) = endpoint, let port = tcp.port {
                    apiAddress = "\(address):\(port)"
                    try FileSystem.writeAtomically(addressFile, Array((apiAddress + "\n").utf8), durable: false)
                }
            }
            servers = s
        } catch {
            writeOut(2, "fargate-run: serve: \(error)\n")
            throw ExitCode(1)
        }
        // Target groups' listeners and discovery names follow the scheduler's tasks.
        await ServiceTraffic(root: root, settings: ecs.settings, logger: Logger(label: "fargate-run.service-traffic")).connect(ecs.scheduler)
        await ecs.scheduler.start()
        await ecs.autoScaler.start()
        logger.notice("serving", metadata: ["socket": "\(socketPath)", "ecs-api": "\(apiAddress)", "pid": "\(getpid())"])
        let pruner = removeStoppedAfter.map { StoppedTaskPruner(store: TaskStore(root: root), after: TimeInterval($0), logger: logger) }
        pruner?.start()

        // SIGTERM and SIGINT end the host; its tasks go on under their monitors.
        let (stop, stopped) = AsyncStream.makeStream(of: Int32.self)
        let signals = SignalForwarder { _, sig in stopped.yield(sig) }
        for await sig in stop {
            guard sig != SIGUSR1 else { continue }
            let running = await host.taskIds.count
            logger.notice("stopping the host; its tasks keep running", metadata: ["signal": "\(sig)", "tasks": "\(running)"])
            break
        }
        signals.cancel()
        pruner?.stop()
        for s in servers { await s.close() }
        // Usage samples not written yet go now (the next host would cover their seconds, but
        // without their resolution).
        await host.base.usageSampler?.stop()
        do { try policy.release(keeper: networkOptions.policyKeeper) } catch {
            logger.warning("cannot release the network this host kept", metadata: ["error": "\(error)"])
        }
        unlink(socketPath)
        unlink(addressFile)
        withExtendedLifetime(lock) {}
    }

    /// 127.0.0.1:8557: loopback, and a port no common service uses (LocalStack's are 4510-4566).
    static let defaultListen = "127.0.0.1:8557"

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host == "[::1]" || host.hasPrefix("127.")
    }

    /// KEY=VALUE pairs of a repeatable flag.
    static func pairs(_ values: [String], flag: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for v in values {
            guard let eq = v.lastIndex(of: "="), eq != v.startIndex, v.index(after: eq) != v.endIndex else {
                throw ValidationError("\(flag) \"\(v)\" is not ARN=VALUE")
            }
            out[String(v[..<eq])] = String(v[v.index(after: eq)...])
        }
        return out
    }

    /// --target-group ARN=ADDRESS:PORT values.
    static func targetGroups(_ values: [String]) throws -> [String: ECSAPI.Settings.Listener] {
        try pairs(values, flag: "--target-group").mapValues { text in
            guard case .tcp(let host, let port) = try tcpEndpoint(text, flag: "--target-group"), port > 0 else {
                throw ValidationError("--target-group: \(text) is not ADDRESS:PORT")
            }
            do { try LoadBalancerListener(address: host, port: port).check() } catch { throw ValidationError("--target-group: \(error)") }
            return ECSAPI.Settings.Listener(address: host, port: port)
        }
    }

    /// HOST:PORT as a TCP endpoint.
    static func tcpEndpoint(_ text: String, flag: String) throws -> HTTPServer.Endpoint {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ValidationError("\(flag) \"\(text)\" is not HOST:PORT, such as 127.0.0.1:8557")
        }
        guard (0...65535).contains(port) else { throw ValidationError("\(flag) \"\(text)\": port \(port) is not 0 to 65535") }
        return .tcp(host: String(text[..<colon]), port: port)
    }
}
