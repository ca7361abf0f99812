import Foundation
import Logging
import Services
import Synchronization
import TaskNetwork
import TaskRuntime

/// Carries what the service scheduler decides about traffic into the kernel and the tasks:
/// each target group's registered targets into the host's load balancer (the listener
/// `Settings.listener(of:containerPort:)` gives it), and each cluster's discovery names into
/// the hosts files of that cluster's tasks (`ServiceNameRecords`).
///
/// The scheduler reports only changes, and always once at its first reconcile, so a new host
/// replaces whatever listeners and names an earlier host of the same state root left.
/// Draining needs nothing here: the scheduler takes a task out of its targets when it decides
/// to stop it and stops it a deregistration delay later; meanwhile conntrack keeps the task's
/// established connections on it, while new ones go to the targets still registered.
public final class ServiceTraffic: Sendable {
    let balancer: ServiceLoadBalancer
    let root: StateRoot
    let settings: ECSAPI.Settings
    let logger: Logger
    /// The clusters whose records this host wrote; nil until the first report (then every
    /// records file the state root holds counts, an earlier host's included).
    let clusters = Mutex<Set<String>?>(nil)

    /// Traffic for the host of `root`, with its own load balancer table
    /// (`ServiceLoadBalancer.tableName(rootPath:)`) unless one is given.
    public init(root: StateRoot, settings: ECSAPI.Settings, balancer: ServiceLoadBalancer? = nil, logger: Logger) {
        self.root = root
        self.settings = settings
        self.balancer = balancer ?? ServiceLoadBalancer(tableName: ServiceLoadBalancer.tableName(rootPath: root.path))
        self.logger = logger
    }

    /// Makes the scheduler report its targets and names here.
    public func connect(_ scheduler: ServiceScheduler) async {
        await scheduler.connect(targets: { [self] in apply($0) }, names: { [self] in publish($0) })
    }

    /// Each target group's listener with the targets of every group that listens there (two
    /// services naming one target group share its listener, as they would an ALB's).
    func listeners(_ groups: [TargetGroupTargets]) -> [LoadBalancerListener: [LoadBalancerTarget]] {
        var out: [LoadBalancerListener: [LoadBalancerTarget]] = [:]
        for g in groups {
            let l = settings.listener(of: g.targetGroupArn, containerPort: g.containerPort)
            out[LoadBalancerListener(address: l.address, port: l.port), default: []] += g.targets.map { LoadBalancerTarget(ip: $0, port: g.containerPort) }
        }
        return out
    }

    func apply(_ groups: [TargetGroupTargets]) {
        let wanted = listeners(groups)
        do {
            try balancer.apply(wanted)
            logger.info("load balancer applied", metadata: [
                "table": "\(balancer.tableName)",
                "listeners": "\(wanted.map { "\($0.key)=[\($0.value.map(\.description).joined(separator: ","))]" }.sorted().joined(separator: " "))",
            ])
        } catch {
            // The next change of targets tries again with the whole table.
            logger.error("load balancer not applied", metadata: ["table": "\(balancer.tableName)", "error": "\(error)"])
        }
    }

    /// Writes each cluster's names; a cluster that had names and has none now gets its block
    /// removed from its tasks' hosts files.
    func publish(_ names: [String: [String: [String]]]) {
        let before = clusters.withLock { $0 } ?? leftClusters()
        var written: Set<String> = []
        for cluster in before.union(names.keys).sorted() {
            do {
                let records = try ServiceNameRecords(names[cluster] ?? [:])
                let files = try records.publish(root: root, cluster: cluster)
                if !records.names.isEmpty { written.insert(cluster) }
                logger.info("service names published", metadata: ["cluster": "\(cluster)", "names": "\(records.names.keys.sorted())", "hostsFiles": "\(files.count)"])
            } catch {
                // Kept as written, so the next change tries this cluster again.
                written.insert(cluster)
                logger.error("service names not published", metadata: ["cluster": "\(cluster)", "error": "\(error)"])
            }
        }
        clusters.withLock { $0 = written }
    }

    /// The clusters an earlier host left records for: `<root>/service-discovery/NAME.hosts`.
    /// (ECS cluster names are letters, digits, `-` and `_`, which the file name keeps as they are.)
    func leftClusters() -> Set<String> {
        let dir = root.path + "/service-discovery"
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        return Set(files.filter { $0.hasSuffix(".hosts") && !$0.contains("%") }.map { String($0.dropLast(".hosts".count)) })
    }
}
