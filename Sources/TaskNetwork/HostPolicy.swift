#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The host side of task networking that is policy rather than plumbing: outbound NAT,
/// published ports and security groups, for every fargate-run network on the host, in one
/// nftables table (`inet fargate_run`).
///
/// The table follows a registry of members (/run/fargate-run/networks/<name>.json). A join is
/// a transaction of additions only (the member's addresses go into named sets, its ports into
/// a map), a leave one of deleting those elements; where a leave takes a network's or a
/// group's last member, the table is rebuilt from the registry and replaced in one `nft -f`
/// transaction: atomic, and nothing of it is left once the last task is gone. A rebuild's
/// cost grows with the members (4-9 ms with 100 tasks); a transaction that deletes anything
/// also makes a netlink socket closed soon after wait for an RCU grace period (10-25 ms here,
/// with `nft` processes). Scripts run in this process (`Nftables`), `nft -f` where libnftables
/// cannot be loaded. Doing this with the CNI portmap and firewall plugins and
/// the bridge plugin's ipMasq cost 150-250 ms per task (each shells out to iptables many times;
/// see Docs/NETWORKING.md), and per-task chains besides.
///
/// Security groups follow AWS's semantics: tasks sharing a group may open connections to each
/// other on any port; tasks sharing none cannot; replies always pass (stateful); the host
/// reaches published ports whatever the groups.
public struct HostPolicy: Sendable {
    public struct Member: Codable, Sendable, Equatable {
        public var ip: String
        public var groups: [String]
        public var ports: [PublishedPort]
        /// The task's port on the bridge (its veth's host end): frames from it must carry the
        /// task's own MAC and IPv4 address. nil in a registry written before ports were bound,
        /// whose tasks' veths are not named with `portPrefix`, so the checks pass them by.
        public var port: String? = nil
    }

    /// The names of tasks' bridge ports begin with this, and no other software's veths do:
    /// the bridge table's rules apply to them all.
    public static let portPrefix = "frv"

    public struct Network: Codable, Sendable, Equatable {
        public var name: String
        public var subnet: String
        public var bridge: String
        public var outboundNAT: Bool
        public var members: [String: Member]
        /// The iptables chain where the subnet's ACCEPT rules were inserted, if any: leaving
        /// then needs no iptables calls when none were (each costs 3-8 ms).
        public var iptablesChain: String?
    }

    public let stateDirectory: String

    /// Where the scripts go. (A test sends them to the `nft` program inside a network
    /// namespace it made, and so tries the path a host without libnftables takes.)
    var nft = NftRoute.library

    public init(stateDirectory: String = "/run/fargate-run") {
        self.stateDirectory = stateDirectory
    }

    var registry: String { stateDirectory + "/networks" }
    static let table = "fargate_run"

    /// Refuses a subnet that overlaps another network's while that one has tasks: addresses
    /// would collide, the more specific route would take the other bridge's traffic, and each
    /// network's security-group rules would judge the other's packets.
    public func checkSubnet(network: String, subnet: String, bridge: String) throws {
        try locked { try conflictCheck(network: network, subnet: subnet, bridge: bridge) }
    }

    func conflictCheck(network: String, subnet: String, bridge: String) throws {
        guard let mine = HostPolicy.cidr(subnet) else { throw NetworkError.config("subnet \(subnet) is not an IPv4 CIDR") }
        for other in networks() where other.name != network && !other.members.isEmpty {
            guard let theirs = HostPolicy.cidr(other.subnet), mine.overlaps(theirs) else { continue }
            throw NetworkError.config("subnet \(subnet) (bridge \(bridge)) overlaps \(other.subnet) of bridge \(other.bridge), which \(other.members.count) running task\(other.members.count == 1 ? "" : "s") use; choose a --subnet outside it")
        }
    }

    /// An IPv4 CIDR as the range of addresses it covers.
    static func cidr(_ text: String) -> ClosedRange<UInt32>? {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let bits = UInt32(parts[1]), bits <= 32 else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
        guard octets.count == 4 else { return nil }
        let address = octets.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
        return (address & mask)...(address | ~mask)
    }

    /// Adds a task to its network's policy and applies it. `forwardDrops`: whether iptables'
    /// FORWARD policy is DROP, when the caller asked already (a first join needs it).
    public func join(network: String, subnet: String, bridge: String, outboundNAT: Bool, taskId: String, member: Member,
                     forwardDrops: Bool? = nil) throws {
        try locked {
            try conflictCheck(network: network, subnet: subnet, bridge: bridge)
            let before = networks()
            var net = load(network) ?? Network(name: network, subnet: subnet, bridge: bridge, outboundNAT: outboundNAT, members: [:])
            let first = net.members.isEmpty
            net.members[taskId] = member
            do {
                if first { net.iptablesChain = try IptablesGate().allow(subnet: subnet, forwardDrops: forwardDrops) }
                try save(net)
                if !member.ports.filter({ $0.hostIP.hasPrefix("127.") }).isEmpty { try HostPolicy.routeLocalnet(bridge: bridge) }
                if !member.groups.isEmpty && net.members.count > 1 { try HostPolicy.enableBridgeFiltering() }
                // The additions assume the table is what the registry says; where it is not
                // (a `create` finds something already there), the table is rebuilt whole.
                if (try? run(HostPolicy.joinScript(before: before, joined: net, member: member))) == nil { try apply() }
            } catch {
                net.members[taskId] = nil
                try? save(net)
                try? apply()
                if net.members.isEmpty, let chain = net.iptablesChain {
                    IptablesGate().remove(subnet: subnet, chain: chain)
                }
                throw error
            }
        }
    }

    /// Removes a task from its network's policy and applies it.
    public func leave(network: String, taskId: String) throws {
        try locked {
            guard var net = load(network) else { return }
            let member = net.members.removeValue(forKey: taskId)
            try save(net)
            // Its elements go, where that is all there is to it; else (the network's or one of
            // its groups' last member, or a table not as the registry says) the table is rebuilt.
            let deleted = member.flatMap { HostPolicy.leaveScript(left: net, member: $0) }.map { (try? run($0)) != nil } ?? false
            if !deleted { try apply() }
            if net.members.isEmpty, let chain = net.iptablesChain {
                IptablesGate().remove(subnet: net.subnet, chain: chain)
            }
        }
    }

    /// Removes `taskId` from every network it is a member of; returns their names. For a task
    /// whose attachment was never recorded, so whose network is not known.
    public func leaveEverywhere(taskId: String) throws -> [String] {
        // Each leave takes the lock itself (flock does not nest within a process).
        let names = networks().filter { $0.members[taskId] != nil }.map(\.name)
        for name in names { try leave(network: name, taskId: taskId) }
        return names
    }

    func locked<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectories(registry, mode: 0o700)
        let lock = try FileLock(stateDirectory + "/policy.lock")
        defer { lock.unlock() }
        // Every write of the registry holds this lock: a temporary file found now is one a
        // process killed mid-write left (`FileSystem.writeAtomically`'s name).
        for name in (try? FileManager.default.contentsOfDirectory(atPath: registry)) ?? [] where name.contains(".json.tmp-") {
            unlink(registry + "/" + name)
        }
        return try body()
    }

    func load(_ name: String) -> Network? {
        guard let d = FileManager.default.contents(atPath: registry + "/" + name + ".json") else { return nil }
        return try? JSONDecoder().decode(Network.self, from: d)
    }

    func save(_ net: Network) throws {
        let path = registry + "/" + net.name + ".json"
        if net.members.isEmpty {
            unlink(path)
            return
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        try FileSystem.writeAtomically(path, Array(try enc.encode(net)), mode: 0o600, durable: false)
    }

    func networks() -> [Network] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: registry)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { load(String($0.dropLast(5))) }.sorted { $0.name < $1.name }
    }

    /// Replaces the table with one built from every registered network.
    func apply() throws {
        try run(HostPolicy.script(networks()))
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
        let active = networks.filter { !$0.members.isEmpty }
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
            for g in Set(members.flatMap(\.groups)).sorted() {
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
        "set \(groupSetName(net, group)) { type ipv4_addr; elements = { \(ips.joined(separator: ", ")) }; }"
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
        let active = before.filter { !$0.members.isEmpty }
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
        let known = Set(old.members.values.flatMap(\.groups))
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
    /// no member left, or a group of the member's has none (its set and rule go too). A table
    /// missing one of the elements refuses the transaction whole.
    static func leaveScript(left net: Network, member: Member) -> String? {
        let remaining = Set(net.members.values.flatMap(\.groups))
        let groups = Set(member.groups)
        guard !net.members.isEmpty, groups.isSubset(of: remaining) else { return nil }
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

    /// Present where br_netfilter is loaded.
    static let bridgeFilteringKnob = "/proc/sys/net/bridge/bridge-nf-call-iptables"

    /// Bridged traffic between tasks passes the inet hooks only through br_netfilter.
    static func enableBridgeFiltering() throws {
        let knob = bridgeFilteringKnob
        guard FileSystem.exists(knob) else {
            throw NetworkError.config("security groups need br_netfilter (modprobe br_netfilter): without it tasks on one bridge reach each other unfiltered")
        }
        if (try? FileSystem.readString(knob))?.hasPrefix("1") != true { try FileSystem.writeString(knob, "1") }
    }

    /// DNAT of 127.0.0.1 to a task needs the kernel to route loopback-sourced packets out of
    /// the bridge (as the portmap plugin does).
    static func routeLocalnet(bridge: String) throws {
        let knob = "/proc/sys/net/ipv4/conf/\(bridge)/route_localnet"
        if FileSystem.exists(knob), (try? FileSystem.readString(knob))?.hasPrefix("1") != true { try FileSystem.writeString(knob, "1") }
    }
}

/// A packet passes only if every base chain accepts it: where iptables' FORWARD policy is DROP
/// (Docker sets it), a subnet's traffic needs an ACCEPT there too. Docker's DOCKER-USER chain
/// is the place it reserves for such rules, else FORWARD itself.
struct IptablesGate {
    /// The command that runs iptables; a test points it into a network namespace it made.
    var command: [String] = ["/usr/sbin/iptables"]

    /// Where the FORWARD policy is read. iptables-nft (Debian's default) keeps its chains in
    /// nftables, where listing the chain in this process takes about 0.2 ms; an iptables
    /// process takes 2-3 ms, more under load, on the path of a task's join when it is the
    /// network's first. nil: iptables is asked.
    var forwardChain: NftRoute? = IptablesGate.keepsRulesInNftables(IptablesGate.iptables) ? .library : nil

    static let iptables = "/usr/sbin/iptables"

    /// Whether the iptables at `path` is the nftables one (`xtables-nft-multi`, through
    /// Debian's alternatives) rather than the legacy one.
    static func keepsRulesInNftables(_ path: String) -> Bool {
        guard let real = realpath(path, nil) else { return false }
        defer { free(real) }
        let name = String(cString: real).split(separator: "/").last ?? ""
        return name.contains("nft")
    }

    func run(_ arguments: [String]) throws(SystemError) -> Subprocess.Result {
        try Subprocess.run(command[0], Array(command.dropFirst()) + ["-w", "60"] + arguments, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
    }

    /// Whether iptables' FORWARD policy is DROP; false where there is no iptables.
    func forwardDrops() -> Bool {
        guard FileSystem.exists(command[0]) else { return false }
        if let forwardChain, let drops = IptablesGate.forwardDrops(in: forwardChain) { return drops }
        // `-S FORWARD` starts with the policy line; `-S FORWARD 1` would print the first rule.
        guard let listing = try? run(["-S", "FORWARD"]) else { return false }
        return listing.stdoutText.split(separator: "\n").first == "-P FORWARD DROP"
    }

    /// The policy as nftables lists iptables-nft's chain (`table ip filter`, chain `FORWARD`);
    /// no such chain is iptables with no rules: accept. nil where the listing failed otherwise.
    static func forwardDrops(in route: NftRoute) -> Bool? {
        switch route.run("list chain ip filter FORWARD\n") {
        case .success(let text):
            // `type filter hook forward priority filter; policy drop;`
            return text.split(separator: "\n").contains { $0.contains("hook forward") && $0.contains("policy drop;") }
        case .failure(let failure):
            return failure.message.contains("No such file or directory") ? false : nil
        }
    }

    /// Inserts the subnet's ACCEPT rules when the FORWARD policy is DROP (`forwardDrops`, or
    /// asked here). Returns the chain they are in, nil when none were needed.
    func allow(subnet: String, forwardDrops known: Bool? = nil) throws -> String? {
        guard known ?? forwardDrops() else { return nil }
        let chain = (try? run(["-S", "DOCKER-USER"]).status) == 0 ? "DOCKER-USER" : "FORWARD"
        for rule in rules(subnet: subnet, chain: chain) where (try? run(["-C"] + rule).status) != 0 {
            let r = try run(["-I"] + rule)
            guard r.status == 0 else {
                remove(subnet: subnet, chain: chain)
                throw NetworkError.plugin(plugin: "iptables", command: "-I " + rule.joined(separator: " "),
                                          message: r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
            }
        }
        return chain
    }

    func remove(subnet: String, chain: String) {
        // -D of a rule someone already removed fails; that is the state wanted.
        for rule in rules(subnet: subnet, chain: chain) { _ = try? run(["-D"] + rule) }
    }

    func rules(subnet: String, chain: String) -> [[String]] {
        ["-s", "-d"].map { [chain, $0, subnet, "-m", "comment", "--comment", "fargate-run", "-j", "ACCEPT"] }
    }
}
