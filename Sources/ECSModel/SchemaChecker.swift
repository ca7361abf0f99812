/// Checks a JSON document against the ECS API model's shapes (ECSSchema), reporting every
/// problem with its JSON path: unknown members (with a "did you mean"), wrong types (naming the
/// expected one and what was found), values outside an enum, integers out of range, missing
/// required members, list and string bounds.
///
/// It also returns the document with every offending member removed, so that the rest can
/// still be decoded and checked against Fargate's rules: one run reports everything.
///
/// A member whose value is `null` is taken as absent, as the deploy tools (the ECS deploy
/// GitHub action, CodeDeploy's taskdef.json) drop such members before registering: old console
/// exports are full of them.
public enum SchemaChecker {
    public static func check(_ value: JSONValue, shape: String, path: String = "") -> (issues: [ValidationIssue], cleaned: JSONValue?) {
        var issues: [ValidationIssue] = []
        let cleaned = walk(value, shape: shape, path: path, &issues)
        return (issues, cleaned)
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : path + "." + key }

    static func walk(_ value: JSONValue, shape name: String, path: String, _ issues: inout [ValidationIssue]) -> JSONValue? {
        guard let shape = ECSSchema.shapes[name] ?? ECSSchema.documentShapes[name] else { return value }
        func wrong(_ expected: String) -> JSONValue? {
            issues.append(ValidationIssue(path, "expected \(expected), found \(value.kind)"))
            return nil
        }
        /// Adds advice to the issue just recorded.
        func hint(_ text: String) -> JSONValue? {
            if let last = issues.popLast() { issues.append(ValidationIssue(last.path, last.message + " (" + text + ")")) }
            return nil
        }
        switch shape {
        case .structure(let members, let required):
            guard case .object(let pairs) = value else { return wrong("an object") }
            var kept: [(String, JSONValue)] = []
            for (key, v) in pairs where v != .null {
                guard let member = members.first(where: { $0.0 == key }) else {
                    let hint = suggestion(for: key, among: members.map(\.0)).map { ": did you mean \"\($0)\"?" }
                        ?? " (not a member of \(name == ECSSchema.document ? "a task definition" : name))"
                    issues.append(ValidationIssue(join(path, key), "unknown member\(hint)"))
                    continue
                }
                if let ok = walk(v, shape: member.1, path: join(path, key), &issues) { kept.append((key, ok)) }
            }
            for r in required where !pairs.contains(where: { $0.0 == r && $0.1 != .null }) {
                issues.append(ValidationIssue(join(path, r), "required"))
            }
            return .object(kept)
        case .list(let member, let min, let max):
            guard case .array(let items) = value else { return wrong("a list") }
            if let min, items.count < min { issues.append(ValidationIssue(path, "\(items.count) items: at least \(min) required")) }
            if let max, items.count > max {
                issues.append(ValidationIssue(path, "\(items.count) items: at most \(max) allowed"))
                return nil
            }
            var out: [JSONValue] = []
            var broken = false
            for (i, item) in items.enumerated() {
                // Items whose own members are wrong are kept (cleaned), so later checks still
                // see the list's indexes as written; an item of the wrong type drops the list.
                if let ok = walk(item, shape: member, path: path + "[\(i)]", &issues) { out.append(ok) } else { broken = true }
            }
            return broken ? nil : .array(out)
        case .map(let key, let valueShape):
            guard case .object(let pairs) = value else { return wrong("an object") }
            var out: [(String, JSONValue)] = []
            for (k, v) in pairs where v != .null {
                var sink: [ValidationIssue] = []
                _ = walk(.string(k), shape: key, path: join(path, k), &sink)
                issues += sink
                if let ok = walk(v, shape: valueShape, path: join(path, k), &issues), sink.isEmpty { out.append((k, ok)) }
            }
            return .object(out)
        case .string(let enumValues, let min, let max):
            guard case .string(let s) = value else {
                _ = wrong("a string")
                if case .number(let n) = value { return hint("write it in quotes: \"\(n)\"") }
                return nil
            }
            // Environment values, arguments and paths become C strings in the container.
            if s.utf8.contains(0) { issues.append(ValidationIssue(path, "contains a NUL character (\\u0000), which a string here cannot hold")); return nil }
            if let enumValues, !enumValues.contains(s) {
                let hint = suggestion(for: s, among: enumValues).map { " (did you mean \"\($0)\"?)" } ?? ""
                issues.append(ValidationIssue(path, "\"\(s)\" is not one of: \(enumValues.joined(separator: ", "))\(hint)"))
                return nil
            }
            if let min, s.count < min { issues.append(ValidationIssue(path, "\"\(s)\" is shorter than \(min) characters")); return nil }
            if let max, s.count > max { issues.append(ValidationIssue(path, "\(s.count) characters: at most \(max) allowed")); return nil }
            return value
        case .integer, .long:
            guard case .number(let n) = value else { return wrong("an integer") }
            let (lo, hi): (Int64, Int64) = shapeIsLong(shape) ? (Int64.min, Int64.max) : (Int64(Int32.min), Int64(Int32.max))
            guard let v = Int64(n), v >= lo, v <= hi else {
                let integral = !n.contains(".") && !n.lowercased().contains("e")
                issues.append(ValidationIssue(path, integral ? "\(n) is out of range: \(lo) to \(hi)" : "expected an integer, found \(n)"))
                return nil
            }
            return value
        case .boolean:
            guard case .bool = value else { return wrong("a boolean (true or false)") }
            return value
        case .double:
            guard case .number = value else { return wrong("a number") }
            return value
        case .timestamp:
            switch value {
            case .number: return value
            case .string(let s) where ECS.Timestamp.parse(s) != nil: return value
            default: return wrong("a timestamp (seconds since 1970, or ISO-8601)")
            }
        }
    }

    static func shapeIsLong(_ s: ECSSchema.Shape) -> Bool {
        if case .long = s { return true }
        return false
    }

    /// The closest name, when close enough to be a likely typo (or the same name in another
    /// case, or in Docker's or Compose's words for it: `portBindings` for `portMappings`).
    public static func suggestion(for word: String, among candidates: [String]) -> String? {
        let lower = word.lowercased()
        if let same = candidates.first(where: { $0.lowercased() == lower }) { return same }
        let folded = String(lower.unicodeScalars.filter { $0 != "_" && $0 != "-" })
        if let same = candidates.first(where: { $0.lowercased() == folded }) { return same }
        if let meant = otherWords[folded], let found = candidates.first(where: { $0.lowercased() == meant.lowercased() }) { return found }
        var best: (String, Int)?
        for c in candidates {
            let d = distance(lower, c.lowercased())
            if d <= max(2, c.count / 4), d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }

    /// What other tools call ECS's members (lowercased, without `_` and `-`): Docker's API
    /// and CLI, Compose, Kubernetes. Too far from the ECS name for an edit distance to find.
    static let otherWords: [String: String] = [
        "portbindings": "portMappings", "ports": "portMappings", "publish": "portMappings", "expose": "portMappings",
        "env": "environment", "envvars": "environment", "environmentvariables": "environment", "variables": "environment",
        "envfile": "environmentFiles", "envfiles": "environmentFiles",
        "cmd": "command", "args": "command", "arguments": "command",
        "mounts": "mountPoints", "volumemounts": "mountPoints", "binds": "mountPoints",
        "workdir": "workingDirectory", "workingdir": "workingDirectory",
        "labels": "dockerLabels", "logging": "logConfiguration", "log": "logConfiguration", "logdriver": "logConfiguration",
        "health": "healthCheck", "restart": "restartPolicy", "sysctls": "systemControls", "sysctl": "systemControls",
        "readonly": "readonlyRootFilesystem", "securityopt": "dockerSecurityOptions", "dns": "dnsServers",
        "dnssearch": "dnsSearchDomains", "addhost": "extraHosts", "addhosts": "extraHosts", "tty": "pseudoTerminal",
        "stdinopen": "interactive", "stopgraceperiod": "stopTimeout", "memlimit": "memory", "memreservation": "memoryReservation",
        "cpushares": "cpu", "cpus": "cpu", "init": "initProcessEnabled",
        "capadd": "capabilities", "capdrop": "capabilities", "shmsize": "sharedMemorySize", "secret": "secrets",
        "containers": "containerDefinitions", "network": "networkMode", "taskrole": "taskRoleArn", "executionrole": "executionRoleArn",
    ]

    /// Levenshtein distance.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count)
        var cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
