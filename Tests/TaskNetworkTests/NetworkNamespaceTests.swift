#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import TaskNetwork
import TestSupport
import Testing

@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct NetworkNamespaceTests {
    @Test func createsANamespaceWithLoopbackUpAndRemovesIt() throws {
        let name = "fr-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let ns = try NetworkNamespace.create(name: name)
        #expect(ns.exists)
        #expect(try run("/usr/sbin/ip", ["netns", "list"]).stdout.contains(name))
        let lo = try run("/usr/sbin/ip", ["-n", name, "-o", "link", "show", "lo"])
        #expect(lo.stdout.contains("UP"), "loopback is up: \(lo.stdout)")
        let addrs = try run("/usr/sbin/ip", ["-n", name, "-o", "addr"])
        #expect(addrs.stdout.contains("127.0.0.1"))
        let links = try run("/usr/sbin/ip", ["-n", name, "-o", "link"]).stdout.split(separator: "\n")
        #expect(links.count == 1, "only loopback: \(links)")
        // Its inode differs from ours.
        var a = stat(), b = stat()
        #expect(stat(ns.path, &a) == 0 && stat("/proc/self/ns/net", &b) == 0)
        #expect(a.st_ino != b.st_ino)
        try ns.remove()
        #expect(!ns.exists)
        #expect(mountsContaining(name).isEmpty)
        #expect(!(try run("/usr/sbin/ip", ["netns", "list"]).stdout.contains(name)))
        try ns.remove()  // again: not an error
    }

    @Test func aNameInUseIsRefusedAndTheFirstKept() throws {
        let name = "fr-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        #expect(throws: SystemError.self) { try NetworkNamespace.create(name: name) }
        #expect(ns.exists)
    }
}
