import Foundation
import HostInfo
import Metering
import Sandbox
import TaskNetwork
import Testing

/// Which problems a report names, with which fixes, and how it is written out.
struct HostReportTests {
    /// A machine with everything fargate-run needs: Debian 12 on cgroup v2, a journaled ext4.
    static func healthy() -> (HostReport.Kernel, HostReport.Cgroups, HostReport.Firewall, HostReport.Network, HostReport.Storage, HostReport.Libraries) {
        (HostReport.Kernel(release: "6.1.0-18-amd64", overlay: .module, overlayVolatile: true, openat2: .yes, pidfd: .yes, clone3: .yes,
                           maxUserNamespaces: 63_000),
         HostReport.Cgroups(layout: .unified, driver: .v2, parent: "/sys/fs/cgroup", controllers: ["cpu", "io", "memory", "pids"], missing: [],
                            parentHoldsProcesses: false, probeError: nil),
         HostReport.Firewall(nftables: .library, iptables: "/usr/sbin/iptables", iptablesBackend: "nf_tables", bridgeFiltering: true),
         HostReport.Network(mode: "awsvpc", bridge: "fr0", bridgeExists: false, subnet: "198.19.0.0/16", publishAddress: "127.0.0.1",
                            hostStateDirectory: "/run/fargate-run", cniPluginDirectories: ["/usr/lib/cni"], cniPlugins: ["bridge", "host-local"]),
         HostReport.Storage(path: "/var/lib/fargate-run", exists: true, mountPoint: "/", filesystem: "ext4", device: "/dev/sda1", journal: true,
                            freeBytes: 50 << 30, totalBytes: 100 << 30),
         HostReport.Libraries(archiveError: nil))
    }

    static func report(_ change: (inout HostReport.Kernel, inout HostReport.Cgroups, inout HostReport.Firewall, inout HostReport.Network,
                                  inout HostReport.Storage, inout HostReport.Libraries) -> Void = { _, _, _, _, _, _ in },
                       root: Bool = true) -> HostReport {
        var (k, c, f, n, s, l) = healthy()
        change(&k, &c, &f, &n, &s, &l)
        return HostReport(build: .init(version: "0.1.0", commit: "0123456789ab"), kernel: k, cgroups: c, firewall: f, network: n,
                          stateRoot: s, libraries: l, prices: .init(.usEast1, file: nil), runningAsRoot: root)
    }

    @Test func aHealthyHostHasNoProblems() {
        let r = Self.report()
        #expect(r.problems.isEmpty)
        #expect(!r.hasErrors)
        #expect(r.text.contains("No problems found."))
        #expect(r.text.contains("Cgroups: unified layout, driver v2"))
        #expect(r.text.contains("linux/x86_64: $0.04048 per vCPU-hour, $0.004445 per GB-hour"))
    }

    @Test func eachMissingPrerequisiteComesWithItsFix() {
        let r = Self.report { k, c, f, n, s, l in
            k.openat2 = .no
            k.overlay = .missing
            c.missing = ["memory"]
            f.nftables = .missing
            f.bridgeFiltering = false
            n.cniPlugins = []
            s.journal = false
            l = HostReport.Libraries(archiveError: "cannot load libarchive (libarchive.so.13): not found")
        }
        let fixes = Dictionary(r.problems.map { ($0.fix, $0.severity) }, uniquingKeysWith: { a, _ in a })
        #expect(fixes["apt-get install nftables"] == .error)
        #expect(fixes["apt-get install libarchive13"] == .error)
        #expect(fixes["apt-get install containernetworking-plugins"] == .warning)
        #expect(fixes.keys.contains(where: { $0.hasPrefix("modprobe br_netfilter") }))
        #expect(fixes.keys.contains(where: { $0.hasPrefix("tune2fs -O has_journal /dev/sda1") }))
        #expect(r.problems.contains { $0.severity == .error && $0.message.contains("openat2") })
        #expect(r.problems.contains { $0.severity == .error && $0.message.contains("overlay filesystem") })
        #expect(r.problems.contains { $0.severity == .error && $0.message.contains("memory") })
        #expect(r.problems.count == 8)
        #expect(r.hasErrors)
        #expect(r.text.contains("fix: apt-get install nftables"))
    }

    @Test func warningsAloneAreNoErrors() {
        let r = Self.report { k, _, f, _, s, _ in
            k.overlayVolatile = false
            f.nftables = .program
            s.freeBytes = 100 << 20
        }
        #expect(r.problems.map(\.severity) == [.warning, .warning, .warning])
        #expect(r.problems.map(\.fix).contains("apt-get install libnftables1"))
        #expect(r.problems.contains { $0.message.contains("only 100 MiB free") })
        #expect(!r.hasErrors)
    }

    @Test func aV2ParentHoldingProcessesNeedsACgroupParent() {
        let r = Self.report { _, c, _, _, _, _ in
            c.parent = "/sys/fs/cgroup/user.slice/user-0.slice/session-1.scope"
            c.parentHoldsProcesses = true
        }
        #expect(r.problems.count == 1)
        #expect(r.problems.first?.fix.contains("--cgroup-parent /fargate-run") == true)
    }

    @Test func aStateRootOnOverlayIsAnError() {
        let r = Self.report { _, _, _, _, s, _ in
            s.filesystem = "overlay"
            s.journal = nil
        }
        #expect(r.problems.map(\.severity) == [.error])
    }

    @Test func notRootIsSaidFirst() {
        let r = Self.report(root: false)
        #expect(r.problems.first?.fix == "sudo fargate-run info")
    }

    @Test func jsonCarriesEverySectionAndReadsBack() throws {
        let r = Self.report { _, _, f, _, _, _ in f.nftables = .missing }
        let json = try r.json()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(Set(object.keys) == ["build", "kernel", "cgroups", "firewall", "network", "stateRoot", "libraries", "prices", "problems"])
        #expect((object["cgroups"] as? [String: Any])?["driver"] as? String == "v2")
        let prices = try #require(object["prices"] as? [String: Any])
        #expect(prices["ephemeralStorageGBHour"] as? String == "0.000111", "money as a decimal string")
        #expect(try JSONDecoder().decode(HostReport.self, from: Data(json.utf8)) == r)
    }
}
