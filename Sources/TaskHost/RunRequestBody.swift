import ECSModel

extension TaskHost.RunRequest {
    /// The request as `JSONEncoder` would write it (the host decodes either), written here for
    /// the members `run -d` sets: `JSONEncoder`'s first use of the request's two `Codable`
    /// types costs the Swift runtime a conformance scan each, and their generic containers
    /// most of the rest of the command's own CPU (Docs/PERFORMANCE.md). nil for a request with
    /// any other member (the ECS API's), which `JSONEncoder` writes.
    /// `RunRequestBodyTests` holds this to `JSONEncoder`'s result, and fails when the request
    /// gains a member this does not know.
    public var cliBody: [UInt8]? {
        guard cluster == nil, startedBy == nil, group == nil, tags == nil, definition == nil, account == nil, securityGroups == nil,
              waitUntilStarted == nil, capacityProvider == nil, publishPorts == nil else { return nil }
        var w = JSONText()
        w.member("definitionPath", definitionPath)
        if let overrides { w.member("overrides", overrides) }
        if let secretsPath { w.member("secretsPath", secretsPath) }
        w.member("workingDirectory", workingDirectory)
        w.key("count")
        w.bytes += Array(String(count).utf8)
        if let o = definitionOptions {
            w.key("definitionOptions")
            var d = JSONText()
            if let v = o.resource { d.member("resource", v) }
            d.key("parameters")
            var p = JSONText()
            for (name, value) in o.parameters.sorted(by: { $0.key < $1.key }) { p.member(name, value) }
            d.bytes += p.closed
            for (name, value) in [("family", o.family), ("cpu", o.cpu), ("memory", o.memory), ("networkMode", o.networkMode),
                                  ("executionRoleArn", o.executionRoleArn), ("taskRoleArn", o.taskRoleArn)] {
                if let value { d.member(name, value) }
            }
            d.member("region", o.region)
            w.bytes += d.closed
        }
        if let removeWhenStopped {
            w.key("removeWhenStopped")
            w.bytes += Array((removeWhenStopped ? "true" : "false").utf8)
        }
        return w.closed
    }
}

/// A JSON object written member by member, with strings escaped as JSON requires (RFC 8259:
/// the quote, the backslash and control characters; everything else as its UTF-8).
struct JSONText {
    var bytes: [UInt8] = [UInt8(ascii: "{")]

    /// The object with its closing brace.
    var closed: [UInt8] { bytes + [UInt8(ascii: "}")] }

    mutating func key(_ name: String) {
        if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    mutating func member(_ name: String, _ value: String) {
        key(name)
        string(value)
    }

    mutating func string(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes += [UInt8(ascii: "\\"), b]
            case 0x0A: bytes += Array("\\n".utf8)
            case 0x0D: bytes += Array("\\r".utf8)
            case 0x09: bytes += Array("\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes += Array("\\u00".utf8) + [hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
