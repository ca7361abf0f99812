#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import Foundation
import HTTPServing
import Logging
import Metering
import NIOPosix
import Sandbox
import TaskHost
import TaskRuntime

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the host that owns this state root's tasks, so they outlive the terminal (run -d, stop, wait).",
        discussion: """
            It listens on <root>/host.sock (root only) and, with --listen, on a TCP address. One \
            host per state root. SIGTERM or SIGINT stops the host, not its tasks: each task's \
            containers are kept by its own monitor process, and the next host takes them over. \
            Under systemd, run it with KillMode=process (rootfs-tools/systemd/fargate-run.service).
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Also serve the API on this TCP address (HOST:PORT). Loopback only unless you mean otherwise: anyone who can connect can run tasks.")
    var listen: String?

    @Option(name: .long, help: "Create task cgroups under this cgroup instead of the one fargate-run runs in.")
    var cgroupParent: String?

    @Option(name: .long, help: "A price file (JSON, see Docs/METERING.md) instead of the built-in us-east-1 prices.")
    var prices: String?

    @Option(name: .long, help: "Most processes and threads a task may have.")
    var pidsLimit: Int64 = 4096

    @OptionGroup var network: NetworkFlags

    @OptionGroup var metadata: EndpointFlags

    @OptionGroup var registry: RegistryFlags

    func run() async throws {
        GlobalOptions.bootstrapLogging(level: global.logLevel == "warning" ? "info" : global.logLevel)
        var logger = Logger(label: "fargate-run.host")
        let root = try global.stateRoot()
        logger[metadataKey: "root"] = .string(root.path)
        let lock: HostLock
        do { lock = try HostLock(root: root) } catch {
            writeOut(2, "fargate-run: \(error)\n")
            throw ExitCode(1)
        }
        let endpoint = try listen.map(Serve.tcpEndpoint)
        // cgroup v2: tasks' cgroups get controllers only beneath a cgroup without processes.
        var parent = cgroupParent
        if parent == nil, let own = try CgroupHost.moveIntoLeaf() {
            parent = own
            logger.info("moved into a leaf of its cgroup so its tasks can have controllers", metadata: ["cgroup": "\(own)/\(CgroupHost.hostLeaf)"])
        }
        let priceTable = try prices.map(PriceTable.load) ?? .usEast1
        let networkOptions = try network.settings.options()
        var base = RunConfiguration(root: root, cgroupParent: parent, prices: priceTable, pidsLimit: pidsLimit,
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
        if !resumed.isEmpty { logger.notice("took over tasks left running", metadata: ["tasks": "\(resumed.count)"]) }

        let api = ControlAPI(host: host)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let socketPath = ControlAPI.socketPath(root)
        let servers: [HTTPServer]
        do {
            var s = [try await HTTPServer.start(.unix(path: socketPath), group: group, handler: api.handle)]
            chmod(socketPath, 0o600)
            if let endpoint { s.append(try await HTTPServer.start(endpoint, group: group, handler: api.handle)) }
            servers = s
        } catch {
            writeOut(2, "fargate-run: serve: \(error)\n")
            throw ExitCode(1)
        }
        logger.notice("serving", metadata: ["socket": "\(socketPath)", "listen": "\(listen ?? "-")", "pid": "\(getpid())"])

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
        for s in servers { await s.close() }
        unlink(socketPath)
        withExtendedLifetime(lock) {}
    }

    /// HOST:PORT as a TCP endpoint.
    static func tcpEndpoint(_ text: String) throws -> HTTPServer.Endpoint {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--listen \"\(text)\" is not HOST:PORT, such as 127.0.0.1:8500")
        }
        return .tcp(host: String(text[..<colon]), port: port)
    }
}
