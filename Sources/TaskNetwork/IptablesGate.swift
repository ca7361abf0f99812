#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

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
    var forwardChain: NftRoute? = IptablesGate.hostRoute

    /// The host's route, looked up once a process (every `HostPolicy` holds a gate): a switch
    /// of iptables between nft and legacy (`update-alternatives`) while a host runs is seen
    /// by its next start.
    static let hostRoute: NftRoute? = keepsRulesInNftables(iptables) ? .library : nil

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
