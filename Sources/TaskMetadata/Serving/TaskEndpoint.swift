import Foundation
import HTTPServing
import Logging
import Sandbox
import TaskNetwork
import TaskRuntime

/// One task's endpoint: what the agent answers at 169.254.170.2 for the task whose namespace
/// the listener is in. The listener identifies the task (it is in no other namespace), so v2's
/// "the caller's task" is this one; v3, v4 and the agent API must also name one of its
/// containers' endpoint ids, and the credentials path its credentials id.
final class TaskEndpoint: Sendable {
    let runner: any EndpointTask
    let taskId: String
    /// The task's credentials id, when its containers were given task-role credentials.
    let credentialsId: String?
    let credentials: TaskRoleCredentials?
    let cgroupHost: CgroupHost?
    let limiter = RateLimiter()
    let sampler = StatsSampler()
    let facts: HostFactsReader
    let logger: Logger

    init(runner: any EndpointTask, credentials: TaskRoleCredentials?, cgroupHost: CgroupHost?, taskDirectory: String, logger: Logger) {
        self.runner = runner
        taskId = runner.taskId
        credentialsId = runner.credentialsId
        self.credentials = credentials
        self.cgroupHost = cgroupHost
        facts = HostFactsReader(taskDirectory: taskDirectory)
        var l = logger
        l[metadataKey: "task"] = .string(String(runner.taskId.prefix(12)))
        self.logger = l
    }

    // MARK: HTTP

    /// On the event loop, before anything else: the rate limit (429 at once, cheaply).
    func gate(_ request: HTTPRequest) -> HTTPResponse? {
        guard !limiter.allow((request.peer ?? "") + " " + request.path) else { return nil }
        return HTTPResponse(status: 429, headers: [("Content-Type", "text/plain; charset=utf-8")] + common(request),
                            body: Array("You have reached maximum request limit.".utf8))
    }

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        var response = await route(request)
        response.headers += common(request)
        return response
    }

    /// What every answer carries: the rate limiter's headers and Go's Date.
    func common(_ request: HTTPRequest) -> [(String, String)] {
        let remote = (request.peer ?? "") + ":" + String(request.peerPort ?? 0)
        return RateLimiter.headers(remote: remote, forwardedFor: request.header("X-Forwarded-For") ?? "") + [("Date", HTTPDate.now())]
    }

    func route(_ request: HTTPRequest) async -> HTTPResponse {
        switch MetadataRoute(path: request.path) {
        case .redirect(let to):
            let query = request.uri.firstIndex(of: "?").map { String(request.uri[$0...]) } ?? ""
            return HTTPResponse(status: 301, headers: [("Location", to + query)])
        case .notFound:
            return HTTPResponse(status: 404, headers: [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
                                body: Array("404 page not found\n".utf8))
        case .credentialsV1:
            return await credentialsAnswer(id: request.query["id"] ?? "", prefix: "CredentialsV1Request: ")
        case .credentialsV2(let id):
            return await credentialsAnswer(id: id, prefix: "CredentialsV2Request: ")
        case .protection(let id):
            guard request.method == "GET" || request.method == "PUT" else { return HTTPResponse(status: 405) }
            return await protection(request, id: id)
        case let route:
            return await metadata(route)
        }
    }

    // MARK: Metadata and stats

    /// A JSON answer (the agent writes every one as application/json, errors included).
    static func json(_ status: Int, _ body: GoJSON) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")], body: body.bytes)
    }

    /// An error as the metadata handlers write it: the message as a JSON string.
    static func error(_ status: Int, _ message: String) -> HTTPResponse { json(status, .string(message)) }

    func metadata(_ route: MetadataRoute) async -> HTTPResponse {
        let task = await runner.snapshot()
        let ids = Dictionary(uniqueKeysWithValues: task.plan.containers.map { (task.identity.runtimeId($0.name), $0) })
        let unknownContainer = "unable to get container ID from request: unable to get docker ID from v3 endpoint ID: "
        let unknownTask = "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: "
        func documents(_ v: MetadataVersion) -> MetadataDocuments {
            MetadataDocuments(task: task, version: v, host: v == .v4 ? facts.read() : HostFacts())
        }
        switch route {
        case .v2Task(let withTags):
            return TaskEndpoint.json(200, documents(.v2).taskDocument(withTags: withTags))
        case .v2Container(let id):
            guard let c = ids[id] else { return TaskEndpoint.error(400, "Unable to generate metadata for container '\(id)'") }
            return TaskEndpoint.json(200, documents(.v2).containerDocument(c))
        case .v2TaskStats:
            return TaskEndpoint.json(200, taskStats(task, version: .v2))
        case .v2ContainerStats(let id):
            guard let c = ids[id], let stats = containerStats(task, c, version: .v2) else {
                return TaskEndpoint.error(400, "Unable to get container stats for: \(id)")
            }
            return TaskEndpoint.json(200, stats)
        case .container(let v, let id):
            guard let c = ids[id] else {
                return TaskEndpoint.error(v == .v4 ? 404 : 500, "V\(v.rawValue) container metadata handler: " + unknownContainer + id)
            }
            return TaskEndpoint.json(200, documents(v).containerDocument(c))
        case .task(let v, let id, let withTags):
            guard ids[id] != nil else { return TaskEndpoint.error(v == .v4 ? 404 : 500, "V\(v.rawValue) task metadata handler: " + unknownTask + id) }
            return TaskEndpoint.json(200, documents(v).taskDocument(withTags: withTags))
        case .containerStats(let v, let id):
            guard let c = ids[id] else { return TaskEndpoint.error(v == .v4 ? 404 : 400, "V\(v.rawValue) container stats handler: " + unknownTask + id) }
            guard let stats = containerStats(task, c, version: v) else {
                return TaskEndpoint.error(v == .v4 ? 500 : 400, "Unable to get container stats for: \(id)")
            }
            return TaskEndpoint.json(200, stats)
        case .taskStats(let v, let id):
            guard ids[id] != nil else { return TaskEndpoint.error(v == .v4 ? 404 : 400, "V\(v.rawValue) task stats handler: " + unknownTask + id) }
            return TaskEndpoint.json(200, taskStats(task, version: v))
        case .associations(let v, let id, let type, let name):
            let prefix = "V\(v.rawValue) container associations handler: "
            guard ids[id] != nil else {
                let list = "unable to get container id from request: unable to get docker ID from v3 endpoint ID: "
                return TaskEndpoint.error(400, prefix + (name == nil ? list : unknownTask) + id)
            }
            // Tasks here have no associations (GPUs, Elastic Inference).
            guard let name else { return TaskEndpoint.json(200, .object([("Associations", .null)])) }
            guard !name.isEmpty else { return TaskEndpoint.error(400, prefix + "unable to get association name from request") }
            return TaskEndpoint.error(400, "Unable to write container association response: unable to get association from association type \(type) and association name \(name)")
        default:
            return TaskEndpoint.error(500, "failed to get task metadata")
        }
    }

    /// The running containers with their cgroups, and a process in the task's namespace.
    func running(_ task: TaskSnapshot) -> ([(name: String, cgroup: Cgroup)], Int32?) {
        guard let host = cgroupHost, let taskCgroup = Cgroup.recorded(task.cgroupDirectories, on: host) else { return ([], nil) }
        let names = task.lifecycle.containers.filter { $0.status == .running }.map(\.name)
        let pid = names.compactMap { task.pids[$0] }.first
        return (names.map { ($0, Cgroup(existing: taskCgroup.host, relativePath: taskCgroup.relativePath + "/" + $0)) }, pid)
    }

    func containerStats(_ task: TaskSnapshot, _ c: TaskPlan.Container, version: MetadataVersion) -> GoJSON? {
        let (containers, pid) = running(task)
        guard let mine = containers.first(where: { $0.name == c.name }) else { return nil }
        guard let s = sampler.sample(containers, pid: pid)[mine.name] else { return nil }
        return DockerStatsDocument.document(name: c.name, id: task.identity.runtimeId(c.name), latest: s.latest, previous: s.previous,
                                            networkRate: version == .v4)
    }

    /// Every container's stats by DockerId: a container without (not running) is `{}` in v4,
    /// `null` in v2 and v3, as the agent writes them.
    func taskStats(_ task: TaskSnapshot, version: MetadataVersion) -> GoJSON {
        let (containers, pid) = running(task)
        let samples = sampler.sample(containers, pid: pid)
        var out: [String: GoJSON] = [:]
        for c in task.plan.containers {
            let id = task.identity.runtimeId(c.name)
            if let s = samples[c.name] {
                out[id] = DockerStatsDocument.document(name: c.name, id: id, latest: s.latest, previous: s.previous, networkRate: version == .v4)
            } else {
                out[id] = version == .v4 ? .object([]) : .null
            }
        }
        return .map(out)
    }

    // MARK: Credentials

    /// The task role's credentials for the task's own credentials id; the agent's errors
    /// otherwise (no id, an unknown one). Another task's id is unknown here: each listener
    /// serves only its own task.
    func credentialsAnswer(id: String, prefix: String) async -> HTTPResponse {
        func failure(_ status: Int, _ code: String, _ text: String) -> HTTPResponse {
            TaskEndpoint.json(status, .object([("code", .string(code)), ("message", .string(prefix + text)), ("HTTPErrorCode", .int(Int64(status)))]))
        }
        guard !id.isEmpty else { return failure(400, "NoIdInRequest", "No Credential ID in the request") }
        guard let expected = credentialsId, TaskEndpoint.constantTimeEqual(id, expected), let credentials,
              let role = await runner.snapshot().plan.taskRoleArn else {
            return failure(400, "InvalidIdInRequest", "Credentials not found")
        }
        do {
            let c = try await credentials.credentials(for: role)
            logger.info("task role credentials served", metadata: ["role": "\(role)"])
            return TaskEndpoint.json(200, TaskRoleCredentials.document(role: role, c))
        } catch {
            logger.warning("task role credentials not available", metadata: ["role": "\(role)", "error": "\(error)"])
            return failure(503, "CredentialsUninitialized", "Credentials uninitialized for ID")
        }
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Go's Date header: "Mon, 02 Jan 2006 15:04:05 GMT".
enum HTTPDate {
    static func now() -> String {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(days[Int(tm.tm_wday)]), \(two(tm.tm_mday)) \(months[Int(tm.tm_mon)]) \(tm.tm_year + 1900) \(two(tm.tm_hour)):\(two(tm.tm_min)):\(two(tm.tm_sec)) GMT"
    }
}
