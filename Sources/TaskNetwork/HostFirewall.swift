import LinuxSupport

/// What the host policy (nftables, and iptables' FORWARD gate) will use on this machine, for
/// `fargate-run info`: the same library, programs and knobs the policy itself uses.
public enum HostFirewall {
    /// How nft scripts run here.
    public enum NftablesRoute: String, Codable, Sendable {
        /// In this process, through libnftables.
        case library
        /// Through the nft program: libnftables does not load.
        case program
        /// Neither: the default network cannot be made.
        case missing
    }

    public static func nftablesRoute() -> NftablesRoute {
        if Nftables.shared != nil { return .library }
        return FileSystem.exists(NftRoute.nft) ? .program : .missing
    }

    /// The iptables the FORWARD gate runs, where it is installed, and whether it keeps its
    /// rules in nftables (iptables-nft, Debian's default) or is the legacy one.
    public static func iptables() -> (path: String, nftables: Bool)? {
        guard FileSystem.exists(IptablesGate.iptables) else { return nil }
        return (IptablesGate.iptables, IptablesGate.keepsRulesInNftables(IptablesGate.iptables))
    }

    /// Whether br_netfilter is loaded, without which security groups cannot tell tasks on one
    /// bridge apart.
    public static var bridgeFilteringAvailable: Bool { FileSystem.exists(HostPolicy.bridgeFilteringKnob) }
}
