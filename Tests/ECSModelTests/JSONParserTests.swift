import ECSModel
import Foundation
import Testing

struct JSONParserTests {
    func parse(_ s: String) throws -> JSONValue { try JSONParser.parse(Array(s.utf8)) }

    func syntaxError(_ bytes: [UInt8]) -> JSONSyntaxError? {
        do {
            _ = try JSONParser.parse(bytes)
            return nil
        } catch {
            return error
        }
    }

    @Test func keepsOrderAndNumbersAsWritten() throws {
        let v = try parse(#" {"b": 99999999999999999999, "a": [1.50, -0, 2e3, true, null], "c": "\u00e9\ud83d\ude00\n"} "#)
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members.map(\.0) == ["b", "a", "c"])
        #expect(v["b"] == .number("99999999999999999999"))
        #expect(v["a"] == .array([.number("1.50"), .number("-0"), .number("2e3"), .bool(true), .null]))
        #expect(v["c"] == .string("é😀\n"))
        #expect(try parse(v.text) == v, "text round-trips")
    }

    @Test func byteOrderMarkIsTolerated() throws {
        #expect(try JSONParser.parse([0xEF, 0xBB, 0xBF] + Array("{}".utf8)) == .object([]))
    }

    @Test(arguments: [
        (#"{"a": 1,}"#, "line 1, column 9: expected a member name in quotes"),
        (#"[1, 2,]"#, "line 1, column 7: unexpected ']'"),
        ("{\n  \"a\": 1,\n  \"a\": 2\n}", "line 3, column 3: the member \"a\" appears twice"),
        (#"{"a": 01}"#, "line 1, column 8: expected ',' or '}' but found '1'"),
        (#"{"a": .5}"#, "line 1, column 7: unexpected '.'"),
        (#"{"a": 1.}"#, "line 1, column 9: a number needs digits after '.'"),
        (#"{"a": 1e}"#, "line 1, column 9: a number needs digits in its exponent"),
        (#"{"a": tru}"#, "line 1, column 7: expected true"),
        (#"{"a": "x\q"}"#, "line 1, column 10: unknown escape \\'q'"),
        (#"{"a": "\ud800"}"#, "line 1, column 13: a lone UTF-16 surrogate in a \\u escape"),
        (#"{"a": "\u12"}"#, "line 1, column 9: a \\u escape needs four hex digits"),
        (#"{"a": 1} x"#, "line 1, column 10: unexpected 'x' after the document"),
        (#"{"a" 1}"#, "line 1, column 6: expected ':' after \"a\""),
        (#"{"a": "#, "line 1, column 7: unexpected end of input"),
        (#"// comment"#, "line 1, column 1: unexpected '/'"),
        ("", "line 1, column 1: unexpected end of input"),
    ])
    func syntaxErrorsSayWhereAndWhat(_ text: String, _ expected: String) {
        let e = syntaxError(Array(text.utf8))
        #expect(e?.description == "invalid JSON at " + expected)
    }

    @Test func controlCharactersInStringsAreRefused() {
        #expect(syntaxError(Array("{\"a\": \"x\ty\"}".utf8))?.message == "control character 0x9 in a string (write it as \\u00XX)")
    }

    @Test(arguments: [[0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x80], [0xF5, 0x80, 0x80, 0x80], [0xE2, 0x82]] as [[UInt8]])
    func invalidUTF8IsRefused(_ bad: [UInt8]) {
        let doc = Array(#"{"a": "x"#.utf8) + bad + Array(#"y"}"#.utf8)
        #expect(syntaxError(doc)?.message == "invalid UTF-8")
    }

    @Test func nestingIsBounded() throws {
        let ok = String(repeating: "[", count: JSONParser.maxDepth) + String(repeating: "]", count: JSONParser.maxDepth)
        #expect(throws: Never.self) { try parse(ok) }
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(syntaxError(Array(deep.utf8))?.message == "nested deeper than 64 levels")
    }

    @Test func kindNamesTheValueFound() throws {
        #expect(JSONValue.number("256").kind == "the number 256")
        #expect(JSONValue.string("x").kind == "the string \"x\"")
        #expect(JSONValue.string(String(repeating: "y", count: 100)).kind == "the string \"" + String(repeating: "y", count: 40) + "…\"")
        #expect(JSONValue.array([]).kind == "a list")
        #expect(JSONValue.bool(false).kind == "the boolean false")
    }
}
