@testable import ECSAPI
import Foundation
import Logging
@testable import Services
import TaskNetwork
import TaskRuntime
import Testing

/// What ServiceTraffic makes of the scheduler's reports, without root: which listener each
/// target group gets, and the records files of the clusters' names.
struct ServiceTrafficMappingTests {
    func traffic(_ targetGroups: [String: ECSAPI.Settings.Listener] = [:]) throws -> (ServiceTraffic, StateRoot) {
        let root = try StateRoot(path: FileManager.default.temporaryDirectory.path + "/traffic-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        // A balancer whose nft is never run by these tests.
        let t = ServiceTraffic(root: root, settings: ECSAPI.Settings(targetGroups: targetGroups),
                               balancer: ServiceLoadBalancer(tableName: "unused"), logger: Logger(label: "test"))
        return (t, root)
    }

    @Test func eachTargetGroupGetsItsListenerAndTheContainerPortOfItsTargets() throws {
        let (t, root) = try traffic(["tg-a": .init(address: "127.0.0.1", port: 18080)])
        defer { try? FileManager.default.removeItem(atPath: root.path) }
        let l = t.listeners([
            TargetGroupTargets(targetGroupArn: "tg-a", containerPort: 8080, targets: ["198.19.0.5", "198.19.0.6"]),
            TargetGroupTargets(targetGroupArn: "tg-b", containerPort: 9090, targets: []),
            TargetGroupTargets(targetGroupArn: "tg-a", containerPort: 8080, targets: ["198.19.0.7"]),
        ])
        #expect(l == [
            LoadBalancerListener(address: "127.0.0.1", port: 18080): ["198.19.0.5", "198.19.0.6", "198.19.0.7"].map { LoadBalancerTarget(ip: $0, port: 8080) },
            // Not given by --target-group: 127.0.0.1 and the container port, with no target yet.
            LoadBalancerListener(address: "127.0.0.1", port: 9090): [],
        ])
    }

    @Test func namesAreWrittenPerClusterAndAClusterThatLostThemIsCleared() throws {
        let (t, root) = try traffic()
        defer { try? FileManager.default.removeItem(atPath: root.path) }
        // An earlier host left names for a cluster that has none now.
        let left = ServiceNameRecords.recordsFile(root: root, cluster: "old")
        try FileManager.default.createDirectory(atPath: root.path + "/service-discovery", withIntermediateDirectories: true)
        try "x".write(toFile: left, atomically: false, encoding: .utf8)
        t.publish(["default": ["web.internal": ["198.19.0.5"]]])
        let mine = ServiceNameRecords.recordsFile(root: root, cluster: "default")
        #expect(try String(contentsOfFile: mine, encoding: .utf8).contains("198.19.0.5\tweb.internal\n"))
        #expect(!FileManager.default.fileExists(atPath: left), "the earlier host's records are gone")
        t.publish([:])
        #expect(!FileManager.default.fileExists(atPath: mine))
    }
}
