#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import TaskNetwork
import TestSupport
import Testing

/// fargate-run's own address leases, in host-local's store. The allocation order is checked
/// on files; the format against the real host-local plugin, which must release our leases and
/// whose leases we must release.
struct AddressPoolTests {
    @Test func leasesGoInOrderAfterTheLastOneSkipTheGatewayAndWrap() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let pool = try AddressPool(dataDirectory: tmp.path, networkName: "n", subnet: "198.18.9.0/29")
        // .0 is the network, .1 the gateway, .7 the broadcast: .2 to .6 are for tasks.
        let hint = tmp.path + "/n/last_reserved_ip.0"
        var inodes: Set<UInt> = []
        let first = try (0..<5).map { n in
            let ip = AddressPool.text(try pool.reserve(id: "t\(n)"))
            var st = stat()
            #expect(stat(hint, &st) == 0)
            inodes.insert(UInt(st.st_ino))
            return ip
        }
        #expect(first == ["198.18.9.2", "198.18.9.3", "198.18.9.4", "198.18.9.5", "198.18.9.6"])
        #expect(try String(contentsOfFile: hint, encoding: .utf8) == "198.18.9.6")
        #expect(inodes.count == 1, "the hint is rewritten in place, as host-local does, not replaced")
        #expect(throws: NetworkError.self, "the subnet is full") { _ = try pool.reserve(id: "t5") }
        #expect(try String(contentsOfFile: tmp.path + "/n/198.18.9.3", encoding: .utf8) == "t1\r\neth0", "host-local's format")
        #expect(try pool.release(id: "t1") == 1)
        #expect(try pool.release(id: "t1") == 0)
        #expect(pool.lease(of: "t2") == "198.18.9.4")
        // The next one after the last reserved (.6), wrapping past the gateway: the freed .3
        // only after the free .2.
        try #require(try pool.release(id: "t0") == 1)
        #expect(AddressPool.text(try pool.reserve(id: "t6")) == "198.18.9.2")
        #expect(AddressPool.text(try pool.reserve(id: "t7")) == "198.18.9.3")
    }

    @Test func aSubnetWithoutRoomIsRefused() {
        #expect(throws: NetworkError.self) { _ = try AddressPool(dataDirectory: "/tmp", networkName: "n", subnet: "198.18.9.0/31") }
        #expect(throws: NetworkError.self) { _ = try AddressPool(dataDirectory: "/tmp", networkName: "n", subnet: "not-a-subnet") }
    }

    /// Runs the real host-local plugin on the pool's directory.
    func hostLocal(_ command: String, id: String, dataDirectory: String) throws -> Subprocess.Result {
        let conf = #"{"cniVersion": "1.0.0", "name": "n", "ipam": {"type": "host-local", "ranges": [[{"subnet": "198.18.9.0/29"}]], "dataDir": "\#(dataDirectory)"}}"#
        let plugin = ["/usr/lib/cni/host-local", "/opt/cni/bin/host-local"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let path = try #require(plugin, "the host-local CNI plugin (containernetworking-plugins) is installed")
        return try Subprocess.run(path, [], environment: ["CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(id)", "CNI_NETNS=/proc/self/ns/net",
                                                          "CNI_IFNAME=eth0", "CNI_PATH=/usr/lib/cni"], stdin: Array(conf.utf8))
    }

    @Test func hostLocalAndThePoolShareLeases() throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let pool = try AddressPool(dataDirectory: tmp.path, networkName: "n", subnet: "198.18.9.0/29")
        let ours = AddressPool.text(try pool.reserve(id: "ours"))
        // host-local continues after our last reservation and releases our lease on DEL.
        let add = try hostLocal("ADD", id: "theirs", dataDirectory: tmp.path)
        #expect(add.status == 0, "\(add.stderrText) \(add.stdoutText)")
        #expect(add.stdoutText.contains("198.18.9.3/29"), "the address after ours: \(add.stdoutText)")
        #expect(pool.lease(of: "theirs") == "198.18.9.3", "we read host-local's lease")
        let del = try hostLocal("DEL", id: "ours", dataDirectory: tmp.path)
        #expect(del.status == 0, "\(del.stderrText)")
        #expect(pool.lease(of: "ours") == nil, "host-local released our \(ours)")
        // And we release host-local's.
        #expect(try pool.release(id: "theirs") == 1)
        #expect(AddressPool.text(try pool.reserve(id: "next")) == "198.18.9.4", "after host-local's last reservation")
    }
}
