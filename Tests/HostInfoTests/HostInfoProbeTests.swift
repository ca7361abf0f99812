import HostInfo
import LinuxSupport
import Testing

/// The parsing halves of the probes, on the texts of other hosts.
struct HostInfoProbeTests {
    @Test func cgroupLayoutsAreNamedAsSystemdNamesThem() {
        let unified = "25 22 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate"
        let hybrid = """
            30 23 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
            31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
            35 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            """
        let legacy = """
            30 23 0:26 / /sys/fs/cgroup ro - tmpfs tmpfs ro,mode=755
            35 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            """
        // A container runtime's view: a cgroup2 mounted over an earlier tmpfs.
        let covered = legacy + "\n50 30 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw"
        #expect(HostReport.Cgroups.layout(of: MountTable.parse(unified)) == .unified)
        #expect(HostReport.Cgroups.layout(of: MountTable.parse(hybrid)) == .hybrid)
        #expect(HostReport.Cgroups.layout(of: MountTable.parse(legacy)) == .legacy)
        #expect(HostReport.Cgroups.layout(of: MountTable.parse(covered)) == .unified)
        #expect(HostReport.Cgroups.layout(of: MountTable.parse("22 1 254:0 / / rw - ext4 /dev/vda rw")) == .none)
    }

    @Test func v1ControllersAreTheEnabledAndMountedOnes() {
        let procCgroups = """
            #subsys_name\thierarchy\tnum_cgroups\tenabled
            cpu\t1\t1\t1
            cpuacct\t1\t1\t1
            memory\t4\t47\t0
            pids\t8\t1\t1
            net_cls\t0\t1\t1
            """
        let mounts = MountTable.parse("""
            32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
            35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
            39 31 0:36 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids
            """)
        // memory is disabled (cgroup_disable=memory), net_cls not mounted.
        #expect(HostReport.Cgroups.v1Controllers(procCgroups: procCgroups, mounts: mounts) == ["cpu", "cpuacct", "pids"])
    }

    @Test func overlayIsFoundInProcFilesystemsOrAsAModule() {
        let listed = "nodev\tsysfs\nnodev\ttmpfs\n\text4\nnodev\toverlay\n"
        #expect(HostReport.Kernel.overlay(filesystems: listed, moduleInstalled: false) == .available)
        #expect(HostReport.Kernel.overlay(filesystems: "nodev\tsysfs\n\text4\n", moduleInstalled: true) == .module)
        #expect(HostReport.Kernel.overlay(filesystems: "nodev\toverlayish\n", moduleInstalled: false) == .missing)
    }

    @Test func anExt4HasAJournalWhenJbd2ListsItsDevice() {
        #expect(HostReport.Storage.hasJournal(blockDevice: "vda", journals: ["vda-8", "dm-0-8"]) == true)
        #expect(HostReport.Storage.hasJournal(blockDevice: "vdb", journals: ["vda-8"]) == false)
        #expect(HostReport.Storage.hasJournal(blockDevice: "dm-1", journals: ["dm-10-8"]) == false, "dm-10 is another device")
        #expect(HostReport.Storage.hasJournal(blockDevice: nil, journals: ["vda-8"]) == nil)
    }
}
