#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import TaskNetwork
import TestSupport
import Testing

/// The host policy's nft script on the real kernel, inside a network namespace the test makes
/// (nftables tables belong to a namespace, so the host's are never touched).
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct HostPolicyKernelTests {
    let name = "fr-nft-\(getpid())-\(UInt16.random(in: 0...UInt16.max))"

    /// Two members of net-a (198.19/16) sharing a group, one with a group of its own, and one
    /// of net-b (198.20/16); t1 and t2 publish a port each.
    static let t1 = HostPolicy.Member(ip: "198.19.0.2", groups: ["default"], ports: [PublishedPort(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp")],
                                      port: "frv00000002")
    static let t2 = HostPolicy.Member(ip: "198.19.0.3", groups: ["default", "data"], ports: [PublishedPort(hostIP: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp")],
                                      port: "frv00000003")
    static let t3 = HostPolicy.Member(ip: "198.20.0.2", groups: ["default"], ports: [], port: "frv00000004")

    func nft(_ script: String) throws {
        let r = try Subprocess.run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "-f", "-"], environment: [], stdin: Array(script.utf8))
        #expect(r.status == 0, "nft: \(r.stderrText)\n\(script)")
    }

    func attempt(_ script: String) throws -> Int32 {
        try Subprocess.run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "-f", "-"], environment: [], stdin: Array(script.utf8)).status
    }

    /// iptables in the test's namespace.
    var iptables: [String] { ["/usr/sbin/ip", "netns", "exec", name, "/usr/sbin/iptables"] }

    /// A policy with a registry of its own in `state`, whose scripts go to the `nft` program
    /// in the test's namespace, and its iptables questions and rules to iptables there.
    func routedPolicy(_ state: TemporaryDirectory) -> HostPolicy {
        var policy = HostPolicy(stateDirectory: state.path)
        policy.nft = .program(["/usr/sbin/ip", "netns", "exec", name, "/usr/sbin/nft"])
        policy.iptables = IptablesGate(command: iptables, forwardChain: nil)
        return policy
    }

    /// A listing's words, sorted: rule and element order do not count.
    func tokens(_ s: String) -> [String] { s.split(whereSeparator: { " \n\t,{}".contains($0) }).map(String.init).sorted() }

    func listing() throws -> String {
        // Both tables, inet and bridge: nothing else is in the test's namespace.
        try run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "list", "ruleset"]).stdout
    }

    /// Scripts run in this process through libnftables (CI installs nftables): a failing one
    /// comes back as nft's own message, naming the command, rather than on our stderr. The
    /// failing delete and the listing change nothing on the host.
    @Test func scriptsRunInProcessAndReportNftsErrors() throws {
        let nft = try #require(Nftables.shared, "libnftables.so.1 loads")
        func error(_ script: String) -> String? {
            if case .failure(let f) = nft.run(script) { return f.message }
            return nil
        }
        #expect(error("list tables") == nil)
        let missing = "fr_absent_\(getpid())"
        let message = try #require(error("delete table inet \(missing)"))
        #expect(message.contains("delete table inet \(missing)") && message.contains("No such file or directory"), "\(message)")
        #expect(error("list tables") == nil, "a failed script leaves the context usable")
        // Its netlink socket must not pass to the programs we start (CNI plugins, iptables).
        let r = try Subprocess.run("/bin/sh", ["-c", "for f in /proc/$$/fd/*; do readlink $f; done"], environment: [])
        let inherited = r.stdoutText.split(separator: "\n").filter { $0.hasPrefix("socket:") }
        let table = try FileSystem.readString("/proc/net/netlink")
        let netfilter = table.split(separator: "\n").filter { $0.split(separator: " ").count >= 10 && $0.split(separator: " ")[1] == "12" }
            .map { "socket:[\($0.split(separator: " ")[9])]" }
        #expect(!netfilter.isEmpty, "the context holds a netfilter netlink socket")
        #expect(inherited.allSatisfy { !netfilter.contains(String($0)) }, "inherited: \(inherited)")
    }

    @Test func theTableLoadsIsReplacedWholeAndGoesWithTheLastMember() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let port = PublishedPort(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp")
        var a = HostPolicy.Network(name: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, members: [
            "t1": HostPolicy.Member(ip: "198.19.0.2", groups: ["default"], ports: [port], port: "frv00000002"),
            "t2": HostPolicy.Member(ip: "198.19.0.3", groups: ["default", "data"], ports: [], port: "frv00000003"),
        ])
        let b = HostPolicy.Network(name: "net-b", subnet: "198.20.0.0/16", bridge: "y", outboundNAT: false, members: [
            "t3": HostPolicy.Member(ip: "198.20.0.2", groups: ["default"], ports: [], port: "frv00000004"),
        ])
        try nft(HostPolicy.script([a, b]))
        let both = try listing()
        #expect(both.contains("198.19.0.2") && both.contains("198.20.0.2"), "\(both)")
        // Every member's port is bound to its MAC and address, in the kernel's own words.
        #expect(both.contains("\"frv00000002\" . 0a:58:c6:13:00:02 . 198.19.0.2"), "\(both)")
        #expect(both.contains("\"frv00000004\" . 0a:58:c6:14:00:02 . 198.20.0.2"), "\(both)")
        #expect(both.contains("127.0.0.1 . tcp . 8080 : 198.19.0.2 . 80"), "\(both)")
        // The net's chain: its lines up to the one closing it.
        let lines = both.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
        let start = try #require(lines.firstIndex(of: "chain net_" + HostPolicy.hash("net-a") + " {"))
        let chainA = lines[(start + 1)...].prefix { $0 != "}" }
        #expect(chainA.count == 3 && chainA.last?.hasSuffix("comment \"no common security group\"") == true,
                "two groups, then the reject: \(chainA)")
        // A member leaves: the whole table is replaced, nothing of it stays.
        a.members["t1"] = nil
        try nft(HostPolicy.script([a, b]))
        let after = try listing()
        #expect(!after.contains("198.19.0.2") && !after.contains("frv00000002"), "\(after)")
        #expect(after.contains("198.19.0.3"), "\(after)")
        try nft(HostPolicy.script([]))
        #expect(try run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "list", "tables"]).stdout.isEmpty, "no member, no table")
    }

    /// A host keeps its network in the table between its tasks: the last task's leave and the
    /// next one's join only delete and add elements (the table keeps its handle: nothing was
    /// rebuilt), the subnet stays taken, and the network leaves the table when its host
    /// releases it or is found dead.
    @Test func aHostKeepsItsNetworkInTheTableBetweenItsTasks() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let state = try TemporaryDirectory()
        defer { state.remove() }
        let policy = routedPolicy(state)
        let me = ProcessIdentity.current
        // A keeper that died: its pid now another process's (this one's).
        let dead = ProcessIdentity(pid: me.pid, startTime: me.startTime + 1)
        let join = { (id: String, ip: String, keeper: ProcessIdentity?) in
            try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: id,
                            member: HostPolicy.Member(ip: ip, groups: ["default"], ports: []), forwardDrops: false, keeper: keeper)
        }
        func handles() throws -> [String] {
            try run("/usr/sbin/ip", ["netns", "exec", name, "/usr/sbin/nft", "-a", "list", "table", "inet", "fargate_run"]).stdout
                .split(separator: "\n").filter { $0.contains("table ") || $0.contains("chain ") }.map(String.init)
        }
        // What `kill -9` of the keeper leaves: the registry names a host that is gone.
        func killKeeper() throws {
            var file = try policy.decode("net-a")
            file.keepers = [dead]
            try FileSystem.writeAtomically(state.path + "/networks/net-a.json", Array(try JSONEncoder().encode(file)), durable: false)
        }
        try join("t1", "198.19.0.2", me)
        let made = try handles()
        #expect(made.count >= 5, "\(made)")
        try policy.leave(network: "net-a", taskId: "t1")
        let kept = try listing()
        #expect(kept.contains("198.19.0.0/16") && kept.contains("group default") && !kept.contains("198.19.0.2"), "\(kept)")
        #expect(try handles() == made, "the last leave deleted elements, nothing was rebuilt")
        #expect(FileManager.default.fileExists(atPath: state.path + "/networks/net-a.json"))
        // The kept group's empty set and the table a rebuild would make are the same.
        try nft(HostPolicy.script(policy.networks()))
        let asRebuilt = try listing()
        #expect(tokens(kept) == tokens(asRebuilt), "kept: \(kept)\nrebuilt: \(asRebuilt)")
        let rebuilt = try handles()
        #expect(rebuilt != made, "(a rebuild makes a new table, with a new handle)")
        try join("t2", "198.19.0.3", me)
        #expect(try handles() == rebuilt, "the next join added elements")
        #expect(try listing().contains("198.19.0.3"))
        // The subnet is taken while kept, even with no task on it.
        try policy.leave(network: "net-a", taskId: "t2")
        #expect { try policy.checkSubnet(network: "net-b", subnet: "198.19.5.0/24", bridge: "y") } throws: {
            "\($0)".contains("which the fargate-run host with pid \(me.pid) keeps for its tasks")
        }
        // Its host stops: the network leaves the table, and the registry.
        #expect(try policy.release(keeper: me) == ["net-a"])
        #expect(try attempt("list table inet fargate_run\n") != 0, "the table goes with its keeper")
        #expect(!FileManager.default.fileExists(atPath: state.path + "/networks/net-a.json"))
        // A keeper that died (its pid now another process's) keeps nothing: its last task's
        // leave takes the table.
        try join("t3", "198.19.0.4", dead)
        try policy.leave(network: "net-a", taskId: "t3")
        #expect(try attempt("list table inet fargate_run\n") != 0, "a dead keeper keeps nothing")
        // A host killed between its tasks: what gc's release(keeper: nil) sweeps.
        try join("t4", "198.19.0.5", me)
        try policy.leave(network: "net-a", taskId: "t4")
        try killKeeper()
        #expect(try attempt("list table inet fargate_run\n") == 0, "the killed host's network is still there")
        #expect(try policy.release(keeper: nil) == ["net-a"])
        #expect(try attempt("list table inet fargate_run\n") != 0 && attempt("list table bridge fargate_run\n") != 0)
        #expect(try policy.release(keeper: nil).isEmpty, "nothing more to release")

        // The network is its bridge's: while it is in the table, a run asking for it with
        // another NAT (or subnet) is refused rather than given the table's.
        try join("t5", "198.19.0.6", me)
        #expect {
            try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: false, taskId: "t6",
                            member: HostPolicy.Member(ip: "198.19.0.7", groups: ["default"], ports: []), forwardDrops: false)
        } throws: { "\($0)".contains("bridge x carries 198.19.0.0/16 with outbound NAT on, which 1 running task use") }
        #expect(!(try listing()).contains("198.19.0.7"))
        // A killed host's network is swept by the next join, which may then overlap it.
        try policy.leave(network: "net-a", taskId: "t5")
        try killKeeper()
        try policy.join(network: "net-b", subnet: "198.19.5.0/24", bridge: "y", outboundNAT: true, taskId: "t8",
                        member: HostPolicy.Member(ip: "198.19.5.2", groups: ["default"], ports: []), forwardDrops: false)
        let swept = try listing()
        #expect(!swept.contains("198.19.0.0/16") && swept.contains("198.19.5.0/24"), "net-a's rules went with the join: \(swept)")
        #expect(!FileManager.default.fileExists(atPath: state.path + "/networks/net-a.json"))
        try policy.leave(network: "net-b", taskId: "t8")
        #expect(try attempt("list table inet fargate_run\n") != 0)
    }

    /// A host that takes over tasks left running keeps their network from then on, as if it
    /// had joined them itself (their last leave keeps it), when it is the host's own: the same
    /// name, subnet and NAT setting its new tasks would join with. Another network of theirs
    /// leaves with its last task, as before.
    @Test func aHostTakingOverTasksKeepsItsOwnNetwork() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let state = try TemporaryDirectory()
        defer { state.remove() }
        let policy = routedPolicy(state)
        let me = ProcessIdentity.current
        // Joined by a host that was killed since (a keeper whose pid is now another process's).
        let gone = ProcessIdentity(pid: me.pid, startTime: me.startTime + 1)
        for (id, ip) in [("t1", "198.19.0.2"), ("t2", "198.19.0.3")] {
            try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: id,
                            member: HostPolicy.Member(ip: ip, groups: ["default", "data"], ports: []), forwardDrops: false, keeper: gone)
        }
        // One on a network the new host does not run (its predecessor had another --bridge).
        try policy.join(network: "net-b", subnet: "198.20.0.0/16", bridge: "y", outboundNAT: true, taskId: "t3",
                        member: HostPolicy.Member(ip: "198.20.0.2", groups: ["default"], ports: []), forwardDrops: false, keeper: gone)
        let before = try listing()
        let taken = ["t1", "t2", "t3"]
        #expect(try !policy.keep(network: "net-a", subnet: "198.19.0.0/16", outboundNAT: true, tasks: ["t9"], keeper: me), "no member of it")
        #expect(try !policy.keep(network: "net-a", subnet: "198.19.0.0/24", outboundNAT: true, tasks: taken, keeper: me), "another subnet")
        #expect(try !policy.keep(network: "net-a", subnet: "198.19.0.0/16", outboundNAT: false, tasks: taken, keeper: me), "another NAT")
        #expect(try policy.keep(network: "net-a", subnet: "198.19.0.0/16", outboundNAT: true, tasks: taken, keeper: me))
        #expect(tokens(try listing()) == tokens(before), "the table as it was (the dead keeper's sweep rebuilt it the same)")
        let a = try policy.decode("net-a"), b = try policy.decode("net-b")
        #expect(a.keepers == [me] && a.keptGroups == ["data", "default"], "the dead keeper out, this host in: \(a)")
        #expect(b.keepers == nil && b.keptGroups == nil, "not this host's network: \(b)")
        for id in ["t1", "t2"] { try policy.leave(network: "net-a", taskId: id) }
        try policy.leave(network: "net-b", taskId: "t3")
        let kept = try listing()
        #expect(kept.contains("198.19.0.0/16") && kept.contains("group data") && !kept.contains("198.19.0.2"), "\(kept)")
        #expect(!kept.contains("198.20.0.0/16"), "net-b went with its last task: \(kept)")
        #expect(try policy.release(keeper: me) == ["net-a"])
        #expect(try attempt("list table inet fargate_run\n") != 0)
    }

    /// A network kept while iptables' FORWARD policy turns DROP (Docker started meanwhile): no
    /// ACCEPT rule was inserted at its first join, so the next task's join asks again and
    /// inserts them; they stay while the network is kept and go when it leaves the table.
    @Test func aKeptNetworkGetsItsAcceptRulesWhenForwardingTurnsToDrop() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let state = try TemporaryDirectory()
        defer { state.remove() }
        let policy = routedPolicy(state)
        func rules() throws -> [String] {
            let r = try run(iptables[0], Array(iptables.dropFirst()) + ["-S", "FORWARD"])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.split(separator: "\n").map(String.init).filter { $0.contains("fargate-run") }
        }
        let me = ProcessIdentity.current
        func join(_ id: String, _ ip: String) throws {
            // As a host joins: the policy asked by the join itself (nil), the host keeping.
            try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: id,
                            member: HostPolicy.Member(ip: ip, groups: ["default"], ports: []), forwardDrops: nil, keeper: me)
        }
        try join("t1", "198.19.0.2")
        #expect(try rules().isEmpty, "forwarding accepted: no rule")
        try policy.leave(network: "net-a", taskId: "t1")
        #expect(try run(iptables[0], Array(iptables.dropFirst()) + ["-P", "FORWARD", "DROP"]).status == 0)
        try join("t2", "198.19.0.3")
        let inserted = try rules()
        #expect(inserted.count == 2 && inserted.allSatisfy { $0.contains("198.19.0.0/16") && $0.hasSuffix("-j ACCEPT") }, "\(inserted)")
        #expect(try policy.decode("net-a").iptablesChain == "FORWARD")
        try policy.leave(network: "net-a", taskId: "t2")
        #expect(try rules().count == 2, "they stay while the network is kept")
        #expect(try policy.release(keeper: me) == ["net-a"])
        #expect(try rules().isEmpty, "they go with the network")
    }

    /// Joins made of additions give the table a rebuild would (order aside), and one applied
    /// to a table that is not what the registry says is refused whole.
    /// Where libnftables cannot be loaded, the scripts go to the `nft` program: the same joins
    /// and leaves, here through `ip netns exec` into the test's namespace.
    @Test func theNftProgramStandsInForTheLibrary() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let state = try TemporaryDirectory()
        defer { state.remove() }
        let policy = routedPolicy(state)
        // No published ports and one member with groups: nothing of the host's (route_localnet,
        // br_netfilter) is touched.
        let t1 = HostPolicy.Member(ip: "198.19.0.2", groups: ["default"], ports: [])
        let t2 = HostPolicy.Member(ip: "198.19.0.3", groups: [], ports: [])
        try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: "t1", member: t1, forwardDrops: false)
        try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: "t2", member: t2, forwardDrops: false)
        // What a process killed while writing the registry left: the next join removes it.
        let stale = state.path + "/networks/net-a.json.tmp-99999-1"
        #expect(FileManager.default.createFile(atPath: stale, contents: nil))
        let t3 = HostPolicy.Member(ip: "198.19.0.4", groups: ["default"], ports: [])
        try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: "t3", member: t3, forwardDrops: false)
        #expect(!FileManager.default.fileExists(atPath: stale), "a killed writer's temporary file goes")
        let joined = try listing()
        #expect(joined.contains("198.19.0.2") && joined.contains("masquerade"), "\(joined)")
        // t3 stays in t1's group: its element is deleted, the rest is as it was.
        try policy.leave(network: "net-a", taskId: "t1")
        let left = try listing()
        #expect(left.contains("masquerade") && !left.contains("198.19.0.2") && left.contains("198.19.0.4"), "\(left)")
        // A table not as the registry says (t3's and t4's addresses taken out of their group by
        // hand): t4's deletions are refused whole, and its leave rebuilds the table, t3 back in.
        let t4 = HostPolicy.Member(ip: "198.19.0.5", groups: ["default"], ports: [])
        try policy.join(network: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, taskId: "t4", member: t4, forwardDrops: false)
        let set = HostPolicy.groupSetName(HostPolicy.Network(name: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, members: [:]), "default")
        try nft("delete element inet fargate_run \(set) { 198.19.0.4, 198.19.0.5 }\n")
        try policy.leave(network: "net-a", taskId: "t4")
        let rebuilt = try listing()
        #expect(rebuilt.contains("198.19.0.4") && !rebuilt.contains("198.19.0.5"), "\(rebuilt)")
        // The last of the group: the table is rebuilt without its set and rule.
        try policy.leave(network: "net-a", taskId: "t3")
        let groupless = try listing()
        #expect(groupless.contains("masquerade") && !groupless.contains("198.19.0.4") && !groupless.contains("group default"), "\(groupless)")
        try policy.leave(network: "net-a", taskId: "t2")
        #expect(try attempt("list table inet fargate_run\n") != 0, "the table goes with the last member")
        #expect(try attempt("list table bridge fargate_run\n") != 0, "and the bridge table with it")
        // nft's own message comes back.
        #expect { try policy.run("delete table inet fr_absent\n") } throws: { "\($0)".contains("fr_absent") }
    }

    @Test func joinsAddToTheTableAndAStaleTableIsRefused() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let (t1, t2, t3) = (Self.t1, Self.t2, Self.t3)
        var a = HostPolicy.Network(name: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, members: ["t1": t1])
        try nft(HostPolicy.joinScript(before: [], joined: a, member: t1))
        let alone = try listing()
        let beforeT2 = [a]
        a.members["t2"] = t2
        try nft(HostPolicy.joinScript(before: beforeT2, joined: a, member: t2))
        let b = HostPolicy.Network(name: "net-b", subnet: "198.20.0.0/16", bridge: "y", outboundNAT: false, members: ["t3": t3])
        try nft(HostPolicy.joinScript(before: [a], joined: b, member: t3))
        let joined = try listing()
        // Tokens, so that rule and element order do not count.
        // The same join again finds its element there: refused, nothing of it applied.
        #expect(try attempt(HostPolicy.joinScript(before: beforeT2, joined: a, member: t2)) != 0)
        #expect(try listing() == joined)
        // A first member's script finds a table there: refused.
        #expect(try attempt(HostPolicy.joinScript(before: [], joined: a, member: t1)) != 0)
        try nft(HostPolicy.script([a, b]))
        let rebuilt = try listing()
        #expect(tokens(rebuilt) == tokens(joined), "additions: \(joined)\nrebuilt: \(rebuilt)")
        a.members["t2"] = nil
        try nft(HostPolicy.script([a]))
        let left = try listing()
        #expect(tokens(left) == tokens(alone), "back to the first member alone: \(left)")
    }

    /// A leave that takes neither a network's nor a group's last member deletes the member's
    /// elements and gives the table a rebuild would; a table without them refuses it whole.
    @Test func leavesDeleteFromTheTableAsARebuildWould() throws {
        let ns = try NetworkNamespace.create(name: name)
        defer { try? ns.remove() }
        let (t1, t2, t3) = (Self.t1, Self.t2, Self.t3)
        var a = HostPolicy.Network(name: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true, members: ["t1": t1, "t2": t2])
        let b = HostPolicy.Network(name: "net-b", subnet: "198.20.0.0/16", bridge: "y", outboundNAT: false, members: ["t3": t3])
        try nft(HostPolicy.script([a, b]))
        let both = try listing()
        #expect(both.contains("198.19.0.2") && both.contains("frv00000002") && both.contains("8080"), "\(both)")
        a.members["t1"] = nil
        let script = try #require(HostPolicy.leaveScript(left: a, member: t1), "t2 is still in t1's group")
        try nft(script)
        let left = try listing()
        #expect(!left.contains("198.19.0.2") && !left.contains("frv00000002") && !left.contains("8080"), "nothing of t1 stays: \(left)")
        try nft(HostPolicy.script([a, b]))
        let rebuilt = try listing()
        #expect(tokens(left) == tokens(rebuilt), "deleted: \(left)\nrebuilt: \(rebuilt)")
        // The same leave again finds nothing to delete: refused, nothing of it applied.
        #expect(try attempt(script) != 0)
        #expect(try listing() == rebuilt)
        // t2 is the last of "data", and then of its network: both need the rebuild.
        var withoutT2 = a
        withoutT2.members["t2"] = nil
        #expect(HostPolicy.leaveScript(left: HostPolicy.Network(name: "net-a", subnet: "198.19.0.0/16", bridge: "x", outboundNAT: true,
                                                                members: ["t1": t1]), member: t2) == nil, "its group data has no member left")
        #expect(HostPolicy.leaveScript(left: withoutT2, member: t2) == nil, "its network has no member left")
        // A member without groups or ports leaves only its port on the bridge.
        let bare = HostPolicy.Member(ip: "198.20.0.3", groups: [], ports: [], port: "frv00000005")
        #expect(HostPolicy.leaveScript(left: b, member: bare) == "delete element bridge fargate_run ports { \"frv00000005\" . 0a:58:c6:14:00:03 . 198.20.0.3 }\n")
    }
}
