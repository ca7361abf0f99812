import Foundation
import Yams

/// Reads YAML into the same `JSONValue` tree as JSON, so one set of checks and paths serves
/// both: `aws ecs register-task-definition --cli-input-yaml` files and CloudFormation templates.
///
/// Plain scalars are typed by the YAML 1.2 core schema, as the AWS CLI (ruamel.yaml) reads
/// them: `yes` and `on` stay strings, `007` is the number 7. CloudFormation's short-form tags
/// (`!Ref X`, `!Sub ...`, `!GetAtt A.B`, ...) become their long forms (`{"Ref": "X"}`).
/// Duplicate keys are refused (libyaml's composer, through Yams), and so is nesting deeper
/// than `JSONParser.maxDepth`; aliases expand, within a node budget of the text's length so
/// that a few bytes of anchors cannot expand into gigabytes.
public enum YAMLReader {
    public static func parse(_ text: String) throws(JSONSyntaxError) -> JSONValue {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text, Resolver.basic)
        } catch let e as YamlError {
            throw syntaxError(e)
        } catch {
            throw JSONSyntaxError(line: 1, column: 1, message: "\(error)", language: "YAML")
        }
        guard let root else { throw JSONSyntaxError(line: 1, column: 1, message: "the document is empty", language: "YAML") }
        var budget = text.utf8.count + 16
        return try convert(root, depth: 0, budget: &budget)
    }

    static func syntaxError(_ e: YamlError) -> JSONSyntaxError {
        switch e {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return JSONSyntaxError(line: mark.line, column: mark.column, message: problem, language: "YAML")
        case .duplicatedKeysInMapping(let keys, _):
            return JSONSyntaxError(line: 1, column: 1, message: "the key\(keys.count == 1 ? "" : "s") \(keys.map { "\"\($0)\"" }.joined(separator: ", ")) appear\(keys.count == 1 ? "s" : "") twice in one mapping", language: "YAML")
        default:
            return JSONSyntaxError(line: 1, column: 1, message: e.description, language: "YAML")
        }
    }

    /// CloudFormation's short-form function tags, and the long form's key.
    static let functionTags: [String: String] = [
        "!Ref": "Ref", "!Condition": "Condition", "!Sub": "Fn::Sub", "!GetAtt": "Fn::GetAtt", "!Join": "Fn::Join",
        "!Select": "Fn::Select", "!Split": "Fn::Split", "!If": "Fn::If", "!Equals": "Fn::Equals", "!Not": "Fn::Not",
        "!And": "Fn::And", "!Or": "Fn::Or", "!FindInMap": "Fn::FindInMap", "!ImportValue": "Fn::ImportValue",
        "!Base64": "Fn::Base64", "!Cidr": "Fn::Cidr", "!GetAZs": "Fn::GetAZs", "!Transform": "Fn::Transform",
        "!Length": "Fn::Length", "!ToJsonString": "Fn::ToJsonString",
    ]

    /// The tag as written (empty when there is none): Yams' `Node.tag` resolves it.
    static func writtenTag(_ node: Node) -> String {
        switch node {
        case .scalar(let s): return s.tag.description
        case .mapping(let m): return m.tag.description
        case .sequence(let q): return q.tag.description
        case .alias(let a): return a.tag.description
        }
    }

    /// - Parameter quoted: a scalar is a string whatever it looks like (a function's argument).
    static func convert(_ node: Node, depth: Int, budget: inout Int, quoted: Bool = false) throws(JSONSyntaxError) -> JSONValue {
        func fail(_ message: String) -> JSONSyntaxError {
            JSONSyntaxError(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message: message, language: "YAML")
        }
        guard depth < JSONParser.maxDepth else { throw fail("nested deeper than \(JSONParser.maxDepth) levels") }
        budget -= 1
        guard budget >= 0 else { throw fail("aliases expand to more nodes than the text has characters") }
        let tag = writtenTag(node)
        if let function = functionTags[tag] {
            var argument = try convert(node, depth: depth + 1, budget: &budget, quoted: true, untagged: true)
            // `!GetAtt Resource.Attribute` is the list form's shorthand.
            if function == "Fn::GetAtt", case .string(let s) = argument, let dot = s.firstIndex(of: ".") {
                argument = .array([.string(String(s[..<dot])), .string(String(s[s.index(after: dot)...]))])
            }
            return .object([(function, argument)])
        }
        return try convert(node, depth: depth, budget: &budget, quoted: quoted, untagged: false)
    }

    static func convert(_ node: Node, depth: Int, budget: inout Int, quoted: Bool, untagged: Bool) throws(JSONSyntaxError) -> JSONValue {
        func fail(_ message: String) -> JSONSyntaxError {
            JSONSyntaxError(line: node.mark?.line ?? 1, column: node.mark?.column ?? 1, message: message, language: "YAML")
        }
        let tag = untagged ? "" : writtenTag(node)
        switch node {
        case .scalar(let s):
            switch tag {
            case "", "!":
                return quoted || tag == "!" || s.style != .plain ? .string(s.string) : (plainScalar(s.string) ?? .string(s.string))
            case Tag.Name.str.rawValue:
                return .string(s.string)
            case Tag.Name.null.rawValue:
                guard plainScalar(s.string) == .null else { throw fail("\"\(s.string)\" is not null") }
                return .null
            case Tag.Name.bool.rawValue:
                guard let v = plainScalar(s.string), case .bool = v else { throw fail("\"\(s.string)\" is not a boolean") }
                return v
            case Tag.Name.int.rawValue, Tag.Name.float.rawValue:
                guard let v = plainScalar(s.string), case .number = v else { throw fail("\"\(s.string)\" is not a number") }
                return v
            default:
                throw fail("unknown tag \(tag)")
            }
        case .mapping(let m):
            guard ["", "!", Tag.Name.map.rawValue].contains(tag) else { throw fail("unknown tag \(tag)") }
            var members: [(String, JSONValue)] = []
            members.reserveCapacity(m.count)
            for (k, v) in m {
                guard case .scalar(let key) = k else { throw fail("a mapping key must be a scalar") }
                members.append((key.string, try convert(v, depth: depth + 1, budget: &budget)))
            }
            return .object(members)
        case .sequence(let q):
            guard ["", "!", Tag.Name.seq.rawValue].contains(tag) else { throw fail("unknown tag \(tag)") }
            var items: [JSONValue] = []
            items.reserveCapacity(q.count)
            for item in q { items.append(try convert(item, depth: depth + 1, budget: &budget)) }
            return .array(items)
        case .alias:
            throw fail("an alias to an unknown anchor")
        }
    }

    /// A plain scalar as the YAML 1.2 core schema types it; nil for a string.
    static func plainScalar(_ s: String) -> JSONValue? {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        default: break
        }
        guard let first = s.utf8.first, first == UInt8(ascii: "-") || first == UInt8(ascii: "+") || first == UInt8(ascii: ".") || (48...57).contains(first) else {
            return nil
        }
        let unsigned = s.hasPrefix("+") ? String(s.dropFirst()) : s
        if unsigned.hasPrefix("0o"), let v = Int64(unsigned.dropFirst(2), radix: 8) { return .number(String(v)) }
        if unsigned.hasPrefix("0x"), let v = Int64(unsigned.dropFirst(2), radix: 16) { return .number(String(v)) }
        let digits = unsigned.hasPrefix("-") ? unsigned.dropFirst() : Substring(unsigned)
        if !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }) {
            // Leading zeros are dropped: JSON has no 007.
            let trimmed = digits.drop { $0 == "0" }
            let magnitude = trimmed.isEmpty ? "0" : String(trimmed)
            return .number((unsigned.hasPrefix("-") && magnitude != "0" ? "-" : "") + magnitude)
        }
        // Floats: [-+]?(.[0-9]+|[0-9]+(.[0-9]*)?)([eE][-+]?[0-9]+)?, written as JSON numbers.
        guard let d = Double(unsigned), d.isFinite, isCoreFloat(digits) else { return nil }
        if d == d.rounded(), abs(d) < 1e15, !digits.contains("e"), !digits.contains("E") {
            return .number(String(format: "%.1f", d))
        }
        return .number("\(d)")
    }

    static func isCoreFloat(_ s: Substring) -> Bool {
        var i = s.startIndex
        func digits() -> Int {
            var n = 0
            while i < s.endIndex, s[i].isASCII, s[i].isNumber { i = s.index(after: i); n += 1 }
            return n
        }
        let whole = digits()
        var fraction = 0
        if i < s.endIndex, s[i] == "." {
            i = s.index(after: i)
            fraction = digits()
        }
        guard whole + fraction > 0 else { return false }
        if i < s.endIndex, s[i] == "e" || s[i] == "E" {
            i = s.index(after: i)
            if i < s.endIndex, s[i] == "+" || s[i] == "-" { i = s.index(after: i) }
            guard digits() > 0 else { return false }
        }
        return i == s.endIndex
    }
}
