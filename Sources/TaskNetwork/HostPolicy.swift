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
/// transaction: atomic, and nothing of it is left once the last task is gone (under a host,
/// once the host that kept the network between its tasks releases it: `Network.keepers`). A rebuild's
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
        /// Hosts (`fargate-run serve`) that keep the network in the table between their tasks:
        /// a table made for a first task and deleted with the last costs each task of a host
        /// that runs one at a time about 2 ms of CPU (the kernel's conntrack and NAT hooks
        /// registered and unregistered; Docs/PERFORMANCE.md). Only live ones count (`load`).
        public var keepers: [ProcessIdentity]? = nil
        /// The security groups whose sets and rules stay with the network while it is kept.
        public var keptGroups: [String]? = nil

        /// Whether the table has the network: it has tasks, or a live host keeps it.
        var inTable: Bool { !members.isEmpty || !(keepers ?? []).isEmpty }

        /// The groups with a set and a rule in the table: its members', and the kept ones.
        var tableGroups: Set<String> {
            Set(members.values.flatMap(\.groups)).union((keepers ?? []).isEmpty ? [] : keptGroups ?? [])
        }

        /// `keeper` keeps the network, and `groups` (its tasks' groups) with it.
        mutating func keep(by keeper: ProcessIdentity, groups: [String]) {
            if !(keepers ?? []).contains(keeper) { keepers = (keepers ?? []) + [keeper] }
            keptGroups = Array(Set(keptGroups ?? []).union(groups)).sorted()
        }

        /// The network without `keeper` and without keepers that died: one with no keeper
        /// left keeps no groups either.
        func keptBy(removing keeper: ProcessIdentity? = nil) -> Network {
            var net = self
            net.keepers = keepers?.filter { $0 != keeper && $0.isAlive }
            if net.keepers?.isEmpty == true { (net.keepers, net.keptGroups) = (nil, nil) }
            return net
        }
    }

    public let stateDirectory: String

    /// Where the scripts go. (A test sends them to the `nft` program inside a network
    /// namespace it made, and so tries the path a host without libnftables takes.)
    var nft = NftRoute.library
    /// Where a subnet's ACCEPT rules go, and the FORWARD policy is asked when the caller of a
    /// join has not (a test points it into its namespace too).
    var iptables = IptablesGate()

    public init(stateDirectory: String = "/run/fargate-run") {
        self.stateDirectory = stateDirectory
    }

    var registry: String { stateDirectory + "/networks" }
    static let table = "fargate_run"

    /// Refuses a subnet that overlaps another network's while that one has tasks: addresses
    /// would collide, the more specific route would take the other bridge's traffic, and each
    /// network's security-group rules would judge the other's packets.
    public func checkSubnet(network: String, subnet: String, bridge: String) throws {
        try locked { try conflictCheck(network: network, subnet: subnet, bridge: bridge, among: networks()) }
    }

    func conflictCheck(network: String, subnet: String, bridge: String, among networks: [Network]) throws {
        guard let mine = HostPolicy.cidr(subnet) else { throw NetworkError.config("subnet \(subnet) is not an IPv4 CIDR") }
        for other in networks where other.name != network && other.inTable {
            guard let theirs = HostPolicy.cidr(other.subnet), mine.overlaps(theirs) else { continue }
            throw NetworkError.config("subnet \(subnet) (bridge \(bridge)) overlaps \(other.subnet) of bridge \(other.bridge), \(HostPolicy.users(other)); choose a --subnet outside it")
        }
    }

    /// Who has a network in the table, for messages: "which 2 running tasks use", or the hosts
    /// that keep it.
    static func users(_ net: Network) -> String {
        let keepers = net.keepers ?? []
        return net.members.isEmpty
            ? "which the fargate-run host\(keepers.count == 1 ? "" : "s") with pid \(keepers.map { String($0.pid) }.joined(separator: ", ")) keep\(keepers.count == 1 ? "s" : "") for its tasks"
            : "which \(net.members.count) running task\(net.members.count == 1 ? "" : "s") use"
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
    /// `keeper`: the host running the task, which keeps the network (and the task's groups)
    /// in the table after its last task, until `release`.
    public func join(network: String, subnet: String, bridge: String, outboundNAT: Bool, taskId: String, member: Member,
                     forwardDrops: Bool? = nil, keeper: ProcessIdentity? = nil) throws {
        try locked {
            // A host that died leaves its network in the table: out first, or it would judge
            // packets of a network now allowed to overlap it. (Every network left is in the table.)
            let (before, swept, _) = try sweep(removing: nil)
            try conflictCheck(network: network, subnet: subnet, bridge: bridge, among: before)
            // The network is its bridge's: a run that asks for it with another subnet or NAT
            // while it is in the table would get the table's (no rules for its own subnet).
            let existing = before.first { $0.name == network }
            if let other = existing, other.subnet != subnet || other.outboundNAT != outboundNAT {
                throw NetworkError.config("bridge \(bridge) carries \(other.subnet) with outbound NAT \(other.outboundNAT ? "on" : "off"), \(HostPolicy.users(other)); this task asks for \(subnet) with outbound NAT \(outboundNAT ? "on" : "off"): give the same --subnet and NAT, or another --bridge")
            }
            var net = existing ?? Network(name: network, subnet: subnet, bridge: bridge, outboundNAT: outboundNAT, members: [:])
            let first = !net.inTable
            net.members[taskId] = member
            if let keeper { net.keep(by: keeper, groups: member.groups) }
            do {
                // Asked again while nothing was inserted: the policy may have become DROP (Docker
                // started) while a host kept the network.
                if first || net.iptablesChain == nil { net.iptablesChain = try iptables.allow(subnet: subnet, forwardDrops: forwardDrops) }
                try save(net)
                if !member.ports.filter({ $0.hostIP.hasPrefix("127.") }).isEmpty { try HostPolicy.routeLocalnet(bridge: bridge) }
                if !member.groups.isEmpty && net.members.count > 1 { try HostPolicy.enableBridgeFiltering() }
                // The additions assume the table is what the registry says; where it is not
                // (a `create` finds something already there, or a dead host's network was
                // swept from the registry), the table is rebuilt whole.
                if swept || (try? run(HostPolicy.joinScript(before: before, joined: net, member: member))) == nil { try apply() }
            } catch {
                net.members[taskId] = nil
                if first { (net.keepers, net.keptGroups) = (nil, nil) }
                try? save(net)
                try? apply()
                if !net.inTable, let chain = net.iptablesChain {
                    iptables.remove(subnet: subnet, chain: chain)
                }
                throw error
            }
        }
    }

    /// Removes a task from its network's policy and applies it.
    public func leave(network: String, taskId: String) throws {
        try locked {
            let (networks, swept, _) = try sweep(removing: nil)
            guard var net = networks.first(where: { $0.name == network }) else {
                if swept { try apply(networks) }
                return
            }
            let member = net.members.removeValue(forKey: taskId)
            try save(net)
            // Its elements go, where that is all there is to it; else (the network's or one of
            // its groups' last member, unless kept, a table not as the registry says, or a dead
            // host's network swept) the table is rebuilt.
            let deleted = !swept && (member.flatMap { HostPolicy.leaveScript(left: net, member: $0) }.map { (try? run($0)) != nil } ?? false)
            if !deleted { try apply() }
            if !net.inTable, let chain = net.iptablesChain {
                iptables.remove(subnet: net.subnet, chain: chain)
            }
        }
    }

    /// `keeper` (a host that stops) no longer keeps its networks; those left with no task and
    /// no live keeper leave the table, as do those whose keepers died (a host killed: what
    /// `gc` and the next host's start do with nil). Returns the networks that left the table.
    @discardableResult
    public func release(keeper: ProcessIdentity?) throws -> [String] {
        try locked {
            let (networks, changed, gone) = try sweep(removing: keeper)
            if changed { try apply(networks) }
            return gone
        }
    }

    /// `keeper`, a host taking over tasks that a host before it left running, keeps its own
    /// network (`network` with this subnet and NAT setting: the one its new tasks join) when
    /// some of those tasks are members of it, as if it had joined them itself: the last one's
    /// leave leaves it in the table, until `release`. Returns whether it keeps it. A network
    /// the host does not join (its predecessor ran with another bridge, subnet or NAT setting,
    /// or a CNI conflist) is not kept: it leaves with its last task, as before, rather than
    /// stay in the way of the host's own. The keep itself changes nothing in the table (the
    /// members' sets are there); keepers found dead on the way are swept, as at a join.
    @discardableResult
    public func keep(network: String, subnet: String, outboundNAT: Bool, tasks: [String], keeper: ProcessIdentity) throws -> Bool {
        guard !tasks.isEmpty else { return false }
        let taken = Set(tasks)
        return try locked {
            let (networks, swept, _) = try sweep(removing: nil)
            var kept = false
            if var net = networks.first(where: { $0.name == network && $0.subnet == subnet && $0.outboundNAT == outboundNAT }) {
                let theirs = net.members.filter { taken.contains($0.key) }
                if !theirs.isEmpty {
                    net.keep(by: keeper, groups: theirs.values.flatMap(\.groups))
                    try save(net)
                    kept = true
                }
            }
            if swept { try apply() }
            return kept
        }
    }

    /// Reads the registry once, taking `keeper` and every keeper that died out of its
    /// networks; those left with no task and no keeper leave it (and their iptables rules go).
    /// The networks left (all in the table), whether anything changed (the table then needs a
    /// rebuild), and the networks that left. Lock held.
    func sweep(removing keeper: ProcessIdentity?) throws -> (networks: [Network], changed: Bool, gone: [String]) {
        var networks: [Network] = [], changed = false, gone: [String] = []
        for name in registeredNames() {
            guard let stored = try? decode(name) else { continue }
            let net = stored.keptBy(removing: keeper)
            if net != stored {
                try save(net)
                changed = true
            }
            if net.inTable {
                networks.append(net)
            } else {
                gone.append(name)
                if let chain = net.iptablesChain { iptables.remove(subnet: net.subnet, chain: chain) }
            }
        }
        return (networks.sorted { $0.name < $1.name }, changed, gone)
    }

    /// Removes `taskId` from every network it is a member of; returns their names. For a task
    /// whose attachment was never recorded, so whose network is not known.
    public func leaveEverywhere(taskId: String) throws -> [String] {
        // Each leave takes the lock itself (flock does not nest within a process).
        let names = networks().filter { $0.members[taskId] != nil }.map(\.name)
        for name in names { try leave(network: name, taskId: taskId) }
        return names
    }
}
