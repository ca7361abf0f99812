import ECSModel
import Foundation
import Images
import Metering
import Sandbox
import TaskNetwork

/// Settings of one fargate-run invocation that are not part of the task definition.
public struct RunConfiguration: Sendable {
    public var root: StateRoot
    /// A cgroup (path from the hierarchy root, or relative to ours) to create task cgroups in.
    public var cgroupParent: String?
    public var prices: PriceTable
    public var region: String
    public var account: String
    public var cluster: String
    /// Where relative image paths (oci:DIR) are resolved.
    public var workingDirectory: String
    /// Task-level pids limit (fork bombs stop here).
    public var pidsLimit: Int64
    /// Subnet, bridge, published-port address, DNS, security groups.
    public var network: NetworkOptions
    /// For images named by registry; nil refuses them.
    public var registry: RegistryClient?
    public var pullPolicy: ImageStore.PullPolicy
    /// Publish portMappings on the host address; off for the extra copies of `--count`, which
    /// would collide on it (each is still reachable at its own IP).
    public var publishPorts = true
    /// A ledger shared by every task of a process (the host's); nil opens one per task.
    public var ledger: Ledger?
    /// Samples the usage of every task of the process, each second; nil samples nothing.
    public var usageSampler: UsageSampler?
    /// fargate-monitor, for tasks that must outlive this process (the host's): each gets a
    /// monitor that clones its containers and writes their output. nil runs them as our own
    /// children, their output through this process (a foreground run).
    public var monitorExecutable: SealedExecutable?
    /// Task-role credentials, link-local addresses, the availability zone.
    public var endpoint = EndpointConfiguration()
    /// Serves the tasks' metadata endpoints (169.254.170.2 inside each task); nil: tasks get
    /// none, and no variables naming one. Link-local addresses are blocked all the same.
    public var endpoints: (any TaskEndpointService)?

    public init(root: StateRoot, cgroupParent: String? = nil, prices: PriceTable = .usEast1, region: String? = nil,
                account: String = "000000000000", cluster: String = "default",
                workingDirectory: String = FileManager.default.currentDirectoryPath, pidsLimit: Int64 = 4096,
                network: NetworkOptions = NetworkOptions(), registry: RegistryClient? = nil,
                pullPolicy: ImageStore.PullPolicy = .always) {
        self.root = root
        self.cgroupParent = cgroupParent
        self.prices = prices
        self.region = region ?? prices.region
        self.account = account
        self.cluster = cluster
        self.workingDirectory = workingDirectory
        self.pidsLimit = pidsLimit
        self.network = network
        self.registry = registry
        self.pullPolicy = pullPolicy
    }
}
