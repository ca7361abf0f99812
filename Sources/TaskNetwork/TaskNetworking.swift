#if canImport(Glibc)
import Glibc
#endif
import CShim
import ECSModel
import Foundation
import LinuxSupport

/// How tasks are networked on this host (command-line options, not task-definition fields).
public struct NetworkOptions: Sendable {
    /// awsvpc: an interface with the task's own IP (CNI). none: loopback only, no IP, no ports.
    public enum Mode: String, Sendable, CaseIterable { case awsvpc, none }
    public var mode: Mode = .awsvpc
    /// The task subnet. 198.19.0.0/16 is the upper half of RFC 2544's benchmarking block: not
    /// routed on the internet, not used by home or office LANs or VPNs (10/8, 172.16/12,
    /// 192.168/16), nor by CGNAT or Tailscale (100.64/10), nor by the fake-IP range proxies
    /// such as Clash use (198.18/16).
    public var subnet = "198.19.0.0/16"
    public var bridge = "fr0"
    /// Masquerade traffic leaving the subnet (tasks reach the outside as from the host).
    public var outboundNAT = true
    /// Host address published ports listen on.
    public var publishAddress = "127.0.0.1"
    /// A user's own CNI conflist (e.g. macvlan onto the LAN), used as is.
    public var conflistPath: String?
    /// DNS servers for containers; empty takes the host's.
    public var dnsServers: [String] = []
    /// Domain of the task hostname (ip-A-B-C-D.<domain>); nil derives it from the region.
    public var dnsDomain: String?
    public var securityGroups: [String] = ["default"]
    public var pluginDirectories = ["/usr/lib/cni", "/opt/cni/bin"]
    /// Host-wide state: IPAM leases and port reservations are shared by every state root,
    /// because the bridge, its subnet and the host ports are.
    public var hostStateDirectory = "/run/fargate-run"
    /// The host (`fargate-run serve`) that keeps its network in the firewall table between its
    /// tasks (`HostPolicy.join`'s keeper); nil for a foreground run, whose last task takes it.
    public var policyKeeper: ProcessIdentity?

    public init() {}

    public var networkName: String { "fargate-run-" + bridge }

    /// The conflist fargate-run uses unless given one: the bridge plugin with host-local IPAM
    /// and a default route makes the task's interface. NAT, published ports and security
    /// groups are host policy, kept in one nftables table (HostPolicy), not per-task plugins.
    public func defaultConflist() -> CNIConfigList {
        let ipam = JSONValue.object([
            ("type", .string("host-local")), ("ranges", .array([.array([.object([("subnet", .string(subnet))])])])),
            ("routes", .array([.object([("dst", .string("0.0.0.0/0"))])])), ("dataDir", .string(hostStateDirectory + "/ipam")),
        ])
        let bridgePlugin = JSONValue.object([("type", .string("bridge")), ("bridge", .string(bridge)), ("isGateway", .bool(true)),
                                             ("ipMasq", .bool(false)), ("hairpinMode", .bool(true)), ("ipam", ipam)])
        return CNIConfigList(name: networkName, cniVersion: "1.0.0", plugins: [bridgePlugin])
    }
}

/// A task's network, as set up: recorded in the task's state so it can be torn down by
/// another process (`fargate-run gc`) when the one that made it died.
public struct TaskNetworkAttachment: Codable, Sendable, Equatable {
    public var taskId: String
    public var netns: String
    public var ip: String
    public var prefixLength: Int
    public var gateway: String?
    public var mac: String?
    public var subnet: String
    public var hostname: String
    public var ports: [PublishedPort]
    public var securityGroups: [String]
    /// Whether fargate-run's own network (made in-process by `BridgeNetwork`, and so with its
    /// security groups) was used, rather than a user's conflist through CNI.
    public var defaultNetwork: Bool
    public var networkName: String
    /// The conflist and CNI result, for DEL.
    public var conflist: Data
    public var result: Data
    public var runtimeConfig: Data

    /// The conflist and runtime config ADD was given, for DEL and CHECK.
    func cniInputs() throws -> (CNIConfigList, [String: Any]) {
        (try CNIConfigList(data: conflist), (try? JSONSerialization.jsonObject(with: runtimeConfig) as? [String: Any]) ?? [:])
    }

    /// The host ends of the task's veth pairs: the CNI result's interfaces outside the task's
    /// namespace that are ports of a bridge (so never the bridge itself).
    func hostVeths() -> [String] {
        guard let obj = try? JSONSerialization.jsonObject(with: result) as? [String: Any] else { return [] }
        return (obj["interfaces"] as? [[String: Any]] ?? [])
            .filter { ($0["sandbox"] as? String ?? "").isEmpty }
            .compactMap { $0["name"] as? String }
            .filter { !$0.isEmpty && !$0.contains("/") && FileSystem.exists("/sys/class/net/\($0)/brport") }
    }
}

/// Sets up and tears down one task's network: ports reserved, CNI ADD, security groups.
public struct TaskNetworking: Sendable {
    public let options: NetworkOptions
    let runner: CNIRunner
    let ports: PortRegistry

    public init(options: NetworkOptions) {
        self.options = options
        runner = CNIRunner(pluginDirectories: options.pluginDirectories)
        ports = PortRegistry(directory: options.hostStateDirectory + "/ports")
    }

    public var policy: HostPolicy { HostPolicy(stateDirectory: options.hostStateDirectory) }

    /// Connects the task's network namespace. Nothing is left behind when it fails.
    /// `leased` is told the task's address as soon as it is known, before the interface and
    /// the host policy are done (fargate-run's own network only; a plugin says it at the end).
    public func attach(taskId: String, netns: String, ports wanted: [PublishedPort], holder: PortRegistry.Holder,
                       region: String, leased: (@Sendable (String) -> Void)? = nil) throws -> TaskNetworkAttachment {
        let list: CNIConfigList
        if let path = options.conflistPath {
            guard let d = FileManager.default.contents(atPath: path) else { throw NetworkError.config("cannot read \(path)") }
            do { list = try CNIConfigList(data: d) } catch { throw NetworkError.config("\(path): \(error)") }
        } else {
            list = options.defaultConflist()
        }
        // Before ADD, which would make the bridge and its route: refused here, nothing is made.
        if options.conflistPath == nil { try policy.checkSubnet(network: list.name, subnet: options.subnet, bridge: options.bridge) }
        try ports.reserve(wanted, holder: holder)
        let result: CNIResult
        var runtimeConfig = Data("{}".utf8)
        do {
            if options.conflistPath == nil {
                result = try attachOwnNetwork(taskId: taskId, netns: netns, networkName: list.name, ports: wanted, leased: leased)
            } else {
                // A user's conflist publishes ports with its own portmap plugin, if it has one.
                let mappings: [[String: Any]] = wanted.map {
                    ["hostPort": $0.hostPort, "containerPort": $0.containerPort, "protocol": $0.proto, "hostIP": $0.hostIP]
                }
                let config: [String: Any] = mappings.isEmpty ? [:] : ["portMappings": mappings]
                runtimeConfig = (try? JSONSerialization.data(withJSONObject: config)) ?? runtimeConfig
                result = try runner.add(list, containerID: taskId, netns: netns, runtimeConfig: config)
            }
        } catch {
            ports.release(wanted, taskId: taskId)
            throw error
        }
        return TaskNetworkAttachment(
            taskId: taskId, netns: netns, ip: result.address, prefixLength: result.prefixLength, gateway: result.gateway,
            mac: result.mac, subnet: options.subnet, hostname: TaskNetworking.hostname(ip: result.address, domain: options.dnsDomain ?? TaskNetworking.domain(region: region)),
            ports: wanted, securityGroups: options.conflistPath == nil ? options.securityGroups : [],
            defaultNetwork: options.conflistPath == nil, networkName: list.name, conflist: list.raw, result: result.raw,
            runtimeConfig: runtimeConfig)
    }

    /// fargate-run's own network: an address leased, then the interface made while the host
    /// policy takes the task in (both are milliseconds of mostly waiting). The policy needs
    /// libnftables loaded (1-2 ms) and, on a first join, iptables' FORWARD policy (read from
    /// nftables in this process where iptables is iptables-nft, else an iptables call of
    /// 2-8 ms): both are had meanwhile too, on threads of their own rather than on the pool
    /// the task's other work runs on. On failure, nothing of it is left.
    func attachOwnNetwork(taskId: String, netns: String, networkName: String, ports wanted: [PublishedPort],
                          leased: (@Sendable (String) -> Void)? = nil) throws -> CNIResult {
        // Where iptables is iptables-nft, the question itself loads the library; the load has
        // a thread of its own for legacy iptables, whose question is a process of 2-8 ms.
        let forwardDrops = ThreadJob { IptablesGate().forwardDrops() }
        let loading = ThreadJob { _ = Nftables.shared }
        // The question, if still being asked, is waited for whatever happens.
        defer { _ = forwardDrops.wait() }
        let bridgeNetwork = try BridgeNetwork(options: options)
        let lease = try bridgeNetwork.lease(taskId: taskId)
        PhaseTiming.mark("network: address leased")
        leased?(lease.ip)
        let (policy, groups) = (self.policy, options.securityGroups)
        let (subnet, bridge, outboundNAT, keeper) = (options.subnet, options.bridge, options.outboundNAT, options.policyKeeper)
        let joining = ThreadJob {
            loading.wait()
            defer { PhaseTiming.mark("network: host policy joined") }
            return Result {
                try policy.join(network: networkName, subnet: subnet, bridge: bridge, outboundNAT: outboundNAT, taskId: taskId,
                                member: HostPolicy.Member(ip: lease.ip, groups: groups, ports: wanted, port: lease.port), forwardDrops: forwardDrops.wait(),
                                keeper: keeper)
            }
        }
        let connected = Result { try bridgeNetwork.connect(lease, netns: netns) }
        PhaseTiming.mark("network: interface made")
        let joined = joining.wait()
        do {
            let made = try connected.get()
            try joined.get()
            return made.result
        } catch {
            if case .success(let made) = connected { BridgeNetwork.deleteLink(made.veth) }
            // The task's rules go before its address; should they stay (the leave failed), the
            // lease stays too, rather than the address going to another task with them on it.
            if case .success = joined, (try? policy.leave(network: networkName, taskId: taskId)) == nil { throw error }
            _ = try? bridgeNetwork.pool.release(id: taskId)
            throw error
        }
    }

    /// Undoes `attach`, then removes `namespace` when given. Every step runs even when an
    /// earlier one fails; failures are returned.
    ///
    /// Given the namespace of a task none of whose processes is left, on fargate-run's own
    /// network the namespace goes first: the kernel then frees it, and the veth pair with it,
    /// on its own time, and only the address is released. Deleting the veth waits for an RCU
    /// grace period (15-40 ms here) before the device is freed, although it is out of use at
    /// once. The host end is set down before: should something else hold the namespace (a
    /// shell in `ip netns exec`), the pair outlives the task with its address on it, and the
    /// address may go to the next task; down, it carries nothing, and the kernel removes it
    /// when the holder lets go. A user's conflist gets DEL with the namespace in place, as the
    /// CNI spec expects (its plugins may need it).
    public func detach(_ a: TaskNetworkAttachment, namespace: NetworkNamespace? = nil) -> [String] {
        var problems: [String] = []
        var namespaceGone = false
        if a.defaultNetwork, let namespace {
            let veths = a.hostVeths()
            var down = !veths.isEmpty
            for veth in veths where fr_link_set_down(veth) != 0 {
                problems.append("\(SystemError("set down", path: veth))")
                down = false
            }
            // (A failure is tried again below, once the veth is gone, and reported only then:
            // the first try may have removed one of two mounts stacked on the pin.)
            if down, (try? namespace.remove()) != nil { namespaceGone = true }
        }
        if a.defaultNetwork {
            // The task's rules go before its address: another task given the address must
            // never find them.
            do { try policy.leave(network: a.networkName, taskId: a.taskId) } catch { problems.append("host policy: \(error)") }
            // What DEL would do: the veth pair (only where the namespace could not go, which
            // would have taken it), the address.
            do {
                try BridgeNetwork(attachment: a, options: options).detach(taskId: a.taskId, veths: namespaceGone ? [] : a.hostVeths())
            } catch { problems.append("release address: \(error)") }
        } else {
            do {
                let (list, rc) = try a.cniInputs()
                try runner.del(list, containerID: a.taskId, netns: a.netns, prevResult: a.result, runtimeConfig: rc)
            } catch { problems.append("CNI DEL: \(error)") }
        }
        // Published ports are free for another task only once its rules are gone.
        ports.release(a.ports, taskId: a.taskId)
        if let namespace, !namespaceGone {
            do { try namespace.remove() } catch { problems.append("\(error)") }
        }
        PhaseTiming.mark("network detached")
        return problems
    }

    /// What a task of fargate-run's own network may have left when its fargate-run died while
    /// attaching, before the attachment was recorded: its membership in the host policy, then
    /// (its rules gone) its address lease, wherever they are, since which network it used is
    /// not known. Returns what was removed and what failed.
    public func sweepUnrecorded(taskId: String) -> (removed: [String], problems: [String]) {
        var removed: [String] = [], problems: [String] = []
        do {
            removed += try policy.leaveEverywhere(taskId: taskId).map { "host policy of \($0)" }
        } catch {
            // Its rules may still be there: its address must not go to another task.
            return (removed, ["host policy: \(error)"])
        }
        do {
            removed += try AddressPool.releaseEverywhere(id: taskId, dataDirectory: options.hostStateDirectory + "/ipam").map { "lease \($0)" }
        } catch { problems.append("address leases: \(error)") }
        return (removed, problems)
    }

    /// Checks the task's network is still as set up (CNI CHECK; for fargate-run's own network,
    /// the same checks made here: the namespace, the veth on the bridge, the address's lease).
    public func check(_ a: TaskNetworkAttachment) throws {
        if a.defaultNetwork {
            guard FileSystem.exists(a.netns) else { throw NetworkError.config("network namespace \(a.netns) is gone") }
            guard !a.hostVeths().isEmpty else { throw NetworkError.config("the task's veth is no longer a port of a bridge") }
            guard try BridgeNetwork(attachment: a, options: options).pool.lease(of: a.taskId) == a.ip else {
                throw NetworkError.config("address \(a.ip) is no longer leased to the task")
            }
            return
        }
        let (list, rc) = try a.cniInputs()
        try runner.check(list, containerID: a.taskId, netns: a.netns, prevResult: a.result, runtimeConfig: rc)
    }

    /// Fargate's hostname for an IP: ip-198-19-0-5.ec2.internal.
    public static func hostname(ip: String, domain: String) -> String {
        "ip-" + ip.replacingOccurrences(of: ".", with: "-") + "." + domain
    }

    /// EC2's internal DNS domain: ec2.internal in us-east-1, REGION.compute.internal elsewhere.
    public static func domain(region: String) -> String {
        region == "us-east-1" ? "ec2.internal" : "\(region).compute.internal"
    }
}

/// /etc/hosts, /etc/resolv.conf and /etc/hostname for a task's containers.
public enum NameFiles {
    public static func hosts(ip: String?, hostname: String) -> String {
        var s = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        let short = hostname.split(separator: ".").first.map(String.init) ?? hostname
        if let ip { s += "\(ip)\t\(hostname) \(short)\n" } else { s += "127.0.1.1\t\(hostname) \(short)\n" }
        return s
    }

    /// The host's resolvers, unless they are loopback-only (a local stub such as
    /// systemd-resolved's 127.0.0.53 is unreachable from the task's namespace): then
    /// systemd-resolved's upstream list, else none and a warning.
    public static func resolvConf(servers: [String], hostFiles: [String] = ["/etc/resolv.conf", "/run/systemd/resolve/resolv.conf"]) -> (String, String?) {
        if !servers.isEmpty { return (servers.map { "nameserver \($0)\n" }.joined(), nil) }
        for file in hostFiles {
            guard let text = try? FileSystem.readString(file) else { continue }
            // search and options belong to the file whose resolvers are taken.
            var ns: [String] = [], search: [String] = [], opts: [String] = []
            for line in text.split(separator: "\n") {
                let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                guard f.count >= 2 else { continue }
                switch f[0] {
                case "nameserver": if !isLoopback(String(f[1])) { ns.append(String(f[1])) }
                case "search": search = f.dropFirst().map(String.init)
                case "options": opts = f.dropFirst().map(String.init)
                default: break
                }
            }
            if !ns.isEmpty {
                var s = ns.map { "nameserver \($0)\n" }.joined()
                if !search.isEmpty { s += "search \(search.joined(separator: " "))\n" }
                if !opts.isEmpty { s += "options \(opts.joined(separator: " "))\n" }
                return (s, nil)
            }
        }
        return ("", "the host has no resolver reachable from a task (only loopback ones); containers get no DNS: pass --dns")
    }

    static func isLoopback(_ ip: String) -> Bool { ip.hasPrefix("127.") || ip == "::1" }
}
