#if canImport(Glibc)
import Glibc
#endif
import Foundation
import HTTPServing
import LinuxSupport
import Logging
import NIOCore
import NIOPosix
import Sandbox
import Synchronization
import TaskNetwork
import TaskRuntime

/// Answers the task metadata endpoint of every task of the process (a foreground run's, or a
/// host's), each on the listener made inside its own network namespace: the task is the one
/// whose namespace the connection came from, and no other task can reach that listener.
///
/// A task's listener is first only watched (one epoll registration on the process's
/// `FDWatcher`): the HTTP server is made for it when its first connection arrives, so a task
/// that never asks costs nothing more, and its start is not slowed. Connections wait in the
/// listener meanwhile, as they do while no host runs (a hosted task's monitor keeps it).
public final class MetadataServer: TaskEndpointService, Sendable {
    /// Bounds on what a task's containers can hold of the server: Go's 5 s timeouts, the
    /// largest request body the API takes, a cap on connections.
    static let limits = HTTPServer.Limits(maxBody: 64 << 10, maxConnections: 128, idleTimeout: .seconds(5))

    let credentials: TaskRoleCredentials?
    let logger: Logger
    private let group = Mutex<MultiThreadedEventLoopGroup?>(nil)
    private let cgroupHost = Mutex<CgroupHost??>(nil)
    private let tasks = Mutex<[String: Served]>([:])

    /// How far a task's endpoint has come.
    enum Served {
        /// Watched until its first connection: the watch, and the listener's copy the server
        /// will own.
        case watching(FDWatcher.Token, listener: Int32, any EndpointTask)
        case starting(Task<HTTPServer?, Never>)
        case serving(HTTPServer)
    }

    /// `credentials` nil: no task gets task-role credentials (`--no-task-credentials`).
    public init(credentials: TaskRoleCredentials?, logger: Logger = Logger(label: "fargate-run.metadata")) {
        self.credentials = credentials
        self.logger = logger
    }

    public func serve(_ task: TaskRunner, on sockets: TaskEndpointSockets) {
        let id = task.taskId
        // The server owns (and closes) a copy; the caller keeps its own.
        let listener = fcntl(sockets.listener, F_DUPFD_CLOEXEC, 3)
        guard listener >= 0 else {
            logger.warning("task metadata endpoint not served", metadata: ["task": "\(id.prefix(12))", "error": "\(SystemError("dup"))"])
            return
        }
        do {
            let token = try FDWatcher.shared.watch(listener) { [weak self] _ in self?.firstConnection(id) }
            tasks.withLock { $0[id] = .watching(token, listener: listener, task) }
        } catch {
            close(listener)
            logger.warning("task metadata endpoint not served", metadata: ["task": "\(id.prefix(12))", "error": "\(error)"])
        }
    }

    /// On the watcher's thread: the task's first connection is waiting; its server is made.
    func firstConnection(_ id: String) {
        tasks.withLock { t in
            guard case .watching(let token, let listener, let runner)? = t[id] else { return }
            FDWatcher.shared.cancel(token)
            t[id] = .starting(Task { await self.start(runner, listener: listener) })
        }
    }

    func start(_ runner: any EndpointTask, listener: Int32) async -> HTTPServer? {
        let taskDirectory = await runner.snapshot().taskDirectory
        let endpoint = TaskEndpoint(runner: runner, credentials: credentials, cgroupHost: probedCgroupHost(), taskDirectory: taskDirectory,
                                    logger: logger)
        do {
            let server = try await HTTPServer.start(.socket(listener), group: eventLoopGroup(), limits: MetadataServer.limits,
                                                    gate: { endpoint.gate($0) }, handler: { await endpoint.handle($0) })
            let stopped = tasks.withLock { t -> Bool in
                guard case .starting? = t[runner.taskId] else { return true }
                t[runner.taskId] = .serving(server)
                return false
            }
            if stopped { await server.close() }
            return server
        } catch {
            close(listener)
            logger.warning("task metadata endpoint not served", metadata: ["task": "\(runner.taskId.prefix(12))", "error": "\(error)"])
            return nil
        }
    }

    public func stopServing(_ taskId: String) async {
        guard let served = tasks.withLock({ $0.removeValue(forKey: taskId) }) else { return }
        switch served {
        case .watching(let token, let listener, _):
            FDWatcher.shared.cancel(token)
            close(listener)
        case .starting(let starting):
            await starting.value?.close()
        case .serving(let server):
            await server.close()
        }
    }

    /// One event loop thread for every task's endpoint, made when the first is answered.
    func eventLoopGroup() -> MultiThreadedEventLoopGroup {
        group.withLock { g in
            if let g { return g }
            let made = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            g = made
            return made
        }
    }

    /// The host's cgroup layout, probed once (stats read each task's cgroups with it).
    func probedCgroupHost() -> CgroupHost? {
        cgroupHost.withLock { h in
            if let known = h { return known }
            let probed = try? CgroupHost.probe()
            h = .some(probed)
            return probed
        }
    }
}
