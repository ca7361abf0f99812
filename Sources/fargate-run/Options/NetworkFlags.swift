#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import TaskNetwork

/// How tasks are connected: subnet, bridge, published ports, DNS, security groups.
extension NetworkOptions.Mode: ExpressibleByArgument {}

struct NetworkFlags: ParsableArguments {
    @Option(name: .customLong("network"), help: "awsvpc (default): the task gets its own IP through CNI. none: loopback only.")
    var mode: NetworkOptions.Mode = .awsvpc

    @Option(name: .long, help: "Task subnet (default 198.19.0.0/16, a block LANs and VPNs do not use).")
    var subnet: String = NetworkOptions().subnet

    @Option(name: .long, help: "Host bridge the tasks attach to.")
    var bridge: String = NetworkOptions().bridge

    @Flag(name: .long, help: "Do not masquerade traffic leaving the task subnet.")
    var noNat = false

    @Option(name: .long, help: "Host address published ports listen on (default 127.0.0.1).")
    var publishAddress: String = NetworkOptions().publishAddress

    @Option(name: .long, help: "A CNI conflist to use as is (e.g. macvlan onto the LAN) instead of fargate-run's bridge.")
    var networkConfig: String?

    @Option(name: .long, help: "DNS server for the containers (repeatable; default: the host's).")
    var dns: [String] = []

    @Option(name: .long, help: "Domain of the task hostname (default ec2.internal in us-east-1, REGION.compute.internal elsewhere).")
    var dnsDomain: String?

    @Option(name: .long, help: "Security group of the task (repeatable; default: default). Tasks sharing a group reach each other; others cannot.")
    var securityGroup: [String] = []

    var settings: NetworkSettings {
        NetworkSettings(mode: mode, subnet: subnet, bridge: bridge, noNat: noNat, publishAddress: publishAddress,
                        networkConfig: networkConfig, dns: dns, dnsDomain: dnsDomain, securityGroup: securityGroup)
    }
}

/// The network flags as plain values.
struct NetworkSettings: Equatable {
    var mode: NetworkOptions.Mode = .awsvpc
    var subnet = NetworkOptions().subnet
    var bridge = NetworkOptions().bridge
    var noNat = false
    var publishAddress = NetworkOptions().publishAddress
    var networkConfig: String?
    var dns: [String] = []
    var dnsDomain: String?
    var securityGroup: [String] = []

    func options() throws -> NetworkOptions {
        var o = NetworkOptions()
        o.mode = mode
        o.subnet = subnet
        o.bridge = bridge
        o.outboundNAT = !noNat
        o.publishAddress = publishAddress
        o.conflistPath = networkConfig
        o.dnsServers = dns
        o.dnsDomain = dnsDomain
        if !securityGroup.isEmpty { o.securityGroups = securityGroup }
        // Checked by hand: Foundation's regular expressions are ICU's, and compiling three
        // cost about 1.5 ms of every start.
        let cidr = subnet.split(separator: "/", omittingEmptySubsequences: false)
        guard cidr.count == 2, NetworkSettings.isIPv4(cidr[0]), let bits = Int(cidr[1]), (0...32).contains(bits) else {
            throw ValidationError("--subnet \"\(subnet)\" is not an IPv4 CIDR such as 198.19.0.0/16")
        }
        guard NetworkSettings.isIPv4(Substring(publishAddress)) else {
            throw ValidationError("--publish-address \"\(publishAddress)\" is not an IPv4 address")
        }
        guard (1...15).contains(bridge.utf8.count),
              bridge.utf8.allSatisfy({ $0.isASCIILetterOrDigit || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }) else {
            throw ValidationError("--bridge \"\(bridge)\" is not an interface name (1-15 of A-Z a-z 0-9 _ . -)")
        }
        return o
    }

    /// Dotted decimal, four parts of 0-255.
    static func isIPv4(_ s: Substring) -> Bool {
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { p in
            (1...3).contains(p.utf8.count) && p.utf8.allSatisfy { (48...57).contains($0) } && Int(p)! <= 255
        }
    }
}


extension UInt8 {
    var isASCIILetterOrDigit: Bool { (48...57).contains(self) || (65...90).contains(self) || (97...122).contains(self) }
}
