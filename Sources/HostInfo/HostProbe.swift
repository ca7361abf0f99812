#if canImport(Glibc)
import Glibc
#endif
import Metering
import TaskNetwork

/// Probes this machine for `fargate-run info`. Changes nothing on the host: it reads /proc,
/// /sys and the filesystem, loads the libraries fargate-run loads on demand, and tries the
/// kernel's calls in ways that create nothing.
public struct HostProbe: Sendable {
    public var build: HostReport.Build
    /// The state root's path (`StateRoot.resolve`); it is not made when missing.
    public var stateRoot: String
    /// `--cgroup-parent`, as `run` takes it.
    public var cgroupParent: String?
    public var network: NetworkOptions
    public var prices: PriceTable
    public var priceFile: String?

    public init(build: HostReport.Build, stateRoot: String, cgroupParent: String? = nil, network: NetworkOptions = NetworkOptions(),
                prices: PriceTable = .usEast1, priceFile: String? = nil) {
        self.build = build
        self.stateRoot = stateRoot
        self.cgroupParent = cgroupParent
        self.network = network
        self.prices = prices
        self.priceFile = priceFile
    }

    public func report() -> HostReport {
        HostReport(build: build, kernel: .probe(), cgroups: .probe(cgroupParent: cgroupParent), firewall: .probe(),
                   network: .probe(network), stateRoot: .probe(path: stateRoot), libraries: .probe(),
                   prices: HostReport.Prices(prices, file: priceFile), runningAsRoot: geteuid() == 0)
    }
}
