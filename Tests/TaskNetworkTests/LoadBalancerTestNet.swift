#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Synchronization
@testable import TaskNetwork
import TestSupport

/// A small network for load balancer tests: a bridge with the gateway address `.1` of a /24 of
/// its own, and namespaces on it (`.10`, `.11`, ...), each with an `IdentityServer` answering
/// with its name. The "host" side is either the real host (the balancer's rules in its
/// namespace through libnftables, as fargate-run runs them) or a namespace the test makes (for
/// tests that also load HostPolicy's table, whose name is fixed and must not touch the host's).
/// Traffic goes only to loopback and to the test's namespaces.
final class LoadBalancerTestNet {
    /// 198.18.240.0/24 and up: other suites use 198.18.10+ and 198.19/16.
    static let next = Atomic(0)

    let n: Int
    let prefix: String
    let bridge: String
    let table: String
    let port = Int.random(in: 20000...40000)
    let serverPort = 8000
    /// The namespace playing the host, nil for the real host.
    let host: NetworkNamespace?
    private(set) var namespaces: [NetworkNamespace] = []
    /// The host ends of the namespaces' veths.
    private(set) var veths: [String] = []
    private(set) var servers: [IdentityServer] = []

    init(targets: Int, clients: Int = 0, inNamespace: Bool = false) throws {
        n = LoadBalancerTestNet.next.add(1, ordering: .relaxed).oldValue
        prefix = "198.18.\(240 + n % 15)."
        let tag = "\(getpid() % 1000)x\(n)"
        bridge = "frlb" + tag
        table = "fr_lbt_\(getpid())_\(n)"
        host = inNamespace ? try NetworkNamespace.create(name: "frlbh" + tag) : nil
        do {
            try ip(["link", "add", bridge, "type", "bridge"])
            try ip(["addr", "add", prefix + "1/24", "dev", bridge])
            try ip(["link", "set", bridge, "up"])
            if let host { try run("/usr/sbin/ip", ["netns", "exec", host.name, "sysctl", "-qw", "net.ipv4.ip_forward=1"]) }
            for i in 0..<(targets + clients) {
                let ns = try NetworkNamespace.create(name: "frlb\(tag)n\(i)")
                namespaces.append(ns)
                let veth = "frlb\(tag)v\(i)"
                try check(run("/usr/sbin/ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns.name]))
                veths.append(veth)
                if let host { try check(run("/usr/sbin/ip", ["link", "set", veth, "netns", host.name])) }
                try ip(["link", "set", veth, "master", bridge, "up"])
                // As fargate-run's own veths: with br_netfilter on, a connection a target makes
                // to its own listener is DNATed back to it and bridged out of the port it came in.
                try ip(["link", "set", veth, "type", "bridge_slave", "hairpin", "on"])
                try check(run("/usr/sbin/ip", ["-n", ns.name, "addr", "add", address(i) + "/24", "dev", "eth0"]))
                try check(run("/usr/sbin/ip", ["-n", ns.name, "link", "set", "eth0", "up"]))
                try check(run("/usr/sbin/ip", ["-n", ns.name, "route", "add", "default", "via", prefix + "1"]))
                if i < targets { servers.append(try IdentityServer(namespace: ns.path, port: serverPort, id: "t\(i)")) }
            }
        } catch {
            cleanup()
            throw error
        }
    }

    func address(_ i: Int) -> String { prefix + "\(10 + i)" }
    func target(_ i: Int) -> LoadBalancerTarget { LoadBalancerTarget(ip: address(i), port: serverPort) }
    var targets: [LoadBalancerTarget] { servers.indices.map(target) }
    var loopback: LoadBalancerListener { LoadBalancerListener(address: "127.0.0.1", port: port) }
    /// An address on no interface, outside the bridge's /24 (inside it, a namespace would look
    /// for it on the link): the namespaces reach it through their default route, the host.
    var virtual: LoadBalancerListener { LoadBalancerListener(address: "198.18.255.\(1 + n % 250)", port: 80) }

    /// The balancer of this net's table, on the real host or inside the host namespace.
    func balancer() -> ServiceLoadBalancer {
        guard let host else { return ServiceLoadBalancer(tableName: table) }
        let name = host.name
        return ServiceLoadBalancer(
            tableName: table, nft: .program(["/usr/sbin/ip", "netns", "exec", name, "/usr/sbin/nft"]),
            enableLocalnet: { try check(run("/usr/sbin/ip", ["netns", "exec", name, "sysctl", "-qw", "net.ipv4.conf.\($0).route_localnet=1"])) },
            routes: { try run("/usr/sbin/ip", ["netns", "exec", name, "cat", "/proc/net/route"]).stdout })
    }

    /// `nft` in the host's namespace.
    func nft(_ arguments: [String]) throws -> RunResult {
        guard let host else { return try run("/usr/sbin/nft", arguments) }
        return try run("/usr/sbin/ip", ["netns", "exec", host.name, "/usr/sbin/nft"] + arguments)
    }

    func ip(_ arguments: [String]) throws {
        try check(run("/usr/sbin/ip", (host.map { ["-n", $0.name] } ?? []) + arguments))
    }

    /// One request from the host (or from namespace `from`) to address:port: the id that answered.
    func ask(_ address: String, _ port: Int, from: Int? = nil) -> Result<String, SystemError> {
        let ns = from.map { namespaces[$0].path } ?? host?.path
        return Result { () throws(SystemError) -> String in
            let c = try Connection(to: address, port: port, namespace: ns)
            return try c.exchange()
        }
    }

    /// This net's links and namespaces still on the machine.
    func leftovers() -> [String] {
        let tag = String(bridge.dropFirst("frlb".count))
        let links = (try? run("/usr/sbin/ip", ["-o", "link", "show"]).stdout) ?? ""
        let names = (try? run("/usr/sbin/ip", ["netns", "list"]).stdout) ?? ""
        return (links + names).split(separator: "\n").filter { $0.contains("frlb" + tag) || $0.contains("frlbh" + tag) }.map(String.init)
    }

    func cleanup() {
        for s in servers { s.stop() }
        if host == nil { _ = try? run("/usr/sbin/nft", ["delete", "table", "inet", table]) }
        _ = try? run("/usr/sbin/ip", ["link", "del", bridge])
        // Each veth here and now: left to its namespace's end, it goes whenever the kernel's
        // asynchronous teardown of that namespace gets to it (seen still there after the suite).
        if host == nil { for v in veths { _ = try? run("/usr/sbin/ip", ["link", "del", v]) } }
        for ns in namespaces { try? ns.remove() }
        try? host?.remove()
    }
}

@discardableResult
func check(_ r: RunResult) throws -> RunResult {
    guard r.status == 0 else { throw TestFailure("exit \(r.status): \(r.stderr)") }
    return r
}

/// Makes a socket inside the network namespace at `path` (nil: ours) on a thread of its own,
/// which alone enters the namespace: a socket stays in the namespace it was made in, whichever
/// thread uses it after.
func socketIn(_ path: String?, type: Int32 = Int32(SOCK_STREAM.rawValue)) throws(SystemError) -> Int32 {
    guard let path else { return try syscallRetrying("socket") { socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0) } }
    final class Box: @unchecked Sendable { var fd: Int32 = -1; var error: SystemError? }
    let box = Box(), done = DispatchSemaphore(value: 0)
    let t = Thread {
        defer { done.signal() }
        let ns = open(path, O_RDONLY | O_CLOEXEC)
        guard ns >= 0, setNamespace(ns, 0x4000_0000 /* CLONE_NEWNET */) == 0 else { box.error = SystemError("setns", path: path); return }
        close(ns)
        box.fd = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        if box.fd < 0 { box.error = SystemError("socket", path: path) }
    }
    t.start()
    done.wait()
    if let e = box.error { throw e }
    return box.fd
}

/// setns(2), which Glibc's module does not export (a GNU extension), found at run time.
private let setNamespace: @convention(c) (Int32, Int32) -> Int32 = unsafeBitCast(dlsym(UnsafeMutableRawPointer(bitPattern: 0), "setns")!, to: (@convention(c) (Int32, Int32) -> Int32).self)

func socketAddress(_ address: String, _ port: Int) -> sockaddr_in {
    var a = sockaddr_in()
    a.sin_family = sa_family_t(AF_INET)
    a.sin_port = in_port_t(UInt16(port).bigEndian)
    inet_pton(AF_INET, address, &a.sin_addr)
    return a
}

/// A client connection with 2 s timeouts: one line out, one line back per exchange.
final class Connection {
    let fd: Int32

    init(to address: String, port: Int, namespace: String?) throws(SystemError) {
        fd = try socketIn(namespace)
        var tv = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var a = socketAddress(address, port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        if r != 0 {
            let e = SystemError("connect", path: "\(address):\(port)")
            close(fd)
            throw e
        }
    }

    /// Sends a line, returns the line answered (without its newline).
    func exchange() throws(SystemError) -> String {
        guard write(fd, "?\n", 2) == 2 else { throw SystemError("write") }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0 { throw SystemError("read") }
            if n == 0 { throw SystemError("read", errno: ECONNRESET) }
            if byte == 10 { return String(decoding: line, as: UTF8.self) }
            line.append(byte)
        }
    }

    deinit { close(fd) }
}

/// A TCP server in a namespace that answers every line with its id, each connection on a
/// thread of its own, until `stop`.
final class IdentityServer: @unchecked Sendable {
    let fd: Int32
    let id: String

    init(namespace: String, port: Int, id: String) throws {
        self.id = id
        fd = try socketIn(namespace)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var a = socketAddress("0.0.0.0", port)
        let r = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: Glibc.sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard r == 0, listen(fd, 128) == 0 else {
            let e = SystemError("bind", path: "\(namespace) :\(port)")
            close(fd)
            throw e
        }
        let (listener, answer) = (fd, Array((id + "\n").utf8))
        Thread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    close(listener)  // shut down (stop): the fd is ours to close only now
                    return
                }
                Thread {
                    defer { close(c) }
                    var buffer = [UInt8](repeating: 0, count: 512)
                    while true {
                        let n = read(c, &buffer, buffer.count)
                        if n <= 0 { return }
                        for _ in 0..<buffer[0..<n].filter({ $0 == 10 }).count where write(c, answer, answer.count) != answer.count { return }
                    }
                }.start()
            }
        }.start()
    }

    /// Makes the accept loop end (it closes the socket).
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
    }
}
