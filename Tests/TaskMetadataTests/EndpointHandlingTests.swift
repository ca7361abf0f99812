import ECSModel
import Foundation
import HTTPServing
import Logging
import Synchronization
@testable import TaskMetadata
import TaskNetwork
import TaskRuntime
import TestSupport
import Testing

/// A task as an endpoint sees it, without a runtime: its plan, a lifecycle driven by hand.
final class FakeTask: EndpointTask {
    let state: Mutex<TaskSnapshot>
    var taskId: String { state.withLock { $0.identity.taskId } }
    let credentialsId: String?

    init(_ snapshot: TaskSnapshot) {
        state = Mutex(snapshot)
        credentialsId = snapshot.identity.credentialsId
    }

    func snapshot() async -> TaskSnapshot { state.withLock { $0 } }

    func protectTask(_ enabled: Bool, minutes: Int?) async -> TaskProtection {
        state.withLock { s in
            s.protection = TaskProtection(enabled: enabled, expiresAt: enabled ? Date().addingTimeInterval(Double(minutes ?? 120) * 60) : nil)
            return s.protection
        }
    }
}

/// The endpoint's answers, path by path, held to the agent's status codes, bodies and types.
struct EndpointHandlingTests {
    static let definition = #"""
        {"family": "web", "revision": 7, "networkMode": "awsvpc", "cpu": "512", "memory": "1024", "taskRoleArn": "arn:aws:iam::111122223333:role/web",
         "containerDefinitions": [
          {"name": "web", "image": "nginx:1.27", "cpu": 2, "memory": 256, "portMappings": [{"containerPort": 80}],
           "dockerLabels": {"team": "a"}, "healthCheck": {"command": ["CMD-SHELL", "true"]},
           "restartPolicy": {"enabled": true},
           "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/web", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "ecs"}},
           "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]},
          {"name": "side", "image": "busybox", "essential": false}],
         "volumes": [{"name": "data"}]}
        """#

    static let attachment = #"""
        {"taskId": "t", "netns": "/run/netns/fr-x", "ip": "198.19.0.5", "prefixLength": 16, "gateway": "198.19.0.1", "mac": "0a:58:c6:13:00:05",
         "subnet": "198.19.0.0/16", "hostname": "ip-198-19-0-5.ec2.internal", "ports": [], "securityGroups": ["default"], "defaultNetwork": true,
         "networkName": "fargate-run-fr0", "conflist": "", "result": "", "runtimeConfig": ""}
        """#

    /// The task with `web` running (and healthy) and `side` exited 3, or not started yet.
    static func snapshot(started: Bool = true, credentials: Bool = true) throws -> TaskSnapshot {
        let plan = try TaskPlan(try TaskDefinitionLoader.load(data: Data(definition.utf8)), region: "us-east-1", account: "111122223333")
        var identity = TaskIdentity(taskId: "5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b", region: "us-east-1", account: "111122223333", cluster: "demo",
                                    group: "service:web-svc", tags: [ECS.Tag(key: "env", value: "prod")])
        identity.credentialsId = credentials ? "6c869dee-68a9-40a2-80a3-3629aa766431" : nil
        var lifecycle = TaskLifecycle(containers: plan.containers.map(TaskLifecycle.Container.init), sharedPidNamespace: false)
        let t0 = Date(timeIntervalSince1970: 1_782_897_300)
        var times = TaskTimes(createdAt: t0)
        if started {
            lifecycle.advance(to: .pending)
            _ = lifecycle.handle(.begin, now: t0)
            _ = lifecycle.handle(.started("web"), now: t0.addingTimeInterval(1))
            _ = lifecycle.handle(.started("side"), now: t0.addingTimeInterval(1))
            _ = lifecycle.handle(.healthChecked("web", passed: true, exitCode: 0, output: "ok"), now: t0.addingTimeInterval(31))
            _ = lifecycle.handle(.exited("side", exitCode: 3, killedBySignal: false, oomKilled: false), now: t0.addingTimeInterval(2))
            times.pullStartedAt = t0
            times.pullStoppedAt = t0.addingTimeInterval(0.5)
        }
        let attachment = try JSONDecoder().decode(TaskNetworkAttachment.self, from: Data(attachment.utf8))
        return TaskSnapshot(plan: plan, identity: identity, lifecycle: lifecycle, times: times, attachment: started ? attachment : nil,
                            imageIds: ["web": "sha256:" + String(repeating: "0c", count: 32)], cgroupDirectories: [], pids: [:],
                            volumeDirectories: ["data": "/var/lib/fargate-run/tasks/x/volumes/data"], networkMode: .awsvpc,
                            taskDirectory: "/nonexistent", protection: TaskProtection(enabled: false, expiresAt: nil),
                            hasTaskCredentials: credentials)
    }

    static func endpoint(_ snapshot: TaskSnapshot, environment: [String: String] = ["AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                                                                                      "HOME": "/nonexistent"]) -> TaskEndpoint {
        let credentials = TaskRoleCredentials(options: TaskRoleOptions(), source: AWSCredentialSource(environment: environment))
        return TaskEndpoint(runner: FakeTask(snapshot), credentials: credentials, cgroupHost: nil, taskDirectory: snapshot.taskDirectory,
                            logger: Logger(label: "test"))
    }

    func get(_ e: TaskEndpoint, _ uri: String, method: String = "GET", body: String = "") async -> (Int, [(String, String)], String) {
        var r = HTTPRequest(method: method, path: String(uri.prefix { $0 != "?" }), query: [:], headers: [:], body: Array(body.utf8),
                            peer: "169.254.170.2", local: "169.254.170.2")
        if let q = uri.firstIndex(of: "?") {
            for pair in uri[uri.index(after: q)...].split(separator: "&") {
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                r.query[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
            }
        }
        r.peerPort = 40000
        r.uri = uri
        let response = await e.handle(r)
        return (response.status, response.headers, String(decoding: response.body, as: UTF8.self))
    }

    static let web = TaskIdentity.runtimeId(taskId: "5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b", container: "web")
    static let side = TaskIdentity.runtimeId(taskId: "5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b", container: "side")

    @Test func documentsHaveTheAgentsFieldsInItsOrderWithTheirTypes() async throws {
        let e = Self.endpoint(try Self.snapshot())
        for (path, shape) in [("/v4/\(Self.web)", AgentShapes.containerV4), ("/v4/\(Self.web)/task", AgentShapes.taskV4),
                              ("/v4/\(Self.web)/taskWithTags", AgentShapes.taskV4), ("/v3/\(Self.web)", AgentShapes.containerV2),
                              ("/v3/\(Self.web)/task", AgentShapes.taskV2), ("/v2/metadata", AgentShapes.taskV2),
                              ("/v2/metadataWithTags", AgentShapes.taskV2), ("/v2/metadata/\(Self.web)", AgentShapes.containerV2)] {
            let (status, headers, body) = await get(e, path)
            #expect(status == 200, "\(path): \(body)")
            #expect(headers.contains { $0 == ("Content-Type", "application/json") }, "\(path)")
            let json = try OrderedJSON.parse(body)
            #expect(AgentShapes.problems(json, shape).isEmpty, "\(path): \(AgentShapes.problems(json, shape))")
            #expect(!body.hasSuffix("\n"), "compact, no trailing newline, as json.Marshal")
        }
    }

    @Test func theTaskAndContainersCarryTheirValues() async throws {
        let e = Self.endpoint(try Self.snapshot())
        let task = try OrderedJSON.parse(await get(e, "/v4/\(Self.web)/taskWithTags").2)
        #expect(task["Cluster"]?.string == "arn:aws:ecs:us-east-1:111122223333:cluster/demo")
        #expect(task["TaskARN"]?.string == "arn:aws:ecs:us-east-1:111122223333:task/demo/5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b")
        #expect(task["Revision"]?.string == "7" && task["Family"]?.string == "web")
        #expect(task["Limits"]?.description == #"{"CPU":0.5,"Memory":1024}"#)
        #expect(task["LaunchType"]?.string == "FARGATE" && task["ServiceName"]?.string == "web-svc")
        #expect(task["TaskTags"]?.description == #"{"env":"prod"}"#)
        #expect(task["PullStartedAt"]?.string == "2026-07-01T09:15:00Z" && task["PullStoppedAt"]?.string == "2026-07-01T09:15:00.5Z")
        #expect(task["EphemeralStorageMetrics"]?["Reserved"]?.number == 20496)
        #expect(task["FaultInjectionEnabled"]?.description == "false")
        // v4 moves Containers after LaunchType; v2 keeps it after KnownStatus.
        #expect(task.keys.firstIndex(of: "Containers")! > task.keys.firstIndex(of: "LaunchType")!)
        let v2 = try OrderedJSON.parse(await get(e, "/v2/metadata").2)
        #expect(v2.keys.prefix(7) == ["Cluster", "TaskARN", "Family", "Revision", "DesiredStatus", "KnownStatus", "Containers"])
        #expect(v2["LaunchType"] == nil && v2["TaskTags"] == nil, "v2 has no LaunchType; tags only WithTags")

        let web = try OrderedJSON.parse(await get(e, "/v4/\(Self.web)").2)
        #expect(web["DockerId"]?.string == Self.web && web["DockerName"]?.string == "web" && web["Image"]?.string == "nginx:1.27")
        #expect(web["Labels"]?["com.amazonaws.ecs.task-definition-version"]?.string == "7" && web["Labels"]?["team"]?.string == "a")
        #expect(web["Limits"]?.description == #"{"CPU":2,"Memory":256}"#)
        #expect(web["Ports"]?.description == #"[{"ContainerPort":80,"Protocol":"tcp","HostPort":80}]"#)
        #expect(web["Health"]?.description == #"{"status":"HEALTHY","statusSince":"2026-07-01T09:15:31Z","output":"ok"}"#)
        #expect(web["LogOptions"]?["awslogs-stream"]?.string == "ecs/web/5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b")
        #expect(web["RestartCount"]?.number == 0 && web["Snapshotter"]?.string == "overlayfs")
        #expect(web["Volumes"]?.description == #"[{"Source":"/var/lib/fargate-run/tasks/x/volumes/data","Destination":"/data"}]"#)
        #expect(web["Networks"]?.description == #"[{"NetworkMode":"awsvpc","IPv4Addresses":["198.19.0.5"],"AttachmentIndex":0,"MACAddress":"0a:58:c6:13:00:05","IPv4SubnetCIDRBlock":"198.19.0.0/16","PrivateDNSName":"ip-198-19-0-5.ec2.internal","SubnetGatewayIpv4Address":"198.19.0.1/16"}]"#)
        #expect(web["ExitCode"] == nil, "running: no exit code yet")
        let side = try OrderedJSON.parse(await get(e, "/v3/\(Self.side)").2)
        #expect(side["ExitCode"]?.number == 3 && side["KnownStatus"]?.string == "STOPPED" && side["FinishedAt"]?.string == "2026-07-01T09:15:02Z")
        #expect(side["Limits"]?.description == #"{"CPU":0}"#, "no Memory when the container sets none (Fargate's form)")
        #expect(side["Networks"]?.description == #"[{"NetworkMode":"awsvpc","IPv4Addresses":["198.19.0.5"]}]"#, "v3: the basic keys")
        #expect(side["LogDriver"] == nil && side["ContainerARN"] == nil, "v3 has no v4 fields")
    }

    @Test func beforeItsContainersRunTheTaskHasNoLabelsNorTimes() async throws {
        let e = Self.endpoint(try Self.snapshot(started: false))
        let web = try OrderedJSON.parse(await get(e, "/v4/\(Self.web)").2)
        #expect(web["Labels"] == nil && web["StartedAt"] == nil && web["KnownStatus"]?.string == "NONE")
        #expect(web["Health"]?.description == "{}", "a health check not yet run")
        #expect(AgentShapes.problems(web, AgentShapes.containerV4).isEmpty)
    }

    @Test func unknownIdsGetTheAgentsErrorsPerVersion() async throws {
        let e = Self.endpoint(try Self.snapshot())
        let tail = "unable to get task arn from request: unable to get task Arn from v3 endpoint ID: nope"
        let cases: [(String, Int, String)] = [
            ("/v4/nope", 404, "V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: nope"),
            ("/v4/", 404, "V4 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: "),
            ("/v4/nope/task", 404, "V4 task metadata handler: " + tail),
            ("/v4/nope/stats", 404, "V4 container stats handler: " + tail),
            ("/v4/nope/task/stats", 404, "V4 task stats handler: " + tail),
            ("/v3/nope", 500, "V3 container metadata handler: unable to get container ID from request: unable to get docker ID from v3 endpoint ID: nope"),
            ("/v3/nope/task", 500, "V3 task metadata handler: " + tail),
            ("/v3/nope/stats", 400, "V3 container stats handler: " + tail),
            ("/v3/nope/task/stats", 400, "V3 task stats handler: " + tail),
            ("/v2/metadata/nope", 400, "Unable to generate metadata for container 'nope'"),
            ("/v2/stats/nope", 400, "Unable to get container stats for: nope"),
            ("/v4/\(Self.web)/associations/gpu/x", 400, "Unable to write container association response: unable to get association from association type gpu and association name x"),
        ]
        for (path, status, message) in cases {
            let (s, headers, body) = await get(e, path)
            #expect(s == status && body == "\"\(message)\"", "\(path): \(s) \(body)")
            #expect(headers.contains { $0 == ("Content-Type", "application/json") })
        }
        #expect(await get(e, "/v4/\(Self.web)/associations/gpu").2 == #"{"Associations":null}"#)
    }

    @Test func unknownPathsAndUncleanOnesAsGoAnswersThem() async throws {
        let e = Self.endpoint(try Self.snapshot())
        let (s, headers, body) = await get(e, "/v4/\(Self.web)/tasks")
        #expect(s == 404 && body == "404 page not found\n")
        #expect(headers.contains { $0 == ("Content-Type", "text/plain; charset=utf-8") } && headers.contains { $0 == ("X-Content-Type-Options", "nosniff") })
        let (r, rh, _) = await get(e, "//v4/x/..//\(Self.web)?a=1")
        #expect(r == 301 && rh.contains { $0 == ("Location", "/v4/\(Self.web)?a=1") })
        // Every answer has the rate limiter's headers and a Date.
        for h in ["X-Rate-Limit-Limit", "X-Rate-Limit-Duration", "X-Rate-Limit-Request-Forwarded-For", "X-Rate-Limit-Request-Remote-Addr", "Date"] {
            #expect(headers.contains { $0.0 == h }, "\(h)")
        }
        #expect(headers.contains { $0 == ("X-Rate-Limit-Request-Remote-Addr", "169.254.170.2:40000") })
    }

    @Test func theTasksCredentialsForItsIdOnlyWithTheAgentsErrors() async throws {
        let e = Self.endpoint(try Self.snapshot())
        let (s, _, body) = await get(e, "/v2/credentials/6c869dee-68a9-40a2-80a3-3629aa766431")
        #expect(s == 200)
        let json = try OrderedJSON.parse(body)
        #expect(AgentShapes.problems(json, AgentShapes.credentials).isEmpty, "\(body)")
        #expect(json["RoleArn"]?.string == "arn:aws:iam::111122223333:role/web" && json["AccessKeyId"]?.string == "AKIAEXAMPLE" && json["Token"]?.string == "")
        let expiration = try #require(json["Expiration"]?.string.flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(expiration.timeIntervalSinceNow > 15 * 60, "far enough ahead that an SDK does not refresh at once")
        #expect(await get(e, "/v1/credentials?id=6c869dee-68a9-40a2-80a3-3629aa766431").0 == 200)
        for (path, status, body) in [
            ("/v2/credentials/", 400, #"{"code":"NoIdInRequest","message":"CredentialsV2Request: No Credential ID in the request","HTTPErrorCode":400}"#),
            ("/v1/credentials", 400, #"{"code":"NoIdInRequest","message":"CredentialsV1Request: No Credential ID in the request","HTTPErrorCode":400}"#),
            ("/v2/credentials/6c869dee-68a9-40a2-80a3-3629aa766432", 400, #"{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400}"#),
            ("/v1/credentials?id=x", 400, #"{"code":"InvalidIdInRequest","message":"CredentialsV1Request: Credentials not found","HTTPErrorCode":400}"#),
        ] {
            let answer = await get(e, path)
            #expect(answer.0 == status && answer.2 == body, "\(path): \(answer.2)")
        }
        // Credentials that cannot be found: the agent's "not arrived yet".
        let none = Self.endpoint(try Self.snapshot(), environment: ["HOME": "/nonexistent"])
        let (u, _, ub) = await get(none, "/v2/credentials/6c869dee-68a9-40a2-80a3-3629aa766431")
        #expect(u == 503 && ub == #"{"code":"CredentialsUninitialized","message":"CredentialsV2Request: Credentials uninitialized for ID","HTTPErrorCode":503}"#)
        // A task without a role has no credentials at any id, its own endpoint's included.
        let roleless = Self.endpoint(try Self.snapshot(credentials: false))
        #expect(await get(roleless, "/v2/credentials/6c869dee-68a9-40a2-80a3-3629aa766431").0 == 400)
    }

    @Test func scaleInProtectionIsKeptAndTheAgentsErrorsGiven() async throws {
        let e = Self.endpoint(try Self.snapshot())
        let path = "/api/\(Self.web)/task-protection/v1/state"
        let (s0, _, b0) = await get(e, path)
        #expect(s0 == 200 && b0 == #"{"protection":{"ExpirationDate":null,"ProtectionEnabled":false,"TaskArn":"arn:aws:ecs:us-east-1:111122223333:task/demo/5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b"}}"#, "\(b0)")
        let (s1, _, b1) = await get(e, path, method: "PUT", body: #"{"protectionEnabled": true, "ExpiresInMinutes": 60}"#)
        #expect(s1 == 200, "\(b1)")
        let p = try OrderedJSON.parse(b1)
        #expect(AgentShapes.problems(p, AgentShapes.protection).isEmpty, "\(b1)")
        #expect(p["protection"]?["ProtectionEnabled"]?.description == "true")
        let until = try #require(p["protection"]?["ExpirationDate"]?.string.flatMap { s -> Date? in
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            return f.date(from: s) ?? ISO8601DateFormatter().date(from: s)
        })
        #expect(abs(until.timeIntervalSinceNow - 3600) < 60)
        #expect(await get(e, path).2.contains(#""ProtectionEnabled":true"#), "GET gives it back")
        let arn = "arn:aws:ecs:us-east-1:111122223333:task/demo/5f1e0c9a7b3d4e2f8a6b1c0d9e8f7a6b"
        for (method, body, status, answer) in [
            ("PUT", "", 400, #"{"error":{"Code":"InvalidParameterException","Message":"UpdateTaskProtection: failed to decode request"}}"#),
            ("PUT", #"{"ProtectionEnabled": true, "Other": 1}"#, 400, #"{"error":{"Code":"InvalidParameterException","Message":"UpdateTaskProtection: failed to decode request"}}"#),
            ("PUT", #"{"ExpiresInMinutes": 5}"#, 400, #"{"error":{"Arn":"\#(arn)","Code":"InvalidParameterException","Message":"Invalid request: does not contain 'ProtectionEnabled' field"}}"#),
            ("POST", "", 405, ""),
        ] {
            let a = await get(e, path, method: method, body: body)
            #expect(a.0 == status && a.2 == answer, "\(method) \(body): \(a.0) \(a.2)")
        }
        let far = await get(e, path, method: "PUT", body: #"{"ProtectionEnabled": true, "ExpiresInMinutes": 3000}"#)
        #expect(far.0 == 400 && far.2.hasPrefix(#"{"requestID":""#) && far.2.contains("InvalidParameterException"), "\(far.2)")
        #expect(await get(e, "/api/nope/task-protection/v1/state").2 == #"{"error":{"Code":"ResourceNotFoundException","Message":"Failed to find a task for the request"}}"#)
        let roleless = Self.endpoint(try Self.snapshot(credentials: false))
        let denied = await get(roleless, path)
        #expect(denied.0 == 403 && denied.2 == #"{"error":{"Arn":"\#(arn)","Code":"AccessDeniedException","Message":"Invalid Request: no task IAM role credentials available for task"}}"#)
    }

    @Test func aFloodIsCutAtTheAgentsRateWithItsAnswer() throws {
        let limiter = RateLimiter()
        let start = ContinuousClock.now
        let allowed = (0..<100).filter { _ in limiter.allow("a /v4/x", now: start) }.count
        #expect(allowed == 60, "a burst of 60")
        #expect(limiter.allow("b /v4/x", now: start), "per caller")
        #expect(limiter.allow("a /v4/x/task", now: start), "per path, as tollbooth keys it")
        let later = start + .milliseconds(500)
        #expect((0..<100).filter { _ in limiter.allow("a /v4/x", now: later) }.count == 20, "40 a second after")
        let e = Self.endpoint(try Self.snapshot())
        var request = HTTPRequest(method: "GET", path: "/v4/x", peer: "169.254.170.2")
        request.peerPort = 1
        let answers = (0..<100).compactMap { _ in e.gate(request) }
        // 40 of the 100 (a token may come back while they are asked).
        #expect((35...40).contains(answers.count), "\(answers.count)")
        let refused = try #require(answers.first)
        #expect(refused.status == 429 && String(decoding: refused.body, as: UTF8.self) == "You have reached maximum request limit.")
        #expect(refused.headers.contains { $0 == ("Content-Type", "text/plain; charset=utf-8") } && refused.headers.contains { $0.0 == "X-Rate-Limit-Limit" })
    }

    @Test func theLimiterForgetsQuietCallersRatherThanGrow() {
        let limiter = RateLimiter(maxKeys: 8)
        let t = ContinuousClock.now
        for i in 0..<100 { _ = limiter.allow("k\(i)", now: t + .seconds(Double(i) * 2)) }
        #expect(limiter.allow("k99", now: t + .seconds(198)), "the newest is kept")
    }
}
