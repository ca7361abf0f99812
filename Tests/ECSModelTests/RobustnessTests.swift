import ECSModel
import Foundation
import Testing

/// Thousands of mutated task definitions: reading and validating them must never crash, and
/// every mutation that is certainly invalid must come back as an error.
struct RobustnessTests {
    /// SplitMix64: a seeded generator, so a failure can be replayed.
    struct Seeded: RandomNumberGenerator {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    enum Step: Equatable { case key(String), index(Int) }

    /// Every node of a document, by its path from the root.
    static func paths(_ v: JSONValue, _ prefix: [Step] = []) -> [[Step]] {
        var out = [prefix]
        switch v {
        case .object(let members): for (k, m) in members { out += paths(m, prefix + [.key(k)]) }
        case .array(let items): for (i, m) in items.enumerated() { out += paths(m, prefix + [.index(i)]) }
        default: break
        }
        return out
    }

    static func node(_ v: JSONValue, at path: ArraySlice<Step>) -> JSONValue {
        guard let first = path.first else { return v }
        switch (v, first) {
        case (.object(let m), .key(let k)): return node(m.first { $0.0 == k }!.1, at: path.dropFirst())
        case (.array(let a), .index(let i)): return node(a[i], at: path.dropFirst())
        default: fatalError("bad path")
        }
    }

    static func replacing(_ v: JSONValue, at path: ArraySlice<Step>, with new: JSONValue?) -> JSONValue? {
        guard let first = path.first else { return new }
        switch (v, first) {
        case (.object(var m), .key(let k)):
            let i = m.firstIndex { $0.0 == k }!
            if let r = replacing(m[i].1, at: path.dropFirst(), with: new) { m[i].1 = r } else { m.remove(at: i) }
            return .object(m)
        case (.array(var a), .index(let i)):
            if let r = replacing(a[i], at: path.dropFirst(), with: new) { a[i] = r } else { a.remove(at: i) }
            return .array(a)
        default: fatalError("bad path")
        }
    }

    /// A value of another JSON type than `v`: wrong for whatever the model expects there.
    static func wrongType(for v: JSONValue, _ rng: inout Seeded) -> JSONValue {
        let choices: [JSONValue]
        switch v {
        case .string: choices = [.number("7"), .bool(true), .array([]), .object([])]
        case .number: choices = [.string("7"), .bool(false), .array([.number("7")]), .object([])]
        case .bool: choices = [.string("true"), .number("1"), .array([])]
        case .array: choices = [.object([]), .string("[]"), .number("0")]
        case .object: choices = [.array([]), .string("{}"), .number("0"), .bool(true)]
        case .null: choices = [.array([])]
        }
        return choices.randomElement(using: &rng)!
    }

    enum Outcome { case error, valid }

    /// Reads and validates; anything but an error or a clean result is a failure (a crash
    /// fails the whole test process, which is the point).
    static func outcome(_ bytes: [UInt8]) -> Outcome {
        do {
            let loaded = try TaskDefinitionLoader.load(data: Data(bytes))
            let issues = loaded.allIssues
            if issues.isEmpty {
                // Whatever passes must be usable: a size and a name for every container.
                precondition(TaskDefinitionValidator.size(of: loaded.definition) != nil)
                precondition(loaded.definition.containerDefinitions?.allSatisfy { $0.name != nil && $0.image != nil } ?? false)
                return .valid
            }
            for i in issues { precondition(!i.message.isEmpty) }
            return .error
        } catch is TaskDefinitionError {
            return .error
        } catch {
            Issue.record("unexpected error type: \(error)")
            return .error
        }
    }

    static var fixtures: [[UInt8]] {
        let dir = ValidDefinitionTests.directory
        return ValidDefinitionTests.files.map { Array(FileManager.default.contents(atPath: dir.appendingPathComponent($0).path)!) }
    }

    @Test func mutatedInputsNeverCrashAndCertainMistakesAreErrors() throws {
        var rng = Seeded(state: 0x5EED_F00D)
        var counts: [String: Int] = [:]
        var wrongButAccepted: [String] = []
        func certainlyInvalid(_ kind: String, _ bytes: [UInt8]) {
            counts[kind, default: 0] += 1
            if Self.outcome(bytes) != .error { wrongButAccepted.append("\(kind): \(String(decoding: bytes.prefix(300), as: UTF8.self))") }
        }
        func anything(_ kind: String, _ bytes: [UInt8]) {
            counts[kind, default: 0] += 1
            _ = Self.outcome(bytes)
        }
        let badUTF8: [[UInt8]] = [[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0x80], [0xF8, 0x88, 0x80, 0x80, 0x80], [0xE2, 0x28, 0xA1]]
        let hugeNumbers = ["100000000000000000000000000", "-99999999999999999999", "1e400", "2147483648", "-2147483649", "0.5", "1E2"]
        for source in Self.fixtures {
            let doc = try JSONParser.parse(source)
            let register = doc["taskDefinition"] == nil
            let nodes = Self.paths(doc)
            let text = Array(doc.text.utf8)
            for _ in 0..<40 {
                // Truncated: an object without its closing brace is never a document.
                certainlyInvalid("truncated", Array(text[0..<Int.random(in: 0..<(text.count - 1), using: &rng)]))
                // Invalid UTF-8 anywhere, in a string or between tokens.
                var b = text
                b.insert(contentsOf: badUTF8.randomElement(using: &rng)!, at: Int.random(in: 0...b.count, using: &rng))
                certainlyInvalid("invalid UTF-8", b)
                // A value of the wrong JSON type. Timestamps take numbers and strings, so the
                // describe-task-definition fixture only has to survive.
                let path = nodes.randomElement(using: &rng)!
                let old = Self.node(doc, at: path[...])
                let wrong = Self.replacing(doc, at: path[...], with: Self.wrongType(for: old, &rng))!
                if register { certainlyInvalid("wrong type", Array(wrong.text.utf8)) } else { anything("wrong type", Array(wrong.text.utf8)) }
                // A number that is not a 32-bit integer where the model wants one.
                let numbers = nodes.filter { if case .number = Self.node(doc, at: $0[...]) { return true }; return false }
                if let n = numbers.randomElement(using: &rng) {
                    let huge = Self.replacing(doc, at: n[...], with: .number(hugeNumbers.randomElement(using: &rng)!))!
                    certainlyInvalid("huge number", Array(huge.text.utf8))
                }
                // Nested far deeper than any task definition.
                var deep = JSONValue.string("x")
                for _ in 0..<(JSONParser.maxDepth + Int.random(in: 0...200, using: &rng)) { deep = .array([deep]) }
                certainlyInvalid("deep nesting", Array(Self.replacing(doc, at: path[...], with: deep)!.text.utf8))
                // Anything goes: flipped bytes, removed members, odd strings.
                var flipped = text
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    flipped[Int.random(in: 0..<flipped.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
                }
                anything("flipped bytes", flipped)
                anything("member removed", Array((Self.replacing(doc, at: path[...], with: nil) ?? .object([])).text.utf8))
                let odd: [JSONValue] = [.string(""), .string(String(repeating: "a", count: 70_000)), .string("-1"), .string("0 vCPU"),
                                        .string("9999999999999999999999 GB"), .string("\u{202E}evil"), .number("-1"), .number("0"), .null]
                anything("odd value", Array(Self.replacing(doc, at: path[...], with: odd.randomElement(using: &rng)!)!.text.utf8))
            }
        }
        let total = counts.values.reduce(0, +)
        #expect(total >= 3000, "\(counts)")
        #expect(wrongButAccepted.isEmpty, "accepted: \(wrongButAccepted.prefix(5))")
    }
}
