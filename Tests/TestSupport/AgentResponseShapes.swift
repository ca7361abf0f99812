import Foundation

/// The ECS agent's response types, field by field in their declaration order (the order Go
/// writes them), with whether each is always written (no `omitempty`) and its JSON type. Taken
/// from the agent's Go types, not from fargate-run's output: amazon-ecs-agent 1.105
/// `ecs-agent/tmds/handlers/v2/response.go` (TaskResponse, ContainerResponse, LimitsResponse,
/// HealthStatus, ErrorResponse), `handlers/response/response.go` (PortResponse, Network,
/// VolumeResponse), `handlers/v4/state/response.go` (the v4 types, which embed the v2 ones:
/// their own `Containers` and `Networks` come after the embedded fields), Docker's
/// `api/types/stats.go` as the agent vendors it (StatsJSON), `ecs-agent/stats/types.go`
/// (NetworkStatsPerSec), `ecs-agent/credentials/manager.go` (IAMRoleCredentials),
/// `handlers/utils/helpers.go` (ErrorMessage) and the task protection types.
public enum AgentShapes {
    public indirect enum Shape: Sendable {
        case string
        /// An RFC 3339 time (Go's time.Time).
        case time
        case number
        case integer
        case bool
        case object([Field])
        case array(Shape)
        /// A Go map: any keys, sorted, values of one shape.
        case map(Shape)
        /// A value that may also be JSON null (a Go slice that was nil).
        case nullable(Shape)
    }

    public struct Field: Sendable {
        public var name: String
        public var always: Bool
        public var shape: Shape
    }

    static func a(_ name: String, _ shape: Shape) -> Field { Field(name: name, always: true, shape: shape) }
    static func o(_ name: String, _ shape: Shape) -> Field { Field(name: name, always: false, shape: shape) }

    static let limits = Shape.object([o("CPU", .number), o("Memory", .integer)])
    static let port = Shape.object([o("ContainerPort", .integer), o("Protocol", .string), o("HostPort", .integer), o("HostIp", .string)])
    static let networkBase = [o("NetworkMode", .string), o("IPv4Addresses", .array(.string)), o("IPv6Addresses", .array(.string))]
    static let network = Shape.object(networkBase)
    static let networkV4 = Shape.object(networkBase + [
        o("AttachmentIndex", .integer), o("MACAddress", .string), o("IPv4SubnetCIDRBlock", .string), o("IPv6SubnetCIDRBlock", .string),
        o("DomainNameServers", .array(.string)), o("DomainNameSearchList", .array(.string)), o("PrivateDNSName", .string),
        o("SubnetGatewayIpv4Address", .string), o("SubnetGatewayIpv6Address", .string),
    ])
    static let health = Shape.object([o("status", .string), o("statusSince", .time), o("exitCode", .integer), o("output", .string)])
    static let volume = Shape.object([o("DockerName", .string), o("Source", .string), o("Destination", .string)])
    static let errorResponse = Shape.object([o("ErrorField", .string), o("ErrorCode", .string), o("ErrorMessage", .string),
                                             o("StatusCode", .integer), o("RequestId", .string), o("ResourceARN", .string)])

    /// v2 `ContainerResponse`; `networks` nil leaves its Networks out (v4 adds its own after).
    static func containerFields(networks: Bool) -> [Field] {
        [a("DockerId", .string), a("Name", .string), a("DockerName", .string), a("Image", .string), a("ImageID", .string),
         o("Ports", .array(port)), o("Labels", .map(.string)), a("DesiredStatus", .string), a("KnownStatus", .string),
         o("ExitCode", .integer), a("Limits", limits), o("CreatedAt", .time), o("StartedAt", .time), o("FinishedAt", .time),
         a("Type", .string)] + (networks ? [o("Networks", .array(network))] : [])
            + [o("Health", health), o("Volumes", .array(volume)), o("LogDriver", .string), o("LogOptions", .map(.string)),
               o("ContainerARN", .string)]
    }

    /// v2 and v3 containers (`/v2/metadata/ID`, `/v3/ID`).
    public static let containerV2 = Shape.object(containerFields(networks: true))
    /// v4 containers (`/v4/ID`).
    public static let containerV4 = Shape.object(containerFields(networks: false) + [
        o("Networks", .array(networkV4)), o("Snapshotter", .string), o("RestartCount", .integer),
    ])

    static func taskFields(containers: Shape?) -> [Field] {
        [a("Cluster", .string), a("TaskARN", .string), a("Family", .string), a("Revision", .string), o("DesiredStatus", .string),
         a("KnownStatus", .string)] + (containers.map { [o("Containers", .array($0))] } ?? [])
            + [o("Limits", limits), o("PullStartedAt", .time), o("PullStoppedAt", .time), o("ExecutionStoppedAt", .time),
               o("AvailabilityZone", .string), o("TaskTags", .map(.string)), o("ContainerInstanceTags", .map(.string)),
               o("LaunchType", .string), o("Errors", .array(errorResponse))]
    }

    /// v2 and v3 tasks (`/v2/metadata`, `/v3/ID/task`).
    public static let taskV2 = Shape.object(taskFields(containers: containerV2))
    /// v4 tasks (`/v4/ID/task`).
    public static let taskV4 = Shape.object(taskFields(containers: nil) + [
        o("Containers", .array(containerV4)), o("VPCID", .string), o("ServiceName", .string), o("Group", .string),
        o("ClockDrift", .object([o("ClockErrorBound", .number), o("ReferenceTimestamp", .time), o("ClockSynchronizationStatus", .string)])),
        o("EphemeralStorageMetrics", .object([a("Utilized", .integer), a("Reserved", .integer)])),
        a("FaultInjectionEnabled", .bool), o("AvailabilityZoneID", .string),
    ])

    static let cpuStats = Shape.object([
        a("cpu_usage", .object([a("total_usage", .integer), o("percpu_usage", .array(.integer)), a("usage_in_kernelmode", .integer),
                                a("usage_in_usermode", .integer)])),
        o("system_cpu_usage", .integer), o("online_cpus", .integer),
        a("throttling_data", .object([a("periods", .integer), a("throttled_periods", .integer), a("throttled_time", .integer)])),
    ])
    static let blkioEntry = Shape.object([a("major", .integer), a("minor", .integer), a("op", .string), a("value", .integer)])
    static let statsFields: [Field] = [
        a("read", .time), a("preread", .time), a("pids_stats", .object([o("current", .integer), o("limit", .integer)])),
        a("blkio_stats", .object(["io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
                                  "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive"]
                                    .map { a($0, .nullable(.array(blkioEntry))) })),
        a("num_procs", .integer),
        a("storage_stats", .object([o("read_count_normalized", .integer), o("read_size_bytes", .integer), o("write_count_normalized", .integer),
                                    o("write_size_bytes", .integer)])),
        a("cpu_stats", cpuStats), a("precpu_stats", cpuStats),
        a("memory_stats", .object([o("usage", .integer), o("max_usage", .integer), o("stats", .map(.integer)), o("failcnt", .integer),
                                   o("limit", .integer), o("commitbytes", .integer), o("commitpeakbytes", .integer),
                                   o("privateworkingset", .integer)])),
        o("name", .string), o("id", .string),
        o("networks", .map(.object(["rx_bytes", "rx_packets", "rx_errors", "rx_dropped", "tx_bytes", "tx_packets", "tx_errors", "tx_dropped"]
                                        .map { a($0, .integer) } + [o("endpoint_id", .string), o("instance_id", .string)]))),
    ]
    /// Docker's StatsJSON (`/v2/stats/ID`, `/v3/ID/stats`).
    public static let statsV2 = Shape.object(statsFields)
    /// v4's StatsResponse (`/v4/ID/stats`): StatsJSON and network_rate_stats.
    public static let statsV4 = Shape.object(statsFields + [
        o("network_rate_stats", .object([a("rx_bytes_per_sec", .number), a("tx_bytes_per_sec", .number)])),
    ])

    /// `/v2/credentials/ID`.
    public static let credentials = Shape.object([a("RoleArn", .string), a("AccessKeyId", .string), a("SecretAccessKey", .string),
                                                  a("Token", .string), a("Expiration", .time)])
    /// The credentials handlers' errors.
    public static let credentialsError = Shape.object([a("code", .string), a("message", .string), a("HTTPErrorCode", .integer)])
    /// `/api/ID/task-protection/v1/state`.
    public static let protection = Shape.object([
        o("requestID", .string),
        o("protection", .object([a("ExpirationDate", .nullable(.time)), a("ProtectionEnabled", .bool), a("TaskArn", .string)])),
        o("failure", .object([a("Arn", .nullable(.string)), a("Detail", .nullable(.string)), a("Reason", .nullable(.string))])),
        o("error", .object([o("Arn", .string), a("Code", .string), a("Message", .string)])),
    ])

    /// What in `json` does not fit `shape`: keys it lacks, keys it has no field for, keys out of
    /// the declared order, values of another type. Empty when it fits.
    public static func problems(_ json: OrderedJSON, _ shape: Shape, at path: String = "$") -> [String] {
        switch (shape, json) {
        case (.nullable, .null): return []
        case (.nullable(let inner), _): return problems(json, inner, at: path)
        case (.string, .string), (.number, .number), (.bool, .bool): return []
        case (.integer, .number(let n)): return n.contains(".") || n.contains("e") ? ["\(path): \(n) is not an integer"] : []
        case (.time, .string(let s)):
            return s.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$"#, options: .regularExpression) == nil
                ? ["\(path): \(s) is not an RFC 3339 time"] : []
        case (.array(let item), .array(let items)):
            return items.enumerated().flatMap { problems($1, item, at: "\(path)[\($0)]") }
        case (.map(let value), .object(let members)):
            var out: [String] = []
            let keys = members.map(\.0)
            if keys != keys.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) { out.append("\(path): map keys not sorted: \(keys)") }
            for (k, v) in members { out += problems(v, value, at: "\(path).\(k)") }
            return out
        case (.object(let fields), .object(let members)):
            var out: [String] = []
            var next = 0
            for (key, value) in members {
                guard let i = fields.firstIndex(where: { $0.name == key }) else {
                    out.append("\(path): \(key) is not a field of the agent's type")
                    continue
                }
                if i < next { out.append("\(path): \(key) comes after \(fields[next - 1].name) in the agent's type") }
                next = max(next, i + 1)
                out += problems(value, fields[i].shape, at: "\(path).\(key)")
            }
            for f in fields where f.always && !members.contains(where: { $0.0 == f.name }) {
                out.append("\(path): \(f.name) is always written by the agent")
            }
            return out
        default:
            return ["\(path): \(json) does not have the agent's type \(shape)"]
        }
    }
}

/// JSON read with its objects' members in their order (Foundation's reader loses it).
public indirect enum OrderedJSON: Sendable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    public subscript(_ key: String) -> OrderedJSON? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.0 == key }?.1
    }

    public subscript(_ i: Int) -> OrderedJSON? {
        guard case .array(let items) = self, items.indices.contains(i) else { return nil }
        return items[i]
    }

    public var keys: [String] {
        guard case .object(let members) = self else { return [] }
        return members.map(\.0)
    }

    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
    public var number: Double? { if case .number(let n) = self { return Double(n) } else { return nil } }
    public var uint: UInt64? { if case .number(let n) = self { return UInt64(n) } else { return nil } }

    public var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return n
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let m): return "{" + m.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        }
    }

    public struct SyntaxError: Error, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ text: String) throws -> OrderedJSON {
        var p = Parser(bytes: Array(text.utf8))
        let v = try p.value()
        p.blank()
        guard p.i == p.bytes.count else { throw SyntaxError(description: "trailing bytes at \(p.i) in \(text.prefix(200))") }
        return v
    }

    struct Parser {
        let bytes: [UInt8]
        var i = 0

        mutating func blank() { while i < bytes.count, [0x20, 0x09, 0x0a, 0x0d].contains(bytes[i]) { i += 1 } }

        mutating func value() throws -> OrderedJSON {
            blank()
            guard i < bytes.count else { throw SyntaxError(description: "end of input") }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var members: [(String, OrderedJSON)] = []
                blank()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                while true {
                    blank()
                    guard case .string(let key) = try value() else { throw SyntaxError(description: "key expected at \(i)") }
                    blank()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw SyntaxError(description: ": expected at \(i)") }
                    i += 1
                    members.append((key, try value()))
                    blank()
                    guard i < bytes.count else { throw SyntaxError(description: "end in object") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(members) }
                    throw SyntaxError(description: ", or } expected at \(i)")
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [OrderedJSON] = []
                blank()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    items.append(try value())
                    blank()
                    guard i < bytes.count else { throw SyntaxError(description: "end in array") }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    throw SyntaxError(description: ", or ] expected at \(i)")
                }
            case UInt8(ascii: "\""):
                // The string's bytes, its escapes decoded by Foundation's reader.
                var j = i + 1
                while j < bytes.count, bytes[j] != UInt8(ascii: "\"") { j += bytes[j] == UInt8(ascii: "\\") ? 2 : 1 }
                guard j < bytes.count else { throw SyntaxError(description: "unterminated string") }
                let raw = Data(bytes[i...j])
                i = j + 1
                guard let s = try JSONSerialization.jsonObject(with: raw, options: .fragmentsAllowed) as? String else {
                    throw SyntaxError(description: "bad string at \(j)")
                }
                return .string(s)
            case UInt8(ascii: "t") where bytes[i...].starts(with: Array("true".utf8)): i += 4; return .bool(true)
            case UInt8(ascii: "f") where bytes[i...].starts(with: Array("false".utf8)): i += 5; return .bool(false)
            case UInt8(ascii: "n") where bytes[i...].starts(with: Array("null".utf8)): i += 4; return .null
            default:
                let start = i
                while i < bytes.count, "-+.eE0123456789".utf8.contains(bytes[i]) { i += 1 }
                guard i > start else { throw SyntaxError(description: "unexpected byte at \(i)") }
                return .number(String(decoding: bytes[start..<i], as: UTF8.self))
            }
        }
    }
}
