import Foundation
import LinuxSupport

/// Where a target group listens on the host: an IPv4 address and a TCP port (127.0.0.1:8080).
/// The address need not be on any interface (a virtual IP works, as a kube-proxy ClusterIP
/// does): the rules match the packet's destination before routing.
public struct LoadBalancerListener: Hashable, Sendable, Codable, CustomStringConvertible {
    public var address: String
    public var port: Int

    public init(address: String, port: Int) {
        self.address = address
        self.port = port
    }

    public var description: String { "\(address):\(port)" }

    /// Throws unless the listener can be expressed: a dotted-quad IPv4 address other than
    /// 0.0.0.0, a port 1-65535 (what `ServiceLoadBalancer.apply` checks, for a flag's parser).
    public func check() throws {
        _ = try LoadBalancerTable([self: []])
    }
}

/// One registered target of a listener: a task's address and its container port.
public struct LoadBalancerTarget: Hashable, Sendable, Codable, CustomStringConvertible {
    public var ip: String
    public var port: Int

    public init(ip: String, port: Int) {
        self.ip = ip
        self.port = port
    }

    public var description: String { "\(ip):\(port)" }
}

/// The host side of ECS service target groups: each listener spreads new TCP connections over
/// its targets in the kernel, with nftables, as kube-proxy's nftables mode does. There is no
/// proxy process: a connection's first packet is DNATed to a target chosen by `numgen random`,
/// and conntrack carries the rest of the connection (and its replies) on that binding.
///
/// One table (`inet fargate_run_lb`) for the host's state root (`tableName(rootPath:)`),
/// replaced whole by each `apply` in one transaction. Replacing it leaves established connections alone (their NAT bindings live in
/// conntrack, not in the rules), so a target taken out of a listener drains: its connections
/// go on, new ones go to the others. The table carries everything it needs itself (its own
/// masquerade, `route_localnet` on the targets' interfaces) because HostPolicy's table exists
/// only while tasks do. Its chains run just before HostPolicy's (priority dstnat - 10 against
/// dstnat), so a listener on an address and port a task also publishes wins; a packet no
/// listener matches passes on to HostPolicy's `publish` chains untouched.
///
/// See Docs/SERVICES.md, "Load balancing and discovery".
public final class ServiceLoadBalancer: Sendable {
    public let tableName: String
    /// Where scripts go; a test points this into a network namespace it made.
    let nft: NftRoute
    /// Sets `route_localnet` on an interface; a test that runs the rules in a namespace of its
    /// own passes one that writes there.
    let enableLocalnet: @Sendable (String) throws -> Void
    /// The routing table read to find a target's interface (/proc/net/route's format).
    let routes: @Sendable () throws -> String

    /// The balancer of the host's table `tableName` (every call replaces all of it).
    public convenience init(tableName: String = "fargate_run_lb") {
        self.init(tableName: tableName, nft: .library)
    }

    /// The table of the host serving the state root at `rootPath`: `fargate_run_lb` for the
    /// default root, `fargate_run_lb_` and 8 hex digits of the path's FNV-1a hash for another.
    /// Each host replaces its whole table at every change, so two hosts on one machine (a test
    /// host beside the real one) must not share one.
    public static func tableName(rootPath: String) -> String {
        guard rootPath != "/var/lib/fargate-run" else { return "fargate_run_lb" }
        var hash: UInt32 = 2_166_136_261
        for byte in rootPath.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "fargate_run_lb_" + String(format: "%08x", hash)
    }

    init(tableName: String, nft: NftRoute,
         enableLocalnet: @escaping @Sendable (String) throws -> Void = { try HostPolicy.routeLocalnet(bridge: $0) },
         routes: @escaping @Sendable () throws -> String = { try FileSystem.readString("/proc/net/route") }) {
        self.tableName = tableName
        self.nft = nft
        self.enableLocalnet = enableLocalnet
        self.routes = routes
    }

    /// Makes the kernel's rules exactly `listeners`: each listener spreads NEW TCP connections
    /// evenly at random over its targets (duplicates count once); a listener with no targets
    /// answers a connection with a TCP reset at once, rather than leave it hanging. One nft
    /// transaction replaces the table's contents; no listener at all removes the table.
    /// Connections already established keep their target whatever the new rules say.
    public func apply(_ listeners: [LoadBalancerListener: [LoadBalancerTarget]]) throws {
        guard !listeners.isEmpty else { return try removeAll() }
        let table = try LoadBalancerTable(listeners)
        // A loopback-sourced packet may leave by an interface only where route_localnet is set
        // (the output route is refused otherwise, and the reply, to 127.0.0.1, is a martian).
        if table.hasLoopbackListener {
            let text = try routes()
            for target in table.allTargets {
                let route = try RouteLookup.route(to: target.ip, table: text)
                guard route.gateway == nil else {
                    throw LoadBalancerError.config("target \(target) is reached through a gateway (\(route.gateway!) on \(route.interface)), not on a network of this host; a loopback listener's targets must be tasks here")
                }
                try enableLocalnet(route.interface)
            }
        }
        try run(table.script(name: tableName))
    }

    /// Removes the table and every rule in it. Established connections keep going as long as
    /// something else in the namespace keeps conntrack and NAT on (HostPolicy's table does while
    /// any task exists): the kernel registers their hooks per namespace only while some rule
    /// needs them, and a connection's packets are not translated without them.
    public func removeAll() throws {
        try run("add table inet \(tableName)\ndelete table inet \(tableName)\n")
    }

    func run(_ script: String) throws {
        if case .failure(let failure) = nft.run(script) {
            throw LoadBalancerError.nft(table: tableName, script: script, message: failure.message)
        }
    }
}

/// What went wrong applying a load balancer's rules.
public enum LoadBalancerError: Error, CustomStringConvertible, Sendable {
    /// A listener or target that cannot be expressed (not IPv4, port out of range...).
    case config(String)
    /// libnftables (or nft) refused the script: its message, and the script's lines it names.
    case nft(table: String, script: String, message: String)

    public var description: String {
        switch self {
        case .config(let m):
            return "load balancer: \(m)"
        case .nft(let table, let script, let message):
            let text = message.trimmingCharacters(in: .whitespacesAndNewlines)
            let lines = LoadBalancerError.namedLines(message, in: script)
            let quoted = lines.map { "\n  line \($0.0): \($0.1)" }.joined()
            return "load balancer table inet \(table): nft refused the script: \(text)\(quoted)"
        }
    }

    /// The script's lines nft's message quotes, numbered. libnftables quotes each offending
    /// line under its "Error:" line (with carets under the part it means) but, reading from a
    /// buffer, gives no line number; `nft -f` prefixes one. The quoted text is looked up.
    static func namedLines(_ message: String, in script: String) -> [(Int, String)] {
        let lines = script.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let said = message.split(separator: "\n").map(String.init)
        var found: [Int] = []
        for (i, line) in said.enumerated() where line.contains("Error:") && i + 1 < said.count {
            if let n = lines.firstIndex(of: said[i + 1]).map({ $0 + 1 }), !found.contains(n) { found.append(n) }
        }
        return found.map { ($0, lines[$0 - 1].trimmingCharacters(in: .whitespaces)) }
    }
}
