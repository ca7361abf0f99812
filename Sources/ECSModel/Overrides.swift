import Foundation

/// RunTask's `overrides` (TaskOverride): read, checked like a task definition, and applied to one.
public enum TaskOverrides {
    /// RunTask refuses overrides longer than this (the JSON text, in characters).
    public static let maxLength = 8192

    /// Reads a TaskOverride from JSON text. `{"overrides": {...}}` (the member of a RunTask
    /// request) is accepted too. Problems are reported with paths under `overrides.`.
    public static func parse(_ text: String) -> (ECS.TaskOverride, [ValidationIssue]) {
        var issues: [ValidationIssue] = []
        if text.count > maxLength {
            issues.append(ValidationIssue("overrides", "\(text.count) characters: RunTask takes at most \(maxLength)"))
        }
        var root: JSONValue
        do { root = try JSONParser.parse(Array(text.utf8)) } catch {
            return (ECS.TaskOverride(), issues + [ValidationIssue("overrides", error.description)])
        }
        if case .object(let m) = root, m.count == 1, m[0].0 == "overrides" { root = m[0].1 }
        let (found, cleaned) = SchemaChecker.check(root, shape: "TaskOverride", path: "overrides")
        issues += found
        guard let cleaned, let o = try? JSONValueDecoder.decode(ECS.TaskOverride.self, from: cleaned) else {
            return (ECS.TaskOverride(), issues)
        }
        return (o, issues)
    }

    /// Applies `o` to `loaded`'s definition as ECS does at RunTask: command, environmentFiles,
    /// cpu, memory, memoryReservation and resourceRequirements replace the container's;
    /// environment variables are added, or replace those of the same name; task cpu, memory,
    /// ephemeralStorage and roles replace the task's. Problems found later in an overridden
    /// member are reported at the override's path.
    public static func apply(_ o: ECS.TaskOverride, issues: [ValidationIssue], to loaded: inout LoadedTaskDefinition) {
        var d = loaded.definition
        var found = issues
        var paths: [String: String] = [:]
        if let cpu = o.cpu { d.cpu = cpu; paths["cpu"] = "overrides.cpu" }
        if let memory = o.memory { d.memory = memory; paths["memory"] = "overrides.memory" }
        if let e = o.ephemeralStorage { d.ephemeralStorage = e; paths["ephemeralStorage"] = "overrides.ephemeralStorage" }
        if let r = o.taskRoleArn { d.taskRoleArn = r }
        if let r = o.executionRoleArn { d.executionRoleArn = r }
        if let ia = o.inferenceAcceleratorOverrides, !ia.isEmpty {
            found.append(ValidationIssue("overrides.inferenceAcceleratorOverrides", "not supported on Fargate"))
        }
        var containers = d.containerDefinitions ?? []
        var named: [String: Int] = [:]
        for (i, co) in (o.containerOverrides ?? []).enumerated() {
            let p = "overrides.containerOverrides[\(i)]"
            guard let name = co.name else {
                found.append(ValidationIssue(p + ".name", "required: the container the override is for"))
                continue
            }
            guard let k = containers.firstIndex(where: { $0.name == name }) else {
                let names = containers.compactMap(\.name)
                let hint = SchemaChecker.suggestion(for: name, among: names).map { " (did you mean \"\($0)\"?)" }
                    ?? " (its containers: \(names.joined(separator: ", ")))"
                found.append(ValidationIssue(p + ".name", "\"\(name)\" is not a container of this task\(hint)"))
                continue
            }
            if let j = named[name] {
                found.append(ValidationIssue(p + ".name", "\"\(name)\" is already overridden by overrides.containerOverrides[\(j)]"))
                continue
            }
            named[name] = i
            let cp = "containerDefinitions[\(k)]"
            if let v = co.command { containers[k].command = v; paths[cp + ".command"] = p + ".command" }
            if let v = co.environmentFiles { containers[k].environmentFiles = v; paths[cp + ".environmentFiles"] = p + ".environmentFiles" }
            if let v = co.cpu { containers[k].cpu = v; paths[cp + ".cpu"] = p + ".cpu" }
            if let v = co.memory { containers[k].memory = v; paths[cp + ".memory"] = p + ".memory" }
            if let v = co.memoryReservation { containers[k].memoryReservation = v; paths[cp + ".memoryReservation"] = p + ".memoryReservation" }
            if let v = co.resourceRequirements { containers[k].resourceRequirements = v; paths[cp + ".resourceRequirements"] = p + ".resourceRequirements" }
            var env = containers[k].environment ?? []
            for (j, kv) in (co.environment ?? []).enumerated() {
                guard let n = kv.name, !n.isEmpty else {
                    found.append(ValidationIssue(p + ".environment[\(j)].name", "required"))
                    continue
                }
                if let e = env.firstIndex(where: { $0.name == n }) { env[e].value = kv.value } else { env.append(kv) }
            }
            if co.environment != nil { containers[k].environment = env }
        }
        d.containerDefinitions = containers
        loaded.definition = d
        loaded.overrideIssues += found
        loaded.overridden.merge(paths) { $1 }
    }
}
