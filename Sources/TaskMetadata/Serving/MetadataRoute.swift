/// The agent's routes (`agent/handlers/task_server_setup.go`, gorilla/mux), matched against a
/// request's path. `{id}` is `[^/]*` (it may be empty), the credentials id `.*`, a v2 container
/// id and an association name `.+`.
enum MetadataRoute: Equatable {
    case credentialsV1
    case credentialsV2(id: String)
    case v2Task(withTags: Bool)
    case v2Container(id: String)
    case v2TaskStats
    case v2ContainerStats(id: String)
    case container(MetadataVersion, id: String)
    case task(MetadataVersion, id: String, withTags: Bool)
    case containerStats(MetadataVersion, id: String)
    case taskStats(MetadataVersion, id: String)
    /// `name` nil: the list; "" stands for the `/associations/{type}/` form, which has none.
    case associations(MetadataVersion, id: String, type: String, name: String?)
    case protection(id: String)
    /// A path mux cleans (`//`, `.`, `..`): 301 to the clean one.
    case redirect(String)
    case notFound

    init(path: String) {
        let clean = MetadataRoute.clean(path)
        if clean != path {
            self = .redirect(clean)
            return
        }
        self = MetadataRoute.match(path)
    }

    static func match(_ path: String) -> MetadataRoute {
        if path == "/v1/credentials" { return .credentialsV1 }
        if path.hasPrefix("/v2/credentials/") { return .credentialsV2(id: String(path.dropFirst("/v2/credentials/".count))) }
        switch path {
        case "/v2/metadata", "/v2/metadata/": return .v2Task(withTags: false)
        case "/v2/metadataWithTags", "/v2/metadataWithTags/": return .v2Task(withTags: true)
        case "/v2/stats", "/v2/stats/": return .v2TaskStats
        default: break
        }
        if path.hasPrefix("/v2/metadata/") { return .v2Container(id: String(path.dropFirst("/v2/metadata/".count))) }
        if path.hasPrefix("/v2/stats/") { return .v2ContainerStats(id: String(path.dropFirst("/v2/stats/".count))) }
        // Split keeping empty parts: "/v4/" is ["", "v4", ""].
        let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 3, parts[0].isEmpty else { return .notFound }
        let id = parts[2]
        let rest = Array(parts.dropFirst(3))
        if parts[1] == "api" {
            return rest == ["task-protection", "v1", "state"] ? .protection(id: id) : .notFound
        }
        let version: MetadataVersion
        switch parts[1] {
        case "v3": version = .v3
        case "v4": version = .v4
        default: return .notFound
        }
        switch rest {
        case []: return .container(version, id: id)
        case ["task"]: return .task(version, id: id, withTags: false)
        case ["taskWithTags"]: return .task(version, id: id, withTags: true)
        case ["stats"]: return .containerStats(version, id: id)
        case ["task", "stats"]: return .taskStats(version, id: id)
        default: break
        }
        guard rest.count >= 2, rest[0] == "associations" else { return .notFound }
        let type = rest[1]
        if rest.count == 2 { return .associations(version, id: id, type: type, name: nil) }
        let name = rest.dropFirst(2).joined(separator: "/")
        return .associations(version, id: id, type: type, name: name)
    }

    /// gorilla/mux's cleanPath: Go's path.Clean, keeping a trailing slash.
    static func clean(_ p: String) -> String {
        if p.isEmpty { return "/" }
        let rooted = p.hasPrefix("/") ? p : "/" + p
        var out: [Substring] = []
        for part in rooted.split(separator: "/", omittingEmptySubsequences: true) {
            if part == "." { continue }
            if part == ".." { _ = out.popLast(); continue }
            out.append(part)
        }
        var cleaned = "/" + out.joined(separator: "/")
        if rooted.hasSuffix("/"), cleaned != "/" { cleaned += "/" }
        return cleaned
    }
}
