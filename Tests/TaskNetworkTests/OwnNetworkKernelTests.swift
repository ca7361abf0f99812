#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import TaskNetwork
import TestSupport
import Testing

/// fargate-run's own network made in-process, on the host's kernel: a bridge and /24 of the
/// test's own (beside the E2E suites' 198.18.N.0/24 from 10 up), a namespace it keeps.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct OwnNetworkKernelTests {
    /// The host policy joins while the interface is made. When the join fails, the interface
    /// made meanwhile goes, and the address: the namespace, which the caller still holds, is
    /// left as it was given. (A task's teardown removes the namespace, which would take the
    /// veth along and hide a leak; here nothing does.) The join is made to fail by a directory
    /// where the policy's registry file for the network would be written.
    @Test func aFailedJoinTakesBackTheInterfaceMadeMeanwhile() throws {
        var options = NetworkOptions()
        options.bridge = "frj\(getpid() % 1000)"
        options.subnet = "198.18.250.0/24"
        let ns = try NetworkNamespace.create(name: "frj-\(getpid())")
        let blocker = options.hostStateDirectory + "/networks/" + options.networkName + ".json"
        defer {
            try? ns.remove()
            _ = try? run("/usr/sbin/ip", ["link", "del", options.bridge])
            try? FileManager.default.removeItem(atPath: blocker)
            try? FileManager.default.removeItem(atPath: options.hostStateDirectory + "/ipam/" + options.networkName)
        }
        try FileManager.default.createDirectory(atPath: blocker + "/x", withIntermediateDirectories: true)
        let taskId = String(repeating: "ab", count: 16)
        let holder = PortRegistry.Holder(root: "/tmp", taskId: taskId, family: "f", owner: .current)
        #expect { _ = try TaskNetworking(options: options).attach(taskId: taskId, netns: ns.path, ports: [], holder: holder, region: "us-east-1") }
            throws: { "\($0)".contains(blocker) }
        #expect(FileSystem.exists(ns.path), "the namespace is the caller's")
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(options.bridge)/brif")) ?? []
        #expect(ports.isEmpty, "veths left on the bridge: \(ports)")
        let inside = try run("/usr/sbin/ip", ["netns", "exec", ns.name, "/usr/sbin/ip", "-br", "link"]).stdout
        #expect(!inside.contains("eth0"), "\(inside)")
        let leases = (try? FileManager.default.contentsOfDirectory(atPath: options.hostStateDirectory + "/ipam/" + options.networkName)) ?? []
        #expect(leases.filter { $0.hasPrefix("198.") }.isEmpty, "leases left: \(leases)")
    }
}
