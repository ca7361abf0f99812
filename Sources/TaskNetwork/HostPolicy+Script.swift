#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The nftables scripts: the whole table, and the additions and deletions of a join or leave.
extension HostPolicy {
    /// Replaces the table with one built from every registered network.
    func apply() throws {
        try apply(networks())
    }

    /// Replaces the table with one built from `networks`, as just read from the registry.
    func apply(_ networks: [Network]) throws {
        try run(HostPolicy.script(networks))
    }

    func run(_ script: String) throws {
        if case .failure(let failure) = nft.run(script) {
            throw NetworkError.plugin(plugin: "nft", command: "-f", message: failure.message.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The whole table as an nft script: deleting and recreating it in one file makes the
    /// change a single transaction.
    static func script(_ networks: [Network]) -> String {
        let s = "add table inet \(table)\ndelete table inet \(table)\nadd table bridge \(table)\ndelete table bridge \(table)\n"
        let active = networks.filter(\.inTable)
        return active.isEmpty ? s : s + body(active) + portBody(active)
    }

    /// The bridge table: a frame from a task's port must be IPv4 or ARP, and carry the task's
    /// own MAC and address (as IPv4 source, as ARP sender). Security groups judge packets by
    /// their source address, and a container has CAP_NET_RAW (Docker's default), so without
    /// this it could send from a group member's address (UDP gets through whole), or answer ARP
    /// for another task's address and take its traffic. (AWS's VPC checks sources the same way.)
    /// Bridge-family rules see the port a frame came in by, which a container cannot forge.
    static func portBody(_ active: [Network]) -> String {
        let elements = active.flatMap { $0.members.sorted { $0.key < $1.key }.compactMap { portElement($0.value) } }
        let ours = "iifname \"\(portPrefix)*\""
        var s = "table bridge \(table) {\n"
        s += "  set ports {\n    type ifname . ether_addr . ipv4_addr\n"
        if !elements.isEmpty { s += "    elements = { " + elements.joined(separator: ", ") + " }\n" }
        s += "  }\n"
        s += "  chain prerouting {\n    type filter hook prerouting priority -300; policy accept;\n"
        s += "    \(ours) ether type != { ip, arp } drop\n"
        s += "    \(ours) ether type ip iifname . ether saddr . ip saddr != @ports drop\n"
        s += "    \(ours) ether type arp iifname . ether saddr . arp saddr ip != @ports drop\n"
        s += "  }\n}\n"
        return s
    }

    /// A member's port, MAC and address, as an element of the bridge table's set.
    static func portElement(_ m: Member) -> String? {
        guard let port = m.port, let address = cidr(m.ip + "/32")?.lowerBound else { return nil }
        return "\"\(port)\" . \(BridgeNetwork.macText(address)) . \(m.ip)"
    }

    /// The table with `active` networks, as additions to an empty table.
    static func body(_ active: [Network]) -> String {
        var sets: [String] = [], forward: [String] = [], chains: [String] = [], postrouting: [String] = [], published: [String] = []
        for net in active {
            let parts = Parts(net)
            sets += parts.sets
            forward += parts.forward
            chains.append("  chain \(parts.chain) {\n" + parts.rules.map { "    " + $0 + "\n" }.joined() + "  }\n")
            postrouting += parts.postrouting
            published += net.members.sorted { $0.key < $1.key }.flatMap { publishElements($0.value) }
        }
        var s = "table inet \(table) {\n"
        s += "  map publish {\n    type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service\n"
        if !published.isEmpty { s += "    elements = { " + published.joined(separator: ", ") + " }\n" }
        s += "  }\n"
        s += sets.map { "  " + $0 + "\n" }.joined()
        s += "  chain forward {\n    type filter hook forward priority filter - 10; policy accept;\n" + forward.map { "    " + $0 + "\n" }.joined() + "  }\n"
        s += chains.joined()
        s += "  chain publish {\n    dnat ip to ip daddr . meta l4proto . th dport map @publish\n  }\n"
        s += "  chain prerouting {\n    type nat hook prerouting priority dstnat; policy accept;\n    fib daddr type local jump publish\n  }\n"
        s += "  chain output {\n    type nat hook output priority -100; policy accept;\n    fib daddr type local jump publish\n  }\n"
        s += "  chain postrouting {\n    type nat hook postrouting priority srcnat; policy accept;\n" + postrouting.map { "    " + $0 + "\n" }.joined() + "  }\n"
        s += "}\n"
        return s
    }

    /// What one network puts in the table.
    struct Parts {
        var chain: String
        var sets: [String] = []
        var rules: [String] = []
        var forward: [String]
        var postrouting: [String] = []

        init(_ net: Network) {
            chain = "net_" + HostPolicy.hash(net.name)
            let members = net.members.sorted { $0.key < $1.key }.map(\.value)
            forward = ["ip saddr \(net.subnet) ip daddr \(net.subnet) ct state established,related accept",
                       "ip saddr \(net.subnet) ip daddr \(net.subnet) jump \(chain)"]
            for g in net.tableGroups.sorted() {
                let ips = members.filter { $0.groups.contains(g) }.map(\.ip).sorted()
                sets.append(HostPolicy.groupSet(net, g, ips: ips))
                rules.append(HostPolicy.groupRule(net, g))
            }
            rules.append("reject with icmp type port-unreachable comment \"no common security group\"")
            if net.outboundNAT { postrouting.append("ip saddr \(net.subnet) ip daddr != \(net.subnet) masquerade") }
            // A published port reached from the host itself (127.0.0.1) must come back through
            // the bridge, so its source is rewritten too.
            postrouting.append("ip saddr 127.0.0.0/8 ip daddr \(net.subnet) masquerade")
        }
    }

    /// The addresses of a network's tasks in one security group: tasks in it may connect.
    static func groupSetName(_ net: Network, _ group: String) -> String { "net_" + hash(net.name) + "_g" + hash(group) }

    static func groupSet(_ net: Network, _ group: String, ips: [String]) -> String {
        // (A kept group may have no member: nft refuses an empty `elements`.)
        ips.isEmpty ? "set \(groupSetName(net, group)) { type ipv4_addr; }"
            : "set \(groupSetName(net, group)) { type ipv4_addr; elements = { \(ips.joined(separator: ", ")) }; }"
    }

    static func groupRule(_ net: Network, _ group: String) -> String {
        let set = "@" + groupSetName(net, group)
        return "ip saddr \(set) ip daddr \(set) accept comment \"group \(sanitize(group))\""
    }

    static func publishElements(_ m: Member) -> [String] {
        zip(publishKeys(m), m.ports).map { "\($0) : \(m.ip) . \($1.containerPort)" }
    }

    /// The keys of a member's elements in the `publish` map: host address, protocol, port.
    static func publishKeys(_ m: Member) -> [String] {
        m.ports.map { "\($0.hostIP) . \($0.proto) . \($0.hostPort)" }
    }

    /// `member` joining `net` as additions to the table `before` describes. `create` (rather
    /// than `add`) fails where something is already there, so a table that is not what the
    /// registry says makes the transaction fail, and nothing of it is applied.
    static func joinScript(before: [Network], joined net: Network, member: Member) -> String {
        let active = before.filter(\.inTable)
        let target = "inet \(table)"
        var s = ""
        if active.isEmpty {
            return "create table \(target)\n" + body([net]) + "create table bridge \(table)\n" + portBody([net])
        }
        var ports = publishElements(member).map { "create element \(target) publish { \($0) }\n" }.joined()
        if let element = portElement(member) { ports += "create element bridge \(table) ports { \(element) }\n" }
        guard let old = active.first(where: { $0.name == net.name }) else {
            // A network new to the table: its chain, sets and rules; the others are untouched.
            let parts = Parts(net)
            s += "create chain \(target) \(parts.chain)\n"
            // (nft ignores elements given with a set made by a command: they are added apart.)
            for g in Set(member.groups).sorted() {
                s += "create set \(target) \(groupSetName(net, g)) { type ipv4_addr; }\n"
                s += "create element \(target) \(groupSetName(net, g)) { \(member.ip) }\n"
            }
            s += parts.rules.map { "add rule \(target) \(parts.chain) \($0)\n" }.joined()
            s += parts.forward.map { "add rule \(target) forward \($0)\n" }.joined()
            s += parts.postrouting.map { "add rule \(target) postrouting \($0)\n" }.joined()
            return s + ports
        }
        let chain = "net_" + hash(net.name)
        let known = old.tableGroups
        for g in Set(member.groups).sorted() {
            if known.contains(g) {
                s += "create element \(target) \(groupSetName(net, g)) { \(member.ip) }\n"
            } else {
                s += "create set \(target) \(groupSetName(net, g)) { type ipv4_addr; }\n"
                s += "create element \(target) \(groupSetName(net, g)) { \(member.ip) }\n"
                // Before the chain's final reject.
                s += "insert rule \(target) \(chain) \(groupRule(net, g))\n"
            }
        }
        return s + ports
    }

    /// `member` leaving `net` (which no longer has it) as deletions of its elements, the
    /// inverse of its join's additions; nil where a rebuild is needed instead: the network has
    /// no member left, or a group of the member's has none (its set and rule go too), unless
    /// a host keeps them. A table missing one of the elements refuses the transaction whole.
    static func leaveScript(left net: Network, member: Member) -> String? {
        let groups = Set(member.groups)
        guard net.inTable, groups.isSubset(of: net.tableGroups) else { return nil }
        let target = "inet \(table)"
        var s = groups.sorted().map { "delete element \(target) \(groupSetName(net, $0)) { \(member.ip) }\n" }.joined()
        s += publishKeys(member).map { "delete element \(target) publish { \($0) }\n" }.joined()
        if let element = portElement(member) { s += "delete element bridge \(table) ports { \(element) }\n" }
        return s
    }

    static func sanitize(_ s: String) -> String { String(s.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_.".unicodeScalars.contains($0)) }.prefix(64)) }

    static func hash(_ s: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(String(h, radix: 16).prefix(10))
    }
}
