#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import TaskRuntime
import Testing

/// Discovery names as a hosts-file block, without root: what the block says, how it replaces an
/// older one, and that a rewrite keeps the file's inode (containers have it bind-mounted).
struct ServiceNameRecordsTests {
    @Test func theBlockListsEachAddressOfEachNameLowercasedAtMostEight() throws {
        let addresses = (1...10).map { "198.19.0.\($0)" }
        let r = try ServiceNameRecords(["Web.Internal": addresses + ["198.19.0.1"], "api.local": ["198.19.1.5"], "empty.local": []])
        #expect(r.names["web.internal"] == Array(addresses.prefix(8)))
        #expect(r.names["empty.local"] == nil, "a name with no address is left out")
        #expect(r.block == ServiceNameRecords.begin + "\n198.19.1.5\tapi.local\n" + addresses.prefix(8).map { "\($0)\tweb.internal\n" }.joined() + ServiceNameRecords.end + "\n")
        #expect(try ServiceNameRecords([:]).block == "")
    }

    @Test func badNamesAndAddressesAreRefusedNamingThem() {
        #expect { try ServiceNameRecords(["web local": ["198.19.0.1"]]) } throws: { "\($0)".contains("\"web local\" is not a DNS name") }
        #expect { try ServiceNameRecords(["-web.local": ["198.19.0.1"]]) } throws: { "\($0)".contains("-web.local") }
        #expect { try ServiceNameRecords(["web.local": ["198.19.0.010"]]) } throws: { "\($0)".contains("\"198.19.0.010\" is not an IPv4 address") }
    }

    @Test func mergingReplacesTheBlockAndLeavesTheTasksOwnLines() throws {
        let own = "127.0.0.1\tlocalhost\n198.19.0.9\tip-198-19-0-9\n"
        let one = try ServiceNameRecords(["web.local": ["198.19.0.1"]]).block
        let two = try ServiceNameRecords(["web.local": ["198.19.0.1", "198.19.0.2"]]).block
        #expect(ServiceNameRecords.merged(own, block: one) == own + one)
        #expect(ServiceNameRecords.merged(own + one, block: two) == own + two)
        #expect(ServiceNameRecords.merged(own + two, block: "") == own)
        // A block cut short (no end marker) runs to the end of the file.
        #expect(ServiceNameRecords.merged(own + ServiceNameRecords.begin + "\n198.19.0.1\tweb", block: one) == own + one)
    }

    @Test func aRewriteKeepsTheInode() throws {
        let path = FileManager.default.temporaryDirectory.path + "/hosts-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { unlink(path) }
        try "127.0.0.1\tlocalhost\n".write(toFile: path, atomically: false, encoding: .utf8)
        var before = stat(), after = stat()
        stat(path, &before)
        let long = try ServiceNameRecords(["web.local": ["198.19.0.1", "198.19.0.2", "198.19.0.3"]]).block
        #expect(try ServiceNameRecords.rewriteBlock(long, hostsFile: path))
        #expect(try !ServiceNameRecords.rewriteBlock(long, hostsFile: path), "already so: not written")
        let short = try ServiceNameRecords(["web.local": ["198.19.0.1"]]).block
        #expect(try ServiceNameRecords.rewriteBlock(short, hostsFile: path))
        stat(path, &after)
        #expect(before.st_ino == after.st_ino)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "127.0.0.1\tlocalhost\n" + short, "cut to the new length")
    }
}
