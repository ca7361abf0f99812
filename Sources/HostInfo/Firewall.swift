import TaskNetwork

extension HostReport {
    /// The packet filter tasks' host policy (NAT, published ports, security groups) goes into.
    public struct Firewall: Codable, Sendable, Equatable {
        public var nftables: HostFirewall.NftablesRoute
        /// The iptables whose FORWARD policy is opened for the task subnet, where installed.
        public var iptables: String?
        /// "nf_tables" or "legacy", where iptables is installed.
        public var iptablesBackend: String?
        /// br_netfilter is loaded: bridged traffic between tasks passes the filter.
        public var bridgeFiltering: Bool

        public init(nftables: HostFirewall.NftablesRoute, iptables: String?, iptablesBackend: String?, bridgeFiltering: Bool) {
            self.nftables = nftables
            self.iptables = iptables
            self.iptablesBackend = iptablesBackend
            self.bridgeFiltering = bridgeFiltering
        }

        public static func probe() -> Firewall {
            let iptables = HostFirewall.iptables()
            return Firewall(nftables: HostFirewall.nftablesRoute(), iptables: iptables?.path,
                            iptablesBackend: iptables.map { $0.nftables ? "nf_tables" : "legacy" },
                            bridgeFiltering: HostFirewall.bridgeFilteringAvailable)
        }

        var problems: [Problem] {
            var out: [Problem] = []
            switch nftables {
            case .missing:
                out.append(Problem(.error, "nftables is not installed: tasks' NAT, published ports and security groups cannot be set up",
                                   fix: "apt-get install nftables"))
            case .program:
                out.append(Problem(.warning, "libnftables does not load: every rule change starts the nft program (about 3 ms each)",
                                   fix: "apt-get install libnftables1"))
            case .library:
                break
            }
            if !bridgeFiltering {
                out.append(Problem(.warning, "br_netfilter is not loaded: security groups cannot filter tasks on one bridge, and a second task joining a group fails",
                                   fix: "modprobe br_netfilter && echo br_netfilter >/etc/modules-load.d/br_netfilter.conf"))
            }
            return out
        }
    }
}
