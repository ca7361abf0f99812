#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import TaskNetwork
import TestSupport
import Testing

struct CNIConfigTests {
    @Test func theDefaultConflistIsTheBridgePluginWithHostLocalIPAM() throws {
        var o = NetworkOptions()
        o.subnet = "198.19.7.0/24"
        o.bridge = "frx"
        let list = o.defaultConflist()
        #expect(list.name == "fargate-run-frx")
        #expect(list.cniVersion == "1.0.0")
        #expect((0..<list.plugins.count).map(list.pluginType) == ["bridge"], "NAT, ports and groups are host policy, not plugins")
        let bridge = try JSONSerialization.jsonObject(with: list.plugins[0]) as! [String: Any]
        #expect(bridge["bridge"] as? String == "frx")
        #expect(bridge["ipMasq"] as? Bool == false)
        #expect(bridge["isGateway"] as? Bool == true)
        let ipam = bridge["ipam"] as! [String: Any]
        #expect(ipam["dataDir"] as? String == "/run/fargate-run/ipam")
        #expect(((ipam["ranges"] as! [[[String: String]]])[0][0])["subnet"] == "198.19.7.0/24")
    }

    /// fargate-run's own network writes its CNI result itself: read back as any plugin's
    /// result is, it says the same (teardown and `inspect` read the recorded one).
    @Test func theOwnNetworksResultReadsBackAsWritten() throws {
        var o = NetworkOptions()
        o.subnet = "198.19.7.0/24"
        o.bridge = "fr\"x"
        let made = try BridgeNetwork(options: o).result(ip: "198.19.7.5", mac: "0a:58:c6:13:07:05", veth: "veth01234567", netns: "/run/netns/fr-a")
        #expect(try CNIResult(data: made.raw) == made)
        #expect(made.gateway == "198.19.7.1" && made.prefixLength == 24)
        let obj = try JSONSerialization.jsonObject(with: made.raw) as! [String: Any]
        #expect(((obj["interfaces"] as? [[String: Any]])?.first?["name"] as? String) == "fr\"x", "names are escaped")
    }

    @Test func hostPolicyScript() {
        let web = HostPolicy.Member(ip: "198.19.0.2", groups: ["default"], ports: [PublishedPort(hostIP: "127.0.0.1", hostPort: 8080, containerPort: 80, proto: "tcp")],
                                    port: "frv0000abcd")
        let db = HostPolicy.Member(ip: "198.19.0.3", groups: ["default", "data"], ports: [], port: "frv0000beef")
        let batch = HostPolicy.Member(ip: "198.19.0.4", groups: ["data"], ports: [])
        let net = HostPolicy.Network(name: "fargate-run-fr0", subnet: "198.19.0.0/16", bridge: "fr0", outboundNAT: true,
                                     members: ["a": web, "b": db, "c": batch])
        let s = HostPolicy.script([net])
        #expect(s.hasPrefix("add table inet fargate_run\ndelete table inet fargate_run\nadd table bridge fargate_run\ndelete table bridge fargate_run\ntable inet fargate_run {"),
                "one transaction replaces both tables")
        // Each task's port carries only its own MAC and address (a member from an older registry, with no port, has no element).
        #expect(s.contains("elements = { \"frv0000abcd\" . 0a:58:c6:13:00:02 . 198.19.0.2, \"frv0000beef\" . 0a:58:c6:13:00:03 . 198.19.0.3 }"), "\(s)")
        #expect(s.contains("iifname \"frv*\" ether type != { ip, arp } drop"))
        #expect(s.contains("iifname \"frv*\" ether type ip iifname . ether saddr . ip saddr != @ports drop"))
        #expect(s.contains("iifname \"frv*\" ether type arp iifname . ether saddr . arp saddr ip != @ports drop"))
        let def = HostPolicy.groupSetName(net, "default"), data = HostPolicy.groupSetName(net, "data")
        #expect(s.contains("set \(def) { type ipv4_addr; elements = { 198.19.0.2, 198.19.0.3 }; }"))
        #expect(s.contains("set \(data) { type ipv4_addr; elements = { 198.19.0.3, 198.19.0.4 }; }"))
        #expect(s.contains("ip saddr @\(def) ip daddr @\(def) accept comment \"group default\""))
        #expect(s.contains("ip saddr @\(data) ip daddr @\(data) accept comment \"group data\""))
        #expect(s.contains("reject with icmp type port-unreachable"))
        #expect(s.contains("ip saddr 198.19.0.0/16 ip daddr 198.19.0.0/16 ct state established,related accept"), "groups are stateful")
        #expect(s.contains("elements = { 127.0.0.1 . tcp . 8080 : 198.19.0.2 . 80 }"))
        #expect(s.contains("dnat ip to ip daddr . meta l4proto . th dport map @publish"))
        #expect(s.contains("ip saddr 198.19.0.0/16 ip daddr != 198.19.0.0/16 masquerade"))
        var noNat = net
        noNat.outboundNAT = false
        #expect(!HostPolicy.script([noNat]).contains("ip daddr != 198.19.0.0/16 masquerade"))
        #expect(HostPolicy.script([]) == "add table inet fargate_run\ndelete table inet fargate_run\nadd table bridge fargate_run\ndelete table bridge fargate_run\n",
                "no member: no tables")
    }

    @Test func aJoinIsAdditionsOnly() {
        let t1 = HostPolicy.Member(ip: "198.19.0.2", groups: ["default"], ports: [])
        let t2 = HostPolicy.Member(ip: "198.19.0.3", groups: ["default", "data"], ports: [PublishedPort(hostIP: "127.0.0.1", hostPort: 5353, containerPort: 53, proto: "udp")],
                                   port: "frv00000003")
        var a = HostPolicy.Network(name: "fargate-run-fr0", subnet: "198.19.0.0/16", bridge: "fr0", outboundNAT: true, members: ["t1": t1])
        let first = HostPolicy.joinScript(before: [], joined: a, member: t1)
        #expect(first.hasPrefix("create table inet fargate_run\ntable inet fargate_run {"), "no table yet: made whole, refused if one is there")
        #expect(first.contains("create table bridge fargate_run\ntable bridge fargate_run {"))
        let before = [a]
        a.members["t2"] = t2
        let second = HostPolicy.joinScript(before: before, joined: a, member: t2)
        #expect(second == """
            create set inet fargate_run \(HostPolicy.groupSetName(a, "data")) { type ipv4_addr; }
            create element inet fargate_run \(HostPolicy.groupSetName(a, "data")) { 198.19.0.3 }
            insert rule inet fargate_run net_\(HostPolicy.hash(a.name)) \(HostPolicy.groupRule(a, "data"))
            create element inet fargate_run \(HostPolicy.groupSetName(a, "default")) { 198.19.0.3 }
            create element inet fargate_run publish { 127.0.0.1 . udp . 5353 : 198.19.0.3 . 53 }
            create element bridge fargate_run ports { "frv00000003" . 0a:58:c6:13:00:03 . 198.19.0.3 }

            """)
        let b = HostPolicy.Network(name: "other", subnet: "198.20.0.0/16", bridge: "fr1", outboundNAT: false, members: ["t3": t1])
        let third = HostPolicy.joinScript(before: [a], joined: b, member: t1)
        #expect(third.hasPrefix("create chain inet fargate_run net_\(HostPolicy.hash("other"))\n"))
        #expect(third.contains("add rule inet fargate_run forward ip saddr 198.20.0.0/16 ip daddr 198.20.0.0/16 jump net_"))
        for script in [first, second, third] { #expect(!script.contains("delete") && !script.contains("flush"), "\(script)") }
    }

    @Test func subnetsAsAddressRanges() throws {
        let wide = try #require(HostPolicy.cidr("198.19.0.0/16"))
        #expect(wide == 0xC613_0000...0xC613_FFFF)
        #expect(HostPolicy.cidr("198.19.7.9/24") == 0xC613_0700...0xC613_07FF, "host bits are ignored")
        #expect(wide.overlaps(try #require(HostPolicy.cidr("198.19.187.0/24"))))
        #expect(!wide.overlaps(try #require(HostPolicy.cidr("198.18.187.0/24"))))
        for bad in ["198.19.0.0", "198.19.0/16", "198.19.0.0/33", "a.b.c.d/8", "300.1.1.1/8"] { #expect(HostPolicy.cidr(bad) == nil, "\(bad)") }
    }

    @Test func badConflistsNameTheProblem() {
        #expect { try CNIConfigList(data: Data("[]".utf8)) } throws: { "\($0)".contains("not a JSON object") }
        #expect { try CNIConfigList(data: Data(#"{"cniVersion": "1.0.0", "plugins": [{"type": "bridge"}]}"#.utf8)) } throws: { "\($0)".contains("\"name\" is required") }
        #expect { try CNIConfigList(data: Data(#"{"name": "x", "cniVersion": "1.0.0", "plugins": []}"#.utf8)) } throws: { "\($0)".contains("non-empty") }
        #expect { try CNIConfigList(data: Data(#"{"name": "x", "cniVersion": "1.0.0", "plugins": [{}]}"#.utf8)) } throws: { "\($0)".contains("plugins[0].type") }
    }

    @Test func resultsGiveTheAddressGatewayAndMAC() throws {
        let json = #"{"cniVersion": "1.0.0", "interfaces": [{"name": "fr0", "mac": "aa"}, {"name": "veth1", "mac": "bb"}, {"name": "eth0", "mac": "ee:67:bb:6a:ce:16", "sandbox": "/run/netns/x"}], "ips": [{"interface": 2, "address": "198.19.0.5/16", "gateway": "198.19.0.1"}], "routes": [{"dst": "0.0.0.0/0"}]}"#
        let r = try CNIResult(data: Data(json.utf8))
        #expect(r.address == "198.19.0.5")
        #expect(r.prefixLength == 16)
        #expect(r.gateway == "198.19.0.1")
        #expect(r.mac == "ee:67:bb:6a:ce:16")
        #expect(r.interface == "eth0")
        #expect(throws: NetworkError.self) { try CNIResult(data: Data(#"{"ips": []}"#.utf8)) }
    }

    @Test func hostnamesAsEC2NamesThem() {
        #expect(TaskNetworking.hostname(ip: "198.19.0.5", domain: TaskNetworking.domain(region: "us-east-1")) == "ip-198-19-0-5.ec2.internal")
        #expect(TaskNetworking.domain(region: "eu-west-1") == "eu-west-1.compute.internal")
    }

    @Test func nameFiles() throws {
        #expect(NameFiles.hosts(ip: "198.19.0.5", hostname: "ip-198-19-0-5.ec2.internal")
            == "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n198.19.0.5\tip-198-19-0-5.ec2.internal ip-198-19-0-5\n")
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try writeFile(dir.path + "/stub", Array("nameserver 127.0.0.53\noptions edns0\n".utf8))
        try writeFile(dir.path + "/upstream", Array("nameserver 10.0.0.2\nnameserver 127.0.0.1\nsearch corp.example\n".utf8))
        let (conf, warning) = NameFiles.resolvConf(servers: [], hostFiles: [dir.path + "/stub", dir.path + "/upstream"])
        #expect(conf == "nameserver 10.0.0.2\nsearch corp.example\n", "loopback resolvers are skipped: \(conf)")
        #expect(warning == nil)
        let (none, w) = NameFiles.resolvConf(servers: [], hostFiles: [dir.path + "/stub"])
        #expect(none.isEmpty && w?.contains("--dns") == true)
        #expect(NameFiles.resolvConf(servers: ["192.0.2.53"]).0 == "nameserver 192.0.2.53\n")
    }
}

struct PortRegistryTests {
    func holder(_ id: String, alive: Bool) -> PortRegistry.Holder {
        PortRegistry.Holder(root: "/r", taskId: id, family: "f", owner: alive ? .current : ProcessIdentity(pid: 999_999, startTime: 1))
    }

    @Test func reservationsAreExclusiveNameTheHolderAndReleaseCleanly() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let reg = PortRegistry(directory: dir.path + "/ports")
        let port = PublishedPort(hostIP: "127.0.0.1", hostPort: Int.random(in: 40000...50000), containerPort: 80, proto: "tcp")
        let other = PublishedPort(hostIP: "127.0.0.1", hostPort: port.hostPort + 1, containerPort: 81, proto: "tcp")
        try reg.reserve([port], holder: holder("task-a", alive: true))
        #expect { try reg.reserve([other, port], holder: holder("task-b", alive: true)) } throws: {
            "\($0)" == "host port \(port.description) is already published by task task-a (f) in /r"
        }
        #expect(reg.held(root: "/r").map(\.1.taskId) == ["task-a"], "all or nothing: task-b kept no port")
        reg.release([port], taskId: "task-b")
        #expect(reg.held(root: "/r").count == 1, "only the holder can release")
        reg.release([port], taskId: "task-a")
        #expect(reg.held(root: "/r").isEmpty)
    }

    @Test func aDeadHoldersReservationIsTakenOver() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let reg = PortRegistry(directory: dir.path + "/ports")
        let port = PublishedPort(hostIP: "127.0.0.1", hostPort: Int.random(in: 40000...50000), containerPort: 80, proto: "udp")
        try reg.reserve([port], holder: holder("dead", alive: false))
        try reg.reserve([port], holder: holder("new", alive: true))
        #expect(reg.held(root: "/r").map(\.1.taskId) == ["new"])
    }

    @Test func aPortBoundByAnotherProcessIsRefused() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        let bound = Int(UInt16(bigEndian: addr.sin_port))
        let reg = PortRegistry(directory: dir.path + "/ports")
        #expect { try reg.reserve([PublishedPort(hostIP: "127.0.0.1", hostPort: bound, containerPort: 1, proto: "tcp")], holder: holder("t", alive: true)) } throws: {
            "\($0)".contains("in use by another process")
        }
        #expect(reg.held(root: "/r").isEmpty)
    }
}
