#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// The task metadata endpoint and task-role credentials, read by real clients (busybox wget and
/// nc) inside real tasks. Every request goes to 169.254.170.2 inside a task's own network
/// namespace, where the address is on the loopback: each script first checks that it is, and
/// sends nothing otherwise (on the machines this is built on, 169.254.170.2 outside a task is
/// routed off the machine and answers).
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct MetadataEndpointTests {
    static let role = "arn:aws:iam::123456789012:role/app"

    /// The script's first lines: stop unless 169.254.170.2 is this namespace's own; `get NAME
    /// URL` prints `@@ NAME STATUS` and the body (wget's message on an error); `raw NAME PATH`
    /// prints `@@ NAME 0` and the status line and the body of an HTTP/1.0 exchange (nc), for
    /// the error bodies wget does not show (Go answers HTTP/1.0 to HTTP/1.0, as this does). nc's input ends with the request, so nc
    /// half-closes the connection before the answer is in: it is answered all the same, as Go's server answers it.
    static let prelude = #"""
        ip -o addr show dev lo | grep -q 'inet 169.254.170.2/' || { echo '@@ no-endpoint-address 1'; exit 3; }
        get() { out=$(timeout 5 wget -qO- "$2" 2>&1); rc=$?; echo "@@ $1 $rc"; echo "$out"; }
        raw() { echo "@@ $1 0"; printf 'GET %s HTTP/1.0\r\nHost: 169.254.170.2\r\n\r\n' "$2" | timeout 5 nc 169.254.170.2 80 | tr -d '\r' | sed -n '1p;$p' | tr '\n' ' '; echo; }

        """#

    /// An environment for fargate-run with made-up AWS credentials and none of this machine's
    /// (no ~/.aws, no AWS_ variables), so tests never serve real ones.
    static func awsEnvironment(_ dir: String, keys: Bool = true) -> [String: String] {
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("AWS_") }
        env["HOME"] = dir
        env["AWS_SHARED_CREDENTIALS_FILE"] = dir + "/aws-credentials"
        env["AWS_CONFIG_FILE"] = dir + "/aws-config"
        if keys {
            env["AWS_ACCESS_KEY_ID"] = "AKIAFARGATERUNTEST01"
            env["AWS_SECRET_ACCESS_KEY"] = "fargate-run-test-secret"
            env["AWS_SESSION_TOKEN"] = "fargate-run-test-token"
        }
        return env
    }

    /// A task definition as JSON (scripts need no escaping by hand).
    static func definition(_ family: String, role: String? = MetadataEndpointTests.role, _ containers: [[String: Any]]) throws -> String {
        var d: [String: Any] = ["family": family, "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": containers]
        if let role { d["taskRoleArn"] = role }
        return String(decoding: try JSONSerialization.data(withJSONObject: d), as: UTF8.self)
    }

    /// `@@ NAME STATUS` sections of a log: the body lines that follow each, by name.
    static func sections(_ log: String) -> [String: (status: Int, body: String)] {
        var out: [String: (Int, String)] = [:]
        var current: (String, Int)?
        var body: [Substring] = []
        func flush() { if let c = current { out[c.0] = (c.1, body.joined(separator: "\n")) } }
        for line in log.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("@@ ") {
                flush()
                let words = line.split(separator: " ")
                current = (String(words[1]), words.count > 2 ? Int(words[2]) ?? -1 : -1)
                body = []
            } else if current != nil, !line.hasPrefix("@env ") {
                body.append(line)
            }
        }
        flush()
        return out
    }

    static func env(_ log: String) -> [String: String] {
        var out: [String: String] = [:]
        for line in log.split(separator: "\n") where line.hasPrefix("@env ") {
            let kv = line.dropFirst(5).split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            out[String(kv[0])] = kv.count > 1 ? String(kv[1]) : ""
        }
        return out
    }

    func log(_ h: Harness, _ id: String, _ container: String) -> String {
        (try? String(contentsOfFile: h.root + "/tasks/\(id)/logs/\(container).log", encoding: .utf8)) ?? ""
    }

    // MARK: Every path

    @Test func everyPathAnswersInsideTheTaskWithTheAgentsFields() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let script = MetadataEndpointTests.prelude + #"""
            env | grep -E '^(ECS_|AWS_)' | sort | sed 's/^/@env /'
            id=${ECS_CONTAINER_METADATA_URI_V4##*/}
            side=$(timeout 5 wget -qO- "$ECS_CONTAINER_METADATA_URI_V4/task" | sed 's/.*"DockerId":"\([^"]*\)","Name":"side".*/\1/')
            get v4-task "$ECS_CONTAINER_METADATA_URI_V4/task"
            get v4-stats-first "$ECS_CONTAINER_METADATA_URI_V4/stats"
            sleep 2
            get v4-container "$ECS_CONTAINER_METADATA_URI_V4"
            get v4-task-with-tags "$ECS_CONTAINER_METADATA_URI_V4/taskWithTags"
            get v4-stats "$ECS_CONTAINER_METADATA_URI_V4/stats"
            get v4-task-stats "$ECS_CONTAINER_METADATA_URI_V4/task/stats"
            get v3-container "$ECS_CONTAINER_METADATA_URI"
            get v3-task "$ECS_CONTAINER_METADATA_URI/task"
            get v3-stats "$ECS_CONTAINER_METADATA_URI/stats"
            get v3-task-stats "$ECS_CONTAINER_METADATA_URI/task/stats"
            get v2-metadata http://169.254.170.2/v2/metadata
            get v2-metadata-container "http://169.254.170.2/v2/metadata/$side"
            get v2-stats http://169.254.170.2/v2/stats
            get v2-stats-container "http://169.254.170.2/v2/stats/$id"
            get credentials "http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
            get credentials-v1 "http://169.254.170.2/v1/credentials?id=${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI##*/}"
            get protection "$ECS_AGENT_URI/task-protection/v1/state"
            body='{"ProtectionEnabled":true,"ExpiresInMinutes":60}'
            echo "@@ protection-put 0"
            { printf 'PUT /api/%s/task-protection/v1/state HTTP/1.0\r\nHost: 169.254.170.2\r\nContent-Type: application/json\r\nContent-Length: %s\r\n\r\n%s' "$id" "${#body}" "$body"; } \
              | timeout 5 nc 169.254.170.2 80 | tr -d '\r' | tail -n 1; echo
            get protection-after "$ECS_AGENT_URI/task-protection/v1/state"
            raw unknown-v4 /v4/nope/task
            raw unknown-credentials /v2/credentials/nope
            raw no-credentials-id /v1/credentials
            raw not-a-path /v9/x
            """#
        let t = try h.task(MetadataEndpointTests.definition("meta", [
            ["name": "app", "image": h.image, "command": ["sh", "-c", script]],
            ["name": "side", "image": h.image, "essential": false, "command": ["sleep", "1000"], "stopTimeout": 2,
             "environment": [["name": "AWS_REGION", "value": "eu-west-3"]],
             "logConfiguration": ["logDriver": "awslogs", "options": ["awslogs-group": "g", "awslogs-region": "eu-west-3", "awslogs-stream-prefix": "p"]]],
        ]))
        let r = try run(fargateRunBinary, h.withRoot(["-q", "--output", "json", "--availability-zone", "eu-west-3b", t]),
                        environment: MetadataEndpointTests.awsEnvironment(h.dir.path))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stderr.contains("note:"), "-q prints no notes (the task role's): \(r.stderr)")
        let id = try #require(h.taskIds().first)
        let text = log(h, id, "app")
        let s = MetadataEndpointTests.sections(text)
        try #require(s["no-endpoint-address"] == nil, "169.254.170.2 is not on the task's loopback: nothing was sent")

        // The environment Fargate gives (section 1.1 of the control-plane notes).
        let env = MetadataEndpointTests.env(text)
        let endpointId = try #require(env["ECS_CONTAINER_METADATA_URI_V4"]?.split(separator: "/").last.map(String.init))
        #expect(endpointId.range(of: #"^[0-9a-f]{32}-[0-9]{10}$"#, options: .regularExpression) != nil, "\(endpointId)")
        #expect(env["ECS_CONTAINER_METADATA_URI"] == "http://169.254.170.2/v3/" + endpointId)
        #expect(env["ECS_AGENT_URI"] == "http://169.254.170.2/api/" + endpointId)
        #expect(env["AWS_EXECUTION_ENV"] == "AWS_ECS_FARGATE")
        #expect(env["AWS_REGION"] == "us-east-1" && env["AWS_DEFAULT_REGION"] == "us-east-1")
        let credentialsURI = try #require(env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"])
        #expect(credentialsURI.range(of: #"^/v2/credentials/[0-9a-f-]{36}$"#, options: .regularExpression) != nil, "\(credentialsURI)")

        // Every document against the agent's own types.
        let shapes: [(String, AgentShapes.Shape)] = [
            ("v4-container", AgentShapes.containerV4), ("v4-task", AgentShapes.taskV4), ("v4-task-with-tags", AgentShapes.taskV4),
            ("v4-stats", AgentShapes.statsV4), ("v3-container", AgentShapes.containerV2), ("v3-task", AgentShapes.taskV2),
            ("v3-stats", AgentShapes.statsV2), ("v2-metadata", AgentShapes.taskV2), ("v2-metadata-container", AgentShapes.containerV2),
            ("v2-stats-container", AgentShapes.statsV2), ("credentials", AgentShapes.credentials), ("credentials-v1", AgentShapes.credentials),
            ("protection", AgentShapes.protection), ("protection-put", AgentShapes.protection), ("protection-after", AgentShapes.protection),
        ]
        var docs: [String: OrderedJSON] = [:]
        for (name, shape) in shapes {
            let section = try #require(s[name], "\(name) missing from the log:\n\(text)")
            #expect(section.status == 0, "\(name): \(section.body)")
            guard let doc = try? OrderedJSON.parse(section.body) else {
                Issue.record("\(name) is not JSON: \(section.body)")
                continue
            }
            docs[name] = doc
            #expect(AgentShapes.problems(doc, shape) == [], "\(name): \(section.body)")
        }
        // Maps of stats by DockerId: every container of the task, each in the agent's shape.
        for (name, shape) in [("v4-task-stats", AgentShapes.statsV4), ("v3-task-stats", AgentShapes.statsV2), ("v2-stats", AgentShapes.statsV2)] {
            let section = try #require(s[name])
            let doc = try OrderedJSON.parse(section.body)
            #expect(doc.keys.count == 2, "\(name): both containers: \(section.body)")
            #expect(doc.keys.contains(endpointId), "\(name): keyed by DockerId")
            #expect(AgentShapes.problems(doc, .map(shape)) == [], "\(name): \(section.body)")
        }

        // Real values.
        let task = try #require(docs["v4-task"])
        #expect(task["TaskARN"]?.string?.hasSuffix("/" + id) == true, "\(task["TaskARN"] ?? .null)")
        #expect(task["LaunchType"]?.string == "FARGATE")
        #expect(task["AvailabilityZone"]?.string == "eu-west-3b")
        #expect(task["Family"]?.string == "meta")
        #expect(task["KnownStatus"]?.string == "RUNNING")
        #expect(task["Limits"]?["CPU"]?.number == 0.25 && task["Limits"]?["Memory"]?.number == 512)
        let me = try #require(docs["v4-container"])
        #expect(me["DockerId"]?.string == endpointId)
        #expect(me["Name"]?.string == "app" && me["DockerName"]?.string == "app")
        #expect(me["ImageID"]?.string?.hasPrefix("sha256:") == true)
        let net = try #require(me["Networks"]?[0])
        let ip = try #require(net["IPv4Addresses"]?[0]?.string)
        let state = try #require(h.state(id))
        #expect(ip == (state["network"] as? [String: Any])?["ip"] as? String, "the task's own IP")
        #expect(net["MACAddress"]?.string?.count == 17)
        #expect(net["SubnetGatewayIpv4Address"]?.string?.contains("/") == true, "with the prefix, as the agent writes it")
        #expect(net["PrivateDNSName"]?.string?.isEmpty == false)
        #expect(docs["v2-metadata-container"]?["Name"]?.string == "side")
        var sideV4: OrderedJSON?
        if case .array(let list)? = task["Containers"] { sideV4 = list.first { $0["Name"]?.string == "side" } }
        #expect(sideV4?["LogDriver"]?.string == "awslogs")
        #expect(sideV4?["LogOptions"]?["awslogs-stream"]?.string == "p/side/" + id, "ECS fills the stream in (v4)")
        let stats = try #require(docs["v4-stats"])
        #expect(stats["id"]?.string == endpointId && stats["name"]?.string == "app")
        #expect(stats["precpu_stats"]?["cpu_usage"]?["total_usage"]?.uint ?? 0 > 0, "a second sample has the first as precpu")
        #expect(stats["cpu_stats"]?["online_cpus"]?.uint ?? 0 > 0 && stats["cpu_stats"]?["system_cpu_usage"]?.uint ?? 0 > 0)
        #expect(stats["memory_stats"]?["usage"]?.uint ?? 0 > 0)
        #expect(stats["networks"]?["eth0"] != nil, "networks keyed by interface: \(stats["networks"] ?? .null)")
        let credentials = try #require(docs["credentials"])
        #expect(credentials["RoleArn"]?.string == MetadataEndpointTests.role)
        #expect(credentials["AccessKeyId"]?.string == "AKIAFARGATERUNTEST01")
        #expect(credentials["Token"]?.string == "fargate-run-test-token")
        let expiration = try #require(credentials["Expiration"]?.string.flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(expiration.timeIntervalSinceNow > 15 * 60, "an Expiration SDKs keep (they refresh 15 minutes before)")
        #expect(docs["protection"]?["protection"]?["ProtectionEnabled"].map { "\($0)" } == "false")
        #expect(docs["protection-put"]?["protection"]?["ProtectionEnabled"].map { "\($0)" } == "true")
        #expect(docs["protection-after"]?["protection"]?["ExpirationDate"]?.string != nil)

        // Errors as the agent writes them.
        #expect(s["unknown-v4"]?.body.hasPrefix("HTTP/1.0 404") == true, "\(s["unknown-v4"]?.body ?? "")")
        #expect(s["unknown-v4"]?.body.contains(#""V4 task metadata handler: unable to get task arn from request"#) == true)
        for (name, status, code) in [("unknown-credentials", "400", "InvalidIdInRequest"), ("no-credentials-id", "400", "NoIdInRequest")] {
            let body = s[name]?.body ?? ""
            #expect(body.hasPrefix("HTTP/1.0 \(status)"), "\(name): \(body)")
            let json = try OrderedJSON.parse(String(body.drop { $0 != "{" }).trimmingCharacters(in: .whitespaces))
            #expect(AgentShapes.problems(json, AgentShapes.credentialsError) == [] && json["code"]?.string == code, "\(name): \(body)")
        }
        #expect(s["not-a-path"]?.body.hasPrefix("HTTP/1.0 404") == true)
        #expect(h.leftovers(id).isEmpty, "\(h.leftovers(id))")
    }

    @Test func withoutARoleOrWithNoTaskCredentialsThereIsNoCredentialsURI() throws {
        let h = try Harness()
        defer { h.cleanup() }
        let script = MetadataEndpointTests.prelude + #"""
            env | grep -E '^(ECS_|AWS_)' | sort | sed 's/^/@env /'
            raw credentials-guess /v2/credentials/00000000-0000-0000-0000-000000000000
            get protection "$ECS_AGENT_URI/task-protection/v1/state"
            """#
        for (role, flags) in [(nil as String?, [String]()), (MetadataEndpointTests.role, ["--no-task-credentials"])] {
            let t = try h.task(MetadataEndpointTests.definition("no-role", role: role, [["name": "app", "image": h.image, "command": ["sh", "-c", script]]]))
            let before = Set(h.taskIds())
            let r = try run(fargateRunBinary, h.withRoot(["-q"] + flags + [t]), environment: MetadataEndpointTests.awsEnvironment(h.dir.path))
            #expect(r.status == 0, "\(r.stderr)")
            let id = try #require(Set(h.taskIds()).subtracting(before).first)
            let text = log(h, id, "app")
            let env = MetadataEndpointTests.env(text)
            #expect(env["ECS_CONTAINER_METADATA_URI_V4"] != nil, "\(flags): the metadata endpoint is still there")
            #expect(env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] == nil, "\(flags)")
            let s = MetadataEndpointTests.sections(text)
            #expect(s["credentials-guess"]?.body.contains("InvalidIdInRequest") == true, "\(s["credentials-guess"]?.body ?? text)")
            #expect(s["protection"]?.status == 1, "no task credentials: protection is refused (403), as on ECS")
        }
    }
}
