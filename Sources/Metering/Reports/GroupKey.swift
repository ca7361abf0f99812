import Foundation

/// What `report --group-by` groups costs by.
public enum GroupKey: Hashable, Sendable, CustomStringConvertible {
    /// One row per task (the report without --group-by).
    case task
    case family
    /// family:revision
    case revision
    /// The ECS service, from the group "service:NAME".
    case service
    case cluster
    case startedBy
    /// RunTask's group.
    case group
    /// UTC day or hour: a task's cost is split over the days or hours its billed time spans.
    case day
    case hour
    case tag(String)

    public static let names = ["family", "revision", "service", "cluster", "started-by", "group", "day", "hour", "tag:KEY"]

    /// Parses one key, or a comma-separated list ("family,day").
    public static func parseList(_ text: String) throws -> [GroupKey] {
        try text.split(separator: ",").map { try parse(String($0).trimmingCharacters(in: .whitespaces)) }
    }

    public static func parse(_ text: String) throws -> GroupKey {
        switch text.lowercased() {
        case "family": return .family
        case "revision": return .revision
        case "service": return .service
        case "cluster": return .cluster
        case "started-by", "startedby": return .startedBy
        case "group": return .group
        case "day": return .day
        case "hour": return .hour
        case "task": return .task
        default:
            if text.lowercased().hasPrefix("tag:") {
                let key = String(text.dropFirst(4))
                guard !key.isEmpty else { throw ReportError.badInput("--group-by \(text): name the tag, as tag:team") }
                return .tag(key)
            }
            throw ReportError.badInput("--group-by \"\(text)\" is not a key: use \(names.joined(separator: ", "))")
        }
    }

    public var description: String {
        switch self {
        case .task: return "task"
        case .family: return "family"
        case .revision: return "revision"
        case .service: return "service"
        case .cluster: return "cluster"
        case .startedBy: return "started-by"
        case .group: return "group"
        case .day: return "day"
        case .hour: return "hour"
        case .tag(let k): return "tag:" + k
        }
    }

    /// Whether the key splits a task's cost over time.
    public var isTime: Bool { self == .day || self == .hour }

    /// The key's value for a record's cost in the interval starting at `startMicros`.
    func value(_ r: BillingRecord, at startMicros: Int64) -> String {
        switch self {
        case .task: return r.taskArn
        case .family: return r.family
        case .revision: return "\(r.family):\(r.revision)"
        case .service: return r.service ?? GroupKey.none
        case .cluster: return r.cluster ?? GroupKey.none
        case .startedBy: return r.startedBy ?? GroupKey.none
        case .group: return r.group ?? GroupKey.none
        case .day: return GroupKey.utc(startMicros, hour: false)
        case .hour: return GroupKey.utc(startMicros, hour: true)
        case .tag(let k): return r.tags[k] ?? GroupKey.none
        }
    }

    /// What a record without the attribute shows.
    public static let none = "(none)"

    /// "2026-12-06T03:04:05Z" (whole seconds, rounded down; no formatter).
    static func iso(_ d: Date) -> String {
        var out = ReportText(capacity: 20)
        out.append(isoMicros: Int64(d.timeIntervalSince1970.rounded(.down)) * 1_000_000)
        return out.string
    }

    /// "2026-12-06" or "2026-12-06T03:00Z".
    static func utc(_ micros: Int64, hour: Bool) -> String {
        var out = ReportText(capacity: 20)
        out.append(isoMicros: micros)
        // "YYYY-MM-DDTHH:MM:SSZ" → "YYYY-MM-DD" or "YYYY-MM-DDTHH" + ":00Z"
        out.bytes.removeLast(hour ? 7 : 10)
        if hour { out.append(":00Z") }
        return out.string
    }
}
