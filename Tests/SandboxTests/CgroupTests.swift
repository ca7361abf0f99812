#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
@testable import Sandbox
import TestSupport
import Testing

struct CgroupProbeTests {
    /// This project's build machines: cgroup2 at /sys/fs/cgroup/unified without controllers,
    /// v1 cpu and cpuacct mounted apart, our memory cgroup nested.
    let hybridMountinfo = """
        30 23 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
        31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw
        33 30 0:29 / /sys/fs/cgroup/cpu rw,nosuid,nodev,noexec,relatime shared:14 - cgroup cgroup rw,cpu
        34 30 0:30 / /sys/fs/cgroup/cpuacct rw,nosuid,nodev,noexec,relatime shared:15 - cgroup cgroup rw,cpuacct
        35 30 0:31 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:16 - cgroup cgroup rw,memory
        36 30 0:32 / /sys/fs/cgroup/pids rw,nosuid,nodev,noexec,relatime shared:17 - cgroup cgroup rw,pids
        37 30 0:33 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
        38 30 0:34 / /sys/fs/cgroup/devices rw,nosuid,nodev,noexec,relatime shared:18 - cgroup cgroup rw,devices
        """
    let hybridMembership = "9:name=systemd:/\n8:pids:/\n5:devices:/\n4:memory:/process_api/abc\n2:cpuacct:/\n1:cpu:/\n0::/\n"

    @Test func hybridHostIsV1WithOneHierarchyPerController() throws {
        let h = try CgroupHost.probe(mountinfo: hybridMountinfo, membership: hybridMembership, parent: nil, isUnifiedRoot: false)
        #expect(h.version == .v1)
        #expect(h.hierarchies.map(\.controllers) == [["cpu"], ["cpuacct"], ["memory"], ["pids"], ["devices"]])
        #expect(h.hierarchies.map(\.directory) == ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/memory/process_api/abc",
                                                   "/sys/fs/cgroup/pids", "/sys/fs/cgroup/devices"])
    }

    @Test func comountedControllersShareAHierarchy() throws {
        let mi = """
            33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            35 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            36 30 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
            37 30 0:33 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices
            """
        let h = try CgroupHost.probe(mountinfo: mi, membership: "3:cpu,cpuacct:/user.slice\n2:memory:/user.slice\n1:pids:/user.slice\n", parent: nil, isUnifiedRoot: false)
        #expect(h.hierarchies.count == 4)
        #expect(h.hierarchies[0].controllers == ["cpu", "cpuacct"])
        #expect(h.hierarchies[0].directory == "/sys/fs/cgroup/cpu,cpuacct/user.slice")
        #expect(h.hierarchies[0].mountData == "cpu,cpuacct")
    }

    @Test func unifiedHostNestsUnderOurCgroupOrTheParent() throws {
        let mi = "25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate"
        let own = try CgroupHost.probe(mountinfo: mi, membership: "0::/system.slice/x.service\n", parent: nil, isUnifiedRoot: true)
        #expect(own.version == .v2)
        #expect(own.hierarchies[0].directory == "/sys/fs/cgroup/system.slice/x.service")
        let absolute = try CgroupHost.probe(mountinfo: mi, membership: "0::/a\n", parent: "/fargate.slice", isUnifiedRoot: true)
        #expect(absolute.hierarchies[0].directory == "/sys/fs/cgroup/fargate.slice")
        let relative = try CgroupHost.probe(mountinfo: mi, membership: "0::/a\n", parent: "tasks", isUnifiedRoot: true)
        #expect(relative.hierarchies[0].directory == "/sys/fs/cgroup/a/tasks")
    }

    @Test func missingControllerIsNamed() {
        #expect { try CgroupHost.probe(mountinfo: "", membership: "", parent: nil, isUnifiedRoot: false) } throws: {
            "\($0)".contains("\"cpu\" is not mounted")
        }
    }

    @Test func sharesToWeightAsRunc() {
        #expect(ResourceLimits.weight(fromShares: 2) == 1)
        #expect(ResourceLimits.weight(fromShares: 1024) == 39)
        #expect(ResourceLimits.weight(fromShares: 262_144) == 10000)
    }

    @Test func capabilitiesFromProcStatus() {
        let caps = HostCapabilities.effective(statusText: "Name:\tx\nCapEff:\t00000000a80425fb\n")
        #expect(caps == Capability.dockerDefault)
        #expect(Capability.mask(Capability.dockerDefault) == 0xa80425fb)
        #expect(Capability(name: "CAP_SYS_PTRACE") == .sysPtrace)
        #expect(Capability(name: "net_raw") == .netRaw)
        #expect(Capability(name: "bogus") == nil)
    }

    @Test func kernelReleasesCompareByMajorAndMinor() {
        #expect(HostCapabilities.kernelAtLeast(5, 10, release: "6.18.44-fc-v509"))
        #expect(HostCapabilities.kernelAtLeast(5, 10, release: "5.10.0-rc1"))
        #expect(!HostCapabilities.kernelAtLeast(5, 10, release: "5.4.0-150-generic"))
        #expect(!HostCapabilities.kernelAtLeast(5, 10, release: "4.19.0"))
        #expect(!HostCapabilities.kernelAtLeast(5, 10, release: "garbage"))
    }
}

/// Real cgroups on this host (v1 or v2, whichever it has). Needs root.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct CgroupLimitTests {
    @Test func limitsAreWrittenAndReadBackThenRemoved() throws {
        let host = try CgroupHost.probe()
        let name = "fargate-run-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let task = try Cgroup.create(host: host, relativePath: name,
                                     limits: ResourceLimits(cpuQuota: 25_000, memoryMax: 512 << 20, noSwap: true, pidsMax: 100),
                                     delegateControllers: true)
        let child = try task.child("web", limits: ResourceLimits(cpuShares: 512, memoryMax: 128 << 20, memoryLow: 64 << 20))
        let l = task.effectiveLimits()
        #expect(l.cpuQuota == 25_000 && l.cpuPeriod == 100_000)
        #expect(l.memoryMax == 512 << 20)
        #expect(l.pidsMax == 100)
        let c = child.effectiveLimits()
        #expect(c.memoryMax == 128 << 20)
        #expect(c.memoryLow == 64 << 20)
        #expect(c.cpuShares == (host.version == .v2 ? ResourceLimits.weight(fromShares: 512) : 512))
        for d in child.directories { #expect(FileSystem.isDirectory(d)) }
        try task.remove()
        for d in task.directories + child.directories { #expect(!FileSystem.exists(d)) }
    }

    @Test func creatingTwiceFailsAndLeavesTheFirst() throws {
        let host = try CgroupHost.probe()
        let name = "fargate-run-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let cg = try Cgroup.create(host: host, relativePath: name, limits: ResourceLimits())
        defer { try? cg.remove() }
        #expect(throws: SystemError.self) { try Cgroup.create(host: host, relativePath: name, limits: ResourceLimits()) }
        for d in cg.directories { #expect(FileSystem.isDirectory(d)) }
    }
}
