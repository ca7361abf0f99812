#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// A service's traffic on a real `serve`, driven by boto3: its target group's listener on
/// loopback (nftables in the kernel), a rolling deployment under load, and its discovery name
/// from another task. Requests go only to 127.0.0.1 and to the test's own tasks.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct ServiceTrafficTests {
    let clients = ECSAPIClientTests()

    @Test func theListenerSpreadsOverEveryTaskAndADeploymentUnderLoadLosesNoRequest() throws {
        let port = try freeLoopbackPort()
        let tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/web/0123456789abcdef"
        // Deregistered targets drain 2 s here (default 10 s), so the deployment takes seconds.
        let host = try HostTests.Host(["--task-healthy-after", "2", "--deregistration-delay", "2", "--target-group", "\(tg)=127.0.0.1:\(port)"])
        let table = ServiceTrafficTests.tableName(rootPath: host.h.root)
        defer {
            host.cleanup()
            // The host leaves its listeners to its tasks when it ends; the test's must go.
            _ = try? run("/usr/sbin/nft", ["delete", "table", "inet", table])
        }
        let r = try clients.check("load-balancer", host, environment: ["LISTENER": "127.0.0.1:\(port)", "TARGET_GROUP": tg,
                                                                       "FARGATE_RUN": fargateRunBinary, "ROOT": host.h.root])
        #expect(r.status == 0 && r.stdout.contains("the listener is gone"), "\(r.stdout)\n\(r.stderr)\nthe host logged:\n\(host.process?.stderr ?? "")")
        print(r.stdout)
        #expect(try run("/usr/sbin/nft", ["list", "table", "inet", table]).status != 0, "no table once the service is deleted")
        #expect(host.h.taskIds().allSatisfy { host.h.leftovers($0).isEmpty }, "nothing of any task is left")
    }

    @Test func aDiscoveryNameResolvesFromAnotherTaskOfTheClusterAndFollowsTheService() throws {
        let registry = "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0123456789abcdef"
        let host = try HostTests.Host(["--task-healthy-after", "1", "--service-registry", "\(registry)=web.internal"])
        defer { host.cleanup() }
        let r = try clients.check("discovery", host, environment: ["REGISTRY": registry, "NAME": "web.internal",
                                                                   "FARGATE_RUN": fargateRunBinary, "ROOT": host.h.root])
        #expect(r.status == 0 && r.stdout.contains("Service Connect: the client alias") && r.stdout.contains("are gone from the client's hosts file"),
                "\(r.stdout)\n\(r.stderr)\nthe host logged:\n\(host.process?.stderr ?? "")")
        print(r.stdout)
    }

    /// ServiceLoadBalancer.tableName(rootPath:) (this target does not link TaskNetwork): a
    /// test root's table is `fargate_run_lb_` and the root path's FNV-1a hash.
    static func tableName(rootPath: String) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in rootPath.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return "fargate_run_lb_" + String(format: "%08x", hash)
    }

    /// A loopback port nothing listens on now (the kernel's pick for a socket bound to port 0).
    func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &a) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        try #require(bound, "bind 127.0.0.1:0: errno \(errno)")
        return Int(UInt16(bigEndian: a.sin_port))
    }
}
