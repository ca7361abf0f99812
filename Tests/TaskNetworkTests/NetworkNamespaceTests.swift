#if canImport(Glibc)
import Glibc
#endif
import CShim
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

    /// The child that works in another namespace reports where it failed, with errno, through
    /// the memory it shares with us: here the bind mount onto a path that does not exist.
    @Test func aFailedStepInTheNamespaceChildIsReportedWithItsErrno() {
        var stage: Int32 = 0
        #expect(fr_netns_create("/nonexistent-\(getpid())/ns", 0, &stage) == -1)
        let e = errno
        #expect(stage == 2 && e == ENOENT, "stage \(stage), errno \(e)")
        #expect(fr_netns_socket("/nonexistent-\(getpid())/ns", 0) == -1)
        #expect(errno == ENOENT)
    }

    /// Without IPv6, an interface made in the namespace gets no IPv6 address, not even a
    /// link-local one, once up; loopback keeps ::1. Without the option, one does get fe80::.
    @Test(arguments: [true, false]) func interfacesMadeLaterGetNoIPv6WhenAsked(withoutIPv6: Bool) throws {
        try #require(FileSystem.exists("/proc/sys/net/ipv6"), "this test needs a kernel with IPv6")
        let name = "fr-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let ns = try NetworkNamespace.create(name: name, withoutIPv6: withoutIPv6)
        defer { try? ns.remove() }
        for args in [["link", "add", "t0", "type", "veth", "peer", "name", "t1"], ["link", "set", "t1", "up"], ["link", "set", "t0", "up"]] {
            let r = try run("/usr/sbin/ip", ["-n", name] + args)
            #expect(r.status == 0, "\(args): \(r.stderr)")
        }
        var v6 = ""
        let gotOne = eventually(timeout: 3) {
            v6 = (try? run("/usr/sbin/ip", ["-n", name, "-6", "-o", "addr", "show", "dev", "t0"]).stdout) ?? ""
            return v6.contains("fe80::")
        }
        #expect(gotOne == !withoutIPv6, "t0's IPv6 addresses: \(v6)")
        let lo = try run("/usr/sbin/ip", ["-n", name, "-6", "-o", "addr", "show", "dev", "lo"]).stdout
        #expect(lo.contains("::1/128"), "loopback keeps ::1: \(lo)")
    }

    @Test func aNameInUseIsRefusedAndTheFirstKept() throws {
        let name = "fr-test-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        #expect(throws: SystemError.self) { try NetworkNamespace.create(name: name) }
        #expect(ns.exists)
    }
}
