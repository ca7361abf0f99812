import LinuxSupport
import Testing

struct MountTableTests {
    let mountinfo = """
        22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
        23 22 0:21 / /proc rw,nosuid - proc proc rw
        41 22 7:3 / /var/lib/fargate\\040run rw,relatime - xfs /dev/loop3 rw,attr2
        42 22 0:40 / /var/lib rw - tmpfs tmpfs rw
        """

    @Test func fieldsAreReadAndUnescaped() throws {
        let m = MountTable.parse(mountinfo)
        #expect(m.count == 4)
        #expect(m[2] == MountEntry(root: "/", mountPoint: "/var/lib/fargate run", device: "7:3", fstype: "xfs", source: "/dev/loop3",
                                   superOptions: ["rw", "attr2"]))
    }

    @Test func theMountHoldingAPathIsTheLastOnItOrAParent() {
        let m = MountTable.parse(mountinfo)
        #expect(MountTable.mount(holding: "/home/x", in: m)?.fstype == "ext4")
        #expect(MountTable.mount(holding: "/proc", in: m)?.fstype == "proc")
        #expect(MountTable.mount(holding: "/procfs", in: m)?.fstype == "ext4", "a name sharing a prefix is not beneath the mount")
        // /var/lib was mounted after /var/lib/fargate run and covers it.
        #expect(MountTable.mount(holding: "/var/lib/fargate run/tasks", in: m)?.fstype == "tmpfs")
    }
}
