import ECSModel

extension TaskHost.RunRequest {
    /// The request as `JSONEncoder` would write it (the host decodes either), built as a
    /// `JSONValue` for the members `run -d` sets: `JSONEncoder`'s first use of the request's
    /// two `Codable` types costs the Swift runtime a conformance scan each, and their generic
    /// containers most of the rest of the command's own CPU (Docs/PERFORMANCE.md). nil for a
    /// request with any other member (the ECS API's), which `JSONEncoder` writes.
    /// `RunRequestBodyTests` holds this to `JSONEncoder`'s result, and fails when the request
    /// gains a member this does not know.
    public var cliBody: [UInt8]? {
        guard cluster == nil, startedBy == nil, group == nil, tags == nil, definition == nil, account == nil, securityGroups == nil,
              waitUntilStarted == nil, capacityProvider == nil, publishPorts == nil else { return nil }
        var members: [(String, JSONValue)] = [("definitionPath", .string(definitionPath))]
        if let overrides { members.append(("overrides", .string(overrides))) }
        if let secretsPath { members.append(("secretsPath", .string(secretsPath))) }
        members += [("workingDirectory", .string(workingDirectory)), ("count", .number(String(count)))]
        if let o = definitionOptions {
            var d: [(String, JSONValue)] = o.resource.map { [("resource", .string($0))] } ?? []
            d.append(("parameters", .object(o.parameters.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
            for (name, value) in [("family", o.family), ("cpu", o.cpu), ("memory", o.memory), ("networkMode", o.networkMode),
                                  ("executionRoleArn", o.executionRoleArn), ("taskRoleArn", o.taskRoleArn)] {
                if let value { d.append((name, .string(value))) }
            }
            d.append(("region", .string(o.region)))
            members.append(("definitionOptions", .object(d)))
        }
        if let removeWhenStopped { members.append(("removeWhenStopped", .bool(removeWhenStopped))) }
        return Array(JSONValue.object(members).text.utf8)
    }
}
