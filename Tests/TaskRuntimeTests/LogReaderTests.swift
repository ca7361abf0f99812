import Foundation
@testable import TaskRuntime
import TestSupport
import Testing

/// `logs`: lines come whole and prefixed, bytes as the container wrote them, a long log a
/// bounded piece at a time, and `--tail N` starts at the last N lines.
struct LogReaderTests {
    func file(_ dir: TemporaryDirectory, _ bytes: [UInt8]) throws -> String {
        let path = dir.path + "/app.log"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Everything `r` gives until it has nothing more.
    func drain(_ r: LogReader, untilEnd: Bool = true, limit: Int = 1 << 20) -> [UInt8] {
        var all: [UInt8] = []
        while case let b = r.readNew(untilEnd: untilEnd, limit: limit), !b.isEmpty { all += b }
        return all
    }

    @Test func linesComePrefixedAndAnUnfinishedOneWaitsForTheEnd() throws {
        let dir = try TemporaryDirectory("fr-logs")
        defer { dir.remove() }
        // Not UTF-8 (0xff): printed as it was written.
        let path = try file(dir, Array("one\ntwo\n".utf8) + [0xff] + Array("thr".utf8))
        let r = LogReader(path: path, prefix: "app | ")
        #expect(drain(r, untilEnd: false) == Array("app | one\napp | two\n".utf8))
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        h.write(Data("ee\nfour".utf8))
        h.closeFile()
        #expect(drain(r) == Array("app | ".utf8) + [0xff] + Array("three\napp | four\n".utf8))
        #expect(drain(r).isEmpty)
    }

    @Test func aLongLogComesABoundedPieceAtATime() throws {
        let dir = try TemporaryDirectory("fr-logs")
        defer { dir.remove() }
        let lines = (0..<20_000).map { "line \($0)\n" }.joined()
        let path = try file(dir, Array(lines.utf8))
        let r = LogReader(path: path, prefix: "")
        var pieces = 0, all: [UInt8] = []
        while case let b = r.readNew(untilEnd: true, limit: 50_000), !b.isEmpty {
            #expect(b.count < 50_000 + 64 << 10, "one read past the limit at most")
            #expect(b.last == UInt8(ascii: "\n"), "whole lines only")
            pieces += 1
            all += b
        }
        #expect(all == Array(lines.utf8))
        #expect(pieces > 1)
    }

    @Test func aLogNotFollowedEndsWhereItWasAndALongLineComesInPieces() throws {
        let dir = try TemporaryDirectory("fr-logs")
        defer { dir.remove() }
        let path = try file(dir, Array("before\nhalf".utf8))
        let r = LogReader(path: path, prefix: "")
        r.stopAtCurrentEnd()
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        h.write(Data("-written later\nafter\n".utf8))
        h.closeFile()
        #expect(drain(r) == Array("before\nhalf\n".utf8), "what was there when it began")
        // No newline for 300 KB (a progress bar's carriage returns, say): not held whole.
        let long = try file(dir, [UInt8](repeating: UInt8(ascii: "x"), count: 300_000))
        let pieces = LogReader(path: long, prefix: "")
        let first = pieces.readNew(untilEnd: false, limit: 100_000)
        #expect(first.count >= 100_000 && first.count < 100_000 + 64 << 10 + 1 && first.last == UInt8(ascii: "\n"), "\(first.count)")
        #expect(drain(pieces).filter { $0 == UInt8(ascii: "x") }.count == 300_000 - first.count + 1)
    }

    @Test(arguments: [
        // (file, N, what --tail N prints)
        ("a\nb\nc\n", 2, "b\nc\n"),
        ("a\nb\nc", 2, "b\nc\n"),
        ("a\nb\nc\n", 3, "a\nb\nc\n"),
        ("a\nb\nc\n", 10, "a\nb\nc\n"),
        ("a\nb\nc\n", 0, ""),
        ("\n\n\n", 2, "\n\n"),
        ("", 5, ""),
    ])
    func tailStartsAtTheLastLines(text: String, lines: Int, expected: String) throws {
        let dir = try TemporaryDirectory("fr-logs")
        defer { dir.remove() }
        let r = LogReader(path: try file(dir, Array(text.utf8)), prefix: "")
        r.startAtLast(lines)
        #expect(String(decoding: drain(r), as: UTF8.self) == expected)
    }

    @Test func tailFindsItsLinesAcrossTheReadsBackwards() throws {
        let dir = try TemporaryDirectory("fr-logs")
        defer { dir.remove() }
        // 200 KiB lines: the backward scan reads 64 KiB at a time.
        let long = String(repeating: "x", count: 200 << 10)
        let path = try file(dir, Array("first\n\(long)\nlast\n".utf8))
        let r = LogReader(path: path, prefix: "")
        r.startAtLast(2)
        #expect(drain(r) == Array("\(long)\nlast\n".utf8))
        let again = LogReader(path: path, prefix: "")
        again.startAtLast(3)
        #expect(drain(again).prefix(6) == Array("first\n".utf8)[...])
        // A file that is not there: nothing, and no crash.
        let missing = LogReader(path: dir.path + "/none.log", prefix: "")
        missing.startAtLast(3)
        #expect(drain(missing).isEmpty)
    }
}
