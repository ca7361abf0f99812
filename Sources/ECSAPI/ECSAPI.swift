import ECSModel
import Foundation
import HTTPServing
import Logging
import Services
import TaskHost
import TaskRuntime

/// The Amazon ECS API (JSON 1.1, `X-Amz-Target: AmazonEC2ContainerServiceV20141113.<Op>`,
/// `POST /`) in front of a host's real tasks: what the aws CLI, boto3, Terraform and the deploy
/// action call, with the request and response shapes of the API model and its errors.
public final class ECSAPI: Sendable {
    public struct Settings: Sendable {
        /// The region in every ARN (one region per host).
        public var region: String
        /// The account of requests whose key is not listed (and of every request when keys
        /// are not checked).
        public var account: String
        /// Access keys the server accepts, with their secrets and accounts; nil accepts any
        /// signature (the default, on loopback).
        public var credentials: [String: AccessKey]?
        /// Answer `POST /moto-api/reset` (wipes everything: for running moto's tests only).
        public var testMode: Bool
        /// How long stopped tasks stay in ListTasks and DescribeTasks.
        public var stoppedTaskRetention: TimeInterval
        /// The secrets file tasks started through the API resolve their secrets from.
        public var secretsPath: String?
        /// Where relative `oci:DIR` images of registered definitions are.
        public var workingDirectory: String
        /// Where each target group listens (`serve --target-group ARN=ADDRESS:PORT`); one not
        /// listed listens on 127.0.0.1 and its container port.
        public var targetGroups: [String: Listener]
        /// The scheduler's numbers (the 40 s rule, the deregistration delay).
        public var scheduler: SchedulerSettings
        /// Names of Cloud Map services (`serve --service-registry ARN=NAME`).
        public var registryNames: [String: String]
        /// Application Auto Scaling's datapoint period (`serve --autoscaling-period`).
        public var autoScaling: AutoScalingSettings

        public struct Listener: Sendable, Equatable {
            public var address: String
            public var port: Int
            public init(address: String, port: Int) {
                self.address = address
                self.port = port
            }
        }

        public func listener(of targetGroup: String, containerPort: Int) -> Listener {
            targetGroups[targetGroup] ?? Listener(address: "127.0.0.1", port: containerPort)
        }

        public init(region: String = "us-east-1", account: String = "000000000000", credentials: [String: AccessKey]? = nil,
                    testMode: Bool = false, stoppedTaskRetention: TimeInterval = 3600, secretsPath: String? = nil,
                    workingDirectory: String = FileManager.default.currentDirectoryPath, targetGroups: [String: Listener] = [:],
                    scheduler: SchedulerSettings = .init(), registryNames: [String: String] = [:], autoScaling: AutoScalingSettings = .init()) {
            self.autoScaling = autoScaling
            self.targetGroups = targetGroups
            self.scheduler = scheduler
            self.registryNames = registryNames
            self.secretsPath = secretsPath
            self.workingDirectory = workingDirectory
            self.region = region
            self.account = account
            self.credentials = credentials
            self.testMode = testMode
            self.stoppedTaskRetention = stoppedTaskRetention
        }
    }

    public struct AccessKey: Sendable, Equatable {
        public var secret: String
        public var account: String
        /// A session token the requests must carry, if any.
        public var sessionToken: String?

        public init(secret: String, account: String, sessionToken: String? = nil) {
            self.secret = secret
            self.account = account
            self.sessionToken = sessionToken
        }
    }

    public static let targetPrefix = "AmazonEC2ContainerServiceV20141113."

    public let settings: Settings
    public let store: ControlPlaneStore
    public let host: TaskHost
    /// Every service of the state root, kept at its desired count.
    public let scheduler: ServiceScheduler
    /// Application Auto Scaling's target tracking of the services with scalable targets.
    public let autoScaler: ServiceAutoScaler
    let logger: Logger

    public init(settings: Settings, store: ControlPlaneStore, host: TaskHost, logger: Logger) throws {
        self.settings = settings
        self.store = store
        self.host = host
        self.logger = logger
        scheduler = try ServiceScheduler(platform: HostServicePlatform(host: host, store: store, settings: settings), store: store,
                                         settings: settings.scheduler, registryNames: settings.registryNames, logger: logger)
        autoScaler = ServiceAutoScaler(store: store, scheduler: scheduler, host: host, settings: settings.autoScaling, logger: logger)
        try ensureDefaultCluster(account: settings.account)
    }

    /// Who is calling, as the signature says.
    struct Caller: Sendable {
        var account: String
        var region: String
    }

    /// One HTTP request: its operation's answer, or an error shaped as ECS shapes them.
    /// `fromRootSocket`: it came over the host's root-only unix socket (the CLI's `service`
    /// commands), whose callers are root already and sign nothing.
    public func handle(_ request: HTTPRequest, fromRootSocket: Bool = false) async -> HTTPResponse {
        let requestId = UUID().uuidString.lowercased()
        if settings.testMode, request.method == "POST", request.path == "/moto-api/reset" {
            await reset()
            return HTTPResponse(status: 200, contentType: "application/json", text: #"{"status": "ok"}"#)
        }
        let op = (request.header("x-amz-target") ?? "")
        do {
            guard request.method == "POST", request.path == "/" else {
                throw ECSError("UnknownOperationException", "ECS operations are POST / with an X-Amz-Target header")
            }
            // Application Auto Scaling shares the listener; its errors have their own shape.
            if op.hasPrefix(ECSAPI.autoScalingTargetPrefix) { return await handleAutoScaling(request, op: op, requestId: requestId) }
            guard op.hasPrefix(ECSAPI.targetPrefix) else {
                throw ECSError("UnknownOperationException", op.isEmpty ? "Missing X-Amz-Target" : "Unknown target \(op)")
            }
            let caller = fromRootSocket ? Caller(account: settings.account, region: settings.region) : try authenticate(request)
            let name = String(op.dropFirst(ECSAPI.targetPrefix.count))
            let body = try await dispatch(name, request.body.isEmpty ? Array("{}".utf8) : request.body, caller)
            logger.debug("ecs api", metadata: ["op": "\(name)", "request": "\(requestId)"])
            return HTTPResponse(status: 200, headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", requestId)], body: body)
        } catch let e as ECSError {
            logger.info("ecs api error", metadata: ["op": "\(op)", "code": "\(e.code)", "message": "\(e.message)"])
            return ECSAPI.errorResponse(e, requestId: requestId)
        } catch {
            return ECSAPI.errorResponse(.server("\(error)"), requestId: requestId)
        }
    }

    static func errorResponse(_ e: ECSError, requestId: String) -> HTTPResponse {
        let body = (try? JSONSerialization.data(withJSONObject: ["__type": e.code, "message": e.message])) ?? Data()
        // x-amzn-ErrorType carries the same code: the Go SDK (Terraform) reads it before the body.
        return HTTPResponse(status: e.status, headers: [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", requestId),
                                                        ("x-amzn-ErrorType", e.code)], body: Array(body))
    }

    /// Wipes the control plane and stops every task it started (moto's reset).
    func reset() async {
        await scheduler.forgetAll()
        await autoScaler.forgetAll()
        for id in await host.taskIds { _ = try? await host.stop(id, reason: "reset") }
        try? store.reset()
        try? ensureDefaultCluster(account: settings.account)
    }
}

/// JSON of the API's shapes on the wire: timestamps as epoch seconds, absent members left out.
enum APIJSON {
    static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.userInfo[ECS.Timestamp.epochSeconds] = true
        e.outputFormatting = [.withoutEscapingSlashes]
        return e
    }()

    /// A request of type `T` (see `decodeRequest`).
    static func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8]) throws -> T {
        try decodeRequest(T.self, body, with: JSONDecoder())
    }

    static func encode(_ value: some Encodable) throws -> [UInt8] {
        Array(try encoder.encode(value))
    }
}
