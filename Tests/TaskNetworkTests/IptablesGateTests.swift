#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import TaskNetwork
import TestSupport
import Testing

/// The ACCEPT rules for a subnet where iptables' FORWARD policy is DROP, tried with the real
/// iptables inside a network namespace the test makes, so the host's firewall is never touched.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct IptablesGateTests {
    let name = "fr-ipt-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"
    var gate: IptablesGate { IptablesGate(command: ["/usr/sbin/ip", "netns", "exec", name, "/usr/sbin/iptables"], forwardChain: nil) }
    /// The same, with the policy read the way it is where iptables is iptables-nft.
    var nftGate: IptablesGate {
        IptablesGate(command: gate.command, forwardChain: .program(["/usr/sbin/ip", "netns", "exec", name, "/usr/sbin/nft"]))
    }

    func iptables(_ args: [String]) throws -> String {
        let r = try run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/iptables"] + args)
        #expect(r.status == 0, "iptables \(args): \(r.stderr)")
        return r.stdout
    }

    func fargateRunRules() throws -> [String] {
        try iptables(["-S"]).split(separator: "\n").map(String.init).filter { $0.contains("fargate-run") }
    }

    @Test func noRulesWhileForwardingIsAccepted() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        _ = try iptables(["-A", "FORWARD", "-s", "10.9.0.0/16", "-j", "ACCEPT"])
        #expect(!gate.forwardDrops())
        #expect(try gate.allow(subnet: "198.19.0.0/16") == nil)
        #expect(try fargateRunRules().isEmpty)
        // What the caller asked already is not asked again.
        #expect(try gate.allow(subnet: "198.19.0.0/16", forwardDrops: true) == "FORWARD")
        gate.remove(subnet: "198.19.0.0/16", chain: "FORWARD")
        #expect(try fargateRunRules().isEmpty)
    }

    @Test func aDropPolicyGetsRulesInForwardOnceAndTheyGo() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        // A rule before the policy check: `-S FORWARD 1` would have shown it instead of the policy.
        _ = try iptables(["-P", "FORWARD", "DROP"])
        _ = try iptables(["-A", "FORWARD", "-s", "10.9.0.0/16", "-j", "ACCEPT"])
        #expect(gate.forwardDrops())
        #expect(try gate.allow(subnet: "198.19.0.0/16") == "FORWARD")
        #expect(try gate.allow(subnet: "198.19.0.0/16") == "FORWARD")
        let rules = try fargateRunRules()
        #expect(rules.count == 2, "one rule each way, not duplicated: \(rules)")
        #expect(rules.contains { $0.hasPrefix("-A FORWARD -s 198.19.0.0/16") })
        #expect(rules.contains { $0.hasPrefix("-A FORWARD -d 198.19.0.0/16") })
        gate.remove(subnet: "198.19.0.0/16", chain: "FORWARD")
        #expect(try fargateRunRules().isEmpty)
        gate.remove(subnet: "198.19.0.0/16", chain: "FORWARD")  // again: nothing to do, no error
    }

    @Test func dockersUserChainIsPreferred() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        _ = try iptables(["-P", "FORWARD", "DROP"])
        _ = try iptables(["-N", "DOCKER-USER"])
        #expect(try gate.allow(subnet: "198.20.0.0/16") == "DOCKER-USER")
        #expect(try fargateRunRules().allSatisfy { $0.hasPrefix("-A DOCKER-USER") })
        gate.remove(subnet: "198.20.0.0/16", chain: "DOCKER-USER")
        #expect(try fargateRunRules().isEmpty)
    }

    /// iptables-nft's policy read from nftables agrees with iptables: with no table at all,
    /// with rules but an accepting policy, and with DROP.
    @Test func thePolicyReadFromNftablesIsIptablesOwn() throws {
        try #require(IptablesGate.keepsRulesInNftables(IptablesGate.iptables), "this test needs iptables-nft (Debian's default)")
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        #expect(IptablesGate.forwardDrops(in: nftGate.forwardChain!) == false, "no table: accept")
        _ = try iptables(["-A", "FORWARD", "-s", "10.9.0.0/16", "-j", "ACCEPT"])
        #expect(IptablesGate.forwardDrops(in: nftGate.forwardChain!) == false)
        #expect(!gate.forwardDrops())
        _ = try iptables(["-P", "FORWARD", "DROP"])
        #expect(IptablesGate.forwardDrops(in: nftGate.forwardChain!) == true)
        #expect(nftGate.forwardDrops() && gate.forwardDrops())
        _ = try iptables(["-P", "FORWARD", "ACCEPT"])
        #expect(!nftGate.forwardDrops())
    }

    /// The library reads the host's policy as iptables does (read only).
    @Test func theLibraryReadsTheHostsPolicyAsIptablesDoes() throws {
        try #require(IptablesGate.keepsRulesInNftables(IptablesGate.iptables), "this test needs iptables-nft (Debian's default)")
        let host = IptablesGate(forwardChain: nil).forwardDrops()
        #expect(IptablesGate.forwardDrops(in: .library) == host)
        #expect(IptablesGate().forwardChain == .library)
    }
}
