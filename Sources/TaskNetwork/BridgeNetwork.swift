#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport

/// fargate-run's own network, made in this process: what the CNI bridge plugin with host-local
/// IPAM does for `NetworkOptions.defaultConflist()`, through rtnetlink and host-local's own lease
/// store (`AddressPool`), without starting two Go programs per ADD (12-16 ms here) and per DEL
/// (5-7 ms). The bridge (with the gateway address, IP forwarding on), a veth pair whose host
/// end is a hairpin port of the bridge and whose other end is the task's eth0, the task's
/// address and default route. The result is recorded in the CNI result format, so the rest of
/// fargate-run, and CNI DEL itself, read it as before. Users' conflists still go through CNI.
struct BridgeNetwork {
    let bridge: String
    let pool: AddressPool

    init(options: NetworkOptions) throws {
        bridge = options.bridge
        pool = try AddressPool(dataDirectory: options.hostStateDirectory + "/ipam", networkName: options.networkName, subnet: options.subnet)
    }

    /// For undoing or checking what `lease` and `connect` made for `a`.
    init(attachment a: TaskNetworkAttachment, options: NetworkOptions) throws {
        bridge = options.bridge
        pool = try AddressPool(dataDirectory: options.hostStateDirectory + "/ipam", networkName: a.networkName, subnet: a.subnet)
    }

    /// An address leased to a task, on the bridge (made if need be).
    struct Lease {
        let taskId: String
        let address: UInt32
        let bridgeIndex: Int32
        /// The name the veth's host end will have: its port on the bridge, which the host
        /// policy binds to the task's addresses while the veth is being made.
        let port: String
        var ip: String { AddressPool.text(address) }
    }

    /// Leases an address, names the task's bridge port and makes sure of the bridge. Nothing
    /// is left when it fails.
    func lease(taskId: String) throws -> Lease {
        let address = try pool.reserve(id: taskId)
        do {
            return Lease(taskId: taskId, address: address, bridgeIndex: try ensureBridge(try Netlink.Socket()), port: BridgeNetwork.freePortName())
        } catch {
            _ = try? pool.release(id: taskId)
            throw error
        }
    }

    /// Connects the namespace at `netns` with the leased address; returns the result and the
    /// veth's host end. Nothing of it is left when it fails; the lease stays for the caller to
    /// release.
    func connect(_ lease: Lease, netns: String) throws -> (result: CNIResult, veth: String) {
        var veth: String?
        do {
            let address = AddressPool.bytes(lease.address)
            let mac = BridgeNetwork.mac(lease.address)
            let name = lease.port
            try createVeth(try Netlink.Socket(), name: name, bridgeIndex: lease.bridgeIndex, netns: netns, mac: mac)
            veth = name
            // Hairpin: a task reaching its own published port through the host comes back
            // through the port it left by.
            try FileSystem.writeString("/sys/class/net/\(name)/brport/hairpin_mode", "1")
            try configureInside(netns: netns, address: address)
            return (result(ip: lease.ip, mac: BridgeNetwork.macText(lease.address), veth: name, netns: netns), name)
        } catch {
            if let veth { BridgeNetwork.deleteLink(veth) }
            throw error
        }
    }

    /// Undoes `lease` and `connect` for `taskId`: deletes `veths` (only those whose namespace is still
    /// there; a namespace that went took its pair with it), then releases the address.
    func detach(taskId: String, veths: [String]) throws {
        for veth in veths { BridgeNetwork.deleteLink(veth) }
        try pool.release(id: taskId)
    }

    /// Deletes a link (a veth's host end takes its peer with it). Best effort.
    static func deleteLink(_ name: String) {
        guard let host = try? Netlink.Socket() else { return }
        var m = Netlink.Message()
        m.ifinfo()
        m.attribute(Netlink.IFLA_IFNAME, string: name)
        _ = try? host.request(Netlink.RTM_DELLINK, m, what: "delete \(name)")
    }

    /// Runs `body`, taking EEXIST for success: what it makes is there already.
    private static func allowingExisting(_ body: () throws(SystemError) -> Void) throws(SystemError) {
        do { try body() } catch { if error.errno != EEXIST { throw error } }
    }

    /// The bridge, up, with the gateway address; IPv4 forwarding on. Returns its index.
    private func ensureBridge(_ host: Netlink.Socket) throws -> Int32 {
        var link = try? host.link(named: bridge)
        if link == nil {
            var m = Netlink.Message()
            m.ifinfo(up: true)
            m.attribute(Netlink.IFLA_IFNAME, string: bridge)
            // A MAC of its own, from the gateway address. A bridge made without one takes the
            // lowest of its ports' MACs, and changes it as tasks come and go: each change
            // flushes the host's ARP entries for every task, and leaves the tasks' entry for
            // the gateway pointing at a MAC that is no longer the bridge's.
            m.attribute(Netlink.IFLA_ADDRESS, BridgeNetwork.mac(pool.gateway))
            m.nested(Netlink.IFLA_LINKINFO) { $0.attribute(Netlink.IFLA_INFO_KIND, string: "bridge") }
            // EEXIST: another fargate-run made it first.
            try BridgeNetwork.allowingExisting { () throws(SystemError) in
                try host.request(Netlink.RTM_NEWLINK, flags: Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, m, what: "create bridge \(bridge)")
            }
        }
        if link == nil { link = try host.link(named: bridge) }
        guard let link, link.kind == "bridge" else { throw NetworkError.config("\(bridge) exists and is not a bridge") }
        let index = link.index
        let gateway = AddressPool.bytes(pool.gateway)
        var a = Netlink.Message()
        a.ifaddr(prefixLength: pool.prefixLength, index: index)
        a.attribute(Netlink.IFA_LOCAL, gateway)
        a.attribute(Netlink.IFA_ADDRESS, gateway)
        a.attribute(Netlink.IFA_BROADCAST, AddressPool.bytes(pool.subnet.upperBound))
        try BridgeNetwork.allowingExisting { () throws(SystemError) in
            try host.request(Netlink.RTM_NEWADDR, flags: Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, a, what: "add \(AddressPool.text(pool.gateway)) to \(bridge)")
        }
        var up = Netlink.Message()
        up.ifinfo(index: index, up: true)
        try host.request(Netlink.RTM_NEWLINK, up, what: "set \(bridge) up")
        let forward = "/proc/sys/net/ipv4/ip_forward"
        if (try? FileSystem.readString(forward))?.hasPrefix("1") != true { try FileSystem.writeString(forward, "1") }
        return index
    }

    /// A MAC made from the address, as the bridge plugin once did (0a:58 and the four bytes):
    /// a neighbour's ARP entry for a reused address stays right.
    static func mac(_ address: UInt32) -> [UInt8] { [0x0a, 0x58] + AddressPool.bytes(address) }

    static func macText(_ address: UInt32) -> String {
        mac(address).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }

    /// A free name for a task's bridge port: the policy's prefix (`HostPolicy.portPrefix`, which
    /// no other software's veths have) and eight random hex digits.
    static func freePortName() -> String {
        while true {
            let name = HostPolicy.portPrefix + String(format: "%08x", UInt32.random(in: 0...UInt32.max))
            if if_nametoindex(name) == 0 { return name }
        }
    }

    /// A veth pair: `name` on the bridge, up, and "eth0" in the namespace.
    private func createVeth(_ host: Netlink.Socket, name: String, bridgeIndex: Int32, netns: String, mac: [UInt8]) throws {
        let nsfd = open(netns, O_RDONLY | O_CLOEXEC)
        guard nsfd >= 0 else { throw SystemError("open network namespace", path: netns) }
        defer { close(nsfd) }
        var m = Netlink.Message()
        m.ifinfo(up: true)
        m.attribute(Netlink.IFLA_IFNAME, string: name)
        m.attribute(Netlink.IFLA_MASTER, u32: UInt32(bitPattern: bridgeIndex))
        m.nested(Netlink.IFLA_LINKINFO) { info in
            info.attribute(Netlink.IFLA_INFO_KIND, string: "veth")
            info.nested(Netlink.IFLA_INFO_DATA) { data in
                data.nested(Netlink.VETH_INFO_PEER) { peer in
                    peer.ifinfo()
                    peer.attribute(Netlink.IFLA_IFNAME, string: "eth0")
                    peer.attribute(Netlink.IFLA_ADDRESS, mac)
                    peer.attribute(Netlink.IFLA_NET_NS_FD, u32: UInt32(bitPattern: nsfd))
                }
            }
        }
        // EXCL: a name taken since it was chosen (another fargate-run drew the same eight hex
        // digits) fails the attach rather than being shared.
        try host.request(Netlink.RTM_NEWLINK, flags: Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, m, what: "create veth \(name)")
    }

    /// eth0 up with the task's address, and the default route through the gateway.
    private func configureInside(netns: String, address: [UInt8]) throws {
        let inside = try Netlink.Socket(namespace: netns)
        let index = try inside.index(of: "eth0")
        var up = Netlink.Message()
        up.ifinfo(index: index, up: true)
        try inside.request(Netlink.RTM_NEWLINK, up, what: "set eth0 up in \(netns)")
        var a = Netlink.Message()
        a.ifaddr(prefixLength: pool.prefixLength, index: index)
        a.attribute(Netlink.IFA_LOCAL, address)
        a.attribute(Netlink.IFA_ADDRESS, address)
        a.attribute(Netlink.IFA_BROADCAST, AddressPool.bytes(pool.subnet.upperBound))
        try inside.request(Netlink.RTM_NEWADDR, flags: Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, a, what: "add the task's address in \(netns)")
        var r = Netlink.Message()
        r.route(destinationLength: 0)
        r.attribute(Netlink.RTA_GATEWAY, AddressPool.bytes(pool.gateway))
        r.attribute(Netlink.RTA_OIF, u32: UInt32(bitPattern: index))
        try inside.request(Netlink.RTM_NEWROUTE, flags: Netlink.NLM_F_CREATE | Netlink.NLM_F_EXCL, r, what: "add the default route in \(netns)")
    }

    /// The CNI 1.0 result the bridge plugin would give for this attachment.
    func result(ip: String, mac: String, veth: String, netns: String) -> CNIResult {
        let gateway = AddressPool.text(pool.gateway)
        let raw = JSONValue.object([
            ("cniVersion", .string("1.0.0")),
            ("interfaces", .array([.object([("name", .string(bridge))]), .object([("name", .string(veth))]),
                                   .object([("name", .string("eth0")), ("mac", .string(mac)), ("sandbox", .string(netns))])])),
            ("ips", .array([.object([("interface", .number("2")), ("address", .string("\(ip)/\(pool.prefixLength)")),
                                     ("gateway", .string(gateway))])])),
            ("routes", .array([.object([("dst", .string("0.0.0.0/0")), ("gw", .string(gateway))])])),
            ("dns", .object([])),
        ])
        return CNIResult(address: ip, prefixLength: pool.prefixLength, gateway: gateway, mac: mac, interface: "eth0", raw: Data(raw.text.utf8))
    }
}
