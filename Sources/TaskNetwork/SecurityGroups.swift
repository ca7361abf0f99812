#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// Security groups as RunTask's awsvpcConfiguration has them, on one bridge: tasks that share a
/// group may open connections to each other's IPs on any port (AWS's default group); tasks
/// that share none cannot. Replies are always allowed (groups are stateful). The host reaches
/// published ports whatever the groups.
///
/// iptables (filter table), hooked from the CNI firewall plugin's CNI-ADMIN chain, which that
/// plugin evaluates before its per-container ACCEPT rules:
///
///     CNI-ADMIN      -s SUBNET -d SUBNET -j FR-<net>
///     FR-<net>       -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
///                    -j FR-<net>-<group>          (one per group in use)
///                    -j REJECT                    (no common group)
///     FR-<net>-<g>   -s TASK_IP -j FR-<net>-<g>-D (one per member)
///     FR-<net>-<g>-D -d TASK_IP -j ACCEPT         (one per member)
///
/// Rules grow linearly with members, need no ipset, and disappear with the last member.
/// Bridged traffic passes iptables through br_netfilter (net.bridge.bridge-nf-call-iptables=1).
public struct SecurityGroups: Sendable {
    public let subnet: String
    public let networkName: String
    let lockPath: String

    public init(subnet: String, networkName: String, lockDirectory: String = "/run/fargate-run") {
        self.subnet = subnet
        self.networkName = networkName
        lockPath = lockDirectory + "/firewall.lock"
    }

    static func hash(_ s: String, _ n: Int) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return String(String(h, radix: 16).prefix(n))
    }

    var chain: String { "FR-" + SecurityGroups.hash(networkName + subnet, 6) }
    func groupChain(_ g: String) -> String { chain + "-" + SecurityGroups.hash(g, 8) }

    @discardableResult
    func iptables(_ args: [String]) throws -> Subprocess.Result {
        let r = try Subprocess.run("/usr/sbin/iptables", ["-w", "60"] + args, environment: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"])
        return r
    }

    func must(_ args: [String]) throws {
        let r = try iptables(args)
        guard r.status == 0 else {
            throw NetworkError.plugin(plugin: "iptables", command: args.joined(separator: " "), message: r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    func exists(_ args: [String]) -> Bool { (try? iptables(["-C"] + args).status) == 0 }

    func locked<T>(_ body: () throws -> T) throws -> T {
        try FileSystem.makeDirectories(FileSystem.parent(of: lockPath), mode: 0o700)
        let lock = try FileLock(lockPath)
        defer { lock.unlock() }
        return try body()
    }

    /// Bridged traffic between tasks must pass iptables for groups to hold.
    static func enableBridgeFiltering() throws {
        let knob = "/proc/sys/net/bridge/bridge-nf-call-iptables"
        guard FileSystem.exists(knob) else {
            throw NetworkError.config("security groups need br_netfilter (modprobe br_netfilter): without it tasks on one bridge reach each other unfiltered")
        }
        if (try? FileSystem.readString(knob))?.hasPrefix("1") != true { try FileSystem.writeString(knob, "1") }
    }

    /// Adds a task's IP to its groups.
    public func join(ip: String, groups: [String], taskId: String) throws {
        try SecurityGroups.enableBridgeFiltering()
        try locked {
            if !(try iptables(["-S", chain]).status == 0) {
                try must(["-N", chain])
                try must(["-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"])
                try must(["-A", chain, "-j", "REJECT", "--reject-with", "icmp-port-unreachable"])
            }
            // CNI-ADMIN exists once the firewall plugin has run.
            if try iptables(["-S", "CNI-ADMIN"]).status != 0 { try must(["-N", "CNI-ADMIN"]) }
            let hook = ["CNI-ADMIN", "-s", subnet, "-d", subnet, "-j", chain]
            if !exists(hook) { try must(["-I"] + hook) }
            for g in groups {
                let gc = groupChain(g), dc = groupChain(g) + "-D"
                if try iptables(["-S", gc]).status != 0 {
                    try must(["-N", dc])
                    try must(["-N", gc])
                    try must(["-I", chain, "2", "-j", gc, "-m", "comment", "--comment", "fargate-run group \(g)"])
                }
                let comment = ["-m", "comment", "--comment", "fargate-run task \(taskId)"]
                try must(["-A", gc, "-s", ip, "-j", dc] + comment)
                try must(["-A", dc, "-d", ip, "-j", "ACCEPT"] + comment)
            }
        }
    }

    /// Removes a task's IP from its groups, and every chain that becomes empty.
    public func leave(ip: String, groups: [String], taskId: String) throws {
        try locked {
            let comment = ["-m", "comment", "--comment", "fargate-run task \(taskId)"]
            for g in groups {
                let gc = groupChain(g), dc = groupChain(g) + "-D"
                _ = try iptables(["-D", gc, "-s", ip, "-j", dc] + comment)
                _ = try iptables(["-D", dc, "-d", ip, "-j", "ACCEPT"] + comment)
                let left = try iptables(["-S", gc]).stdoutText.split(separator: "\n").filter { $0.hasPrefix("-A") }
                if left.isEmpty {
                    _ = try iptables(["-D", chain, "-j", gc, "-m", "comment", "--comment", "fargate-run group \(g)"])
                    _ = try iptables(["-F", gc]); _ = try iptables(["-X", gc])
                    _ = try iptables(["-F", dc]); _ = try iptables(["-X", dc])
                }
            }
            let rules = try iptables(["-S", chain]).stdoutText.split(separator: "\n").filter { $0.hasPrefix("-A") }
            if rules.count <= 2 {  // only the conntrack and REJECT rules: no group left
                _ = try iptables(["-D", "CNI-ADMIN", "-s", subnet, "-d", subnet, "-j", chain])
                _ = try iptables(["-F", chain])
                _ = try iptables(["-X", chain])
            }
        }
    }

    /// Our rules now present (for tests and gc): lines of `iptables -S` mentioning our chains.
    public func rules() -> [String] {
        guard let r = try? iptables(["-S"]) else { return [] }
        return r.stdoutText.split(separator: "\n").map(String.init).filter { $0.contains(chain) }
    }
}
