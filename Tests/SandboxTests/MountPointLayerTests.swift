#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import Sandbox
import TestSupport
import Testing

/// The shared layer of mount targets: what it holds, when its /etc may go over an image, and
/// that a container over it makes nothing in its own writable layer. Needs root (ownership,
/// mounts).
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason), .serialized)
struct MountPointLayerTests {
    func mode(_ path: String) -> (type: mode_t, perm: mode_t, uid: uid_t)? {
        var st = stat()
        guard lstat(path, &st) == 0 else { return nil }
        return (st.st_mode & S_IFMT, st.st_mode & 0o7777, st.st_uid)
    }

    @Test func holdsTheMountTargetsAndIsMadeOnce() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let old = umask(0o077)
        defer { umask(old) }
        let layer = try MountPointLayer.ensure(in: dir.path + "/cache", withEtc: true)
        for d in ["", "/proc", "/dev", "/sys", "/etc"] {
            #expect(mode(layer + d)?.type == S_IFDIR && mode(layer + d)?.perm == 0o755 && mode(layer + d)?.uid == 0, "\(d): whatever the umask")
        }
        for f in ["hosts", "resolv.conf", "hostname"] {
            #expect(mode(layer + "/etc/" + f)?.type == S_IFREG && mode(layer + "/etc/" + f)?.perm == 0o644)
        }
        var before = stat(), after = stat()
        #expect(stat(layer, &before) == 0)
        #expect(try MountPointLayer.ensure(in: dir.path + "/cache", withEtc: true) == layer)
        #expect(stat(layer, &after) == 0 && after.st_ino == before.st_ino, "the second start uses the first's")
        let bare = try MountPointLayer.ensure(in: dir.path + "/cache", withEtc: false)
        #expect(bare != layer && !FileSystem.exists(bare + "/etc") && FileSystem.isDirectory(bare + "/proc"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/cache").sorted() == ["mountpoints", "mountpoints-etc"],
                "no temporary directory is left")
    }

    @Test func itsEtcGoesOnlyOverARootOwned0755EtcOrNone() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        func layer(_ name: String, _ make: (String) throws -> Void) throws -> String {
            let p = dir.path + "/" + name
            try FileSystem.makeDirectories(p)
            try make(p)
            return p
        }
        let plain = try layer("plain") { p in
            #expect(mkdir(p + "/etc", 0o755) == 0 && chmod(p + "/etc", 0o755) == 0)
        }
        let none = try layer("none") { _ in }
        let linked = try layer("linked") { p in #expect(symlink("usr/etc", p + "/etc") == 0) }
        let tight = try layer("tight") { p in #expect(mkdir(p + "/etc", 0o700) == 0) }
        let owned = try layer("owned") { p in
            #expect(mkdir(p + "/etc", 0o755) == 0 && chmod(p + "/etc", 0o755) == 0 && chown(p + "/etc", 1000, 1000) == 0)
        }
        #expect(MountPointLayer.etcFits(layers: []))
        #expect(MountPointLayer.etcFits(layers: [none]))
        #expect(MountPointLayer.etcFits(layers: [plain]))
        #expect(MountPointLayer.etcFits(layers: [tight, none, plain]), "the topmost /etc decides; layers without one pass")
        #expect(!MountPointLayer.etcFits(layers: [plain, linked]), "a link would be hidden by the layer's directory")
        #expect(!MountPointLayer.etcFits(layers: [plain, none, tight]), "its mode would change")
        #expect(!MountPointLayer.etcFits(layers: [owned]), "its owner would change")
    }

    @Test func aContainerOverItMakesNothingInItsWritableLayer() async throws {
        let tmp = try TemporaryDirectory()
        defer { tmp.remove() }
        let lower = tmp.path + "/lower", upper = tmp.path + "/upper", work = tmp.path + "/work", target = tmp.path + "/rootfs"
        for d in [lower, upper, work, target] { try FileSystem.makeDirectories(d) }
        try TestImages.unpackBusybox(into: lower)
        let layer = try MountPointLayer.ensure(in: tmp.path + "/cache", withEtc: MountPointLayer.etcFits(layers: [lower]))
        #expect(layer.hasSuffix("-etc"), "busybox's /etc is root's, 0755")
        // The name files, bind-mounted over the layer's empty ones, as a task's are.
        var mounts = DefaultProfile.mounts(cgroups: nil)
        for f in MountPointLayer.etcFiles {
            try FileSystem.createFile(tmp.path + "/" + f, Array("from the task: \(f)\n".utf8))
            mounts.append(ContainerSpec.Mount(source: tmp.path + "/" + f, target: "/etc/" + f, fstype: nil,
                                              flags: UInt(MS_BIND | MS_RDONLY), kind: .file))
        }
        let spec = ContainerSpec(rootfs: .overlay(lower: [layer, lower], upper: upper, work: work, target: target),
                                 arguments: ["sh", "-c", "cat /etc/hosts /etc/hostname; ls /proc/self/status /sys/kernel >/dev/null && echo mounted"],
                                 environment: ["PATH=/bin"], hostname: "box", mounts: mounts, devices: DefaultProfile.devices,
                                 symlinks: DefaultProfile.symlinks, rlimits: [])
        var outp: [Int32] = [0, 0]
        #expect(pipe(&outp) == 0)
        let process = try ContainerLauncher.start(spec, cgroup: nil, stdout: outp[1], stderr: 2)
        close(outp[1])
        let out = String(decoding: FileHandle(fileDescriptor: outp[0], closeOnDealloc: true).readDataToEndOfFile(), as: UTF8.self)
        #expect(await process.wait() == TerminationStatus(exited: true, value: 0))
        #expect(out == "from the task: hosts\nfrom the task: hostname\nmounted\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: upper).isEmpty,
                "the mount targets were there already: nothing made in the container's own layer")
        #expect(try FileManager.default.contentsOfDirectory(atPath: layer + "/etc").sorted() == ["hostname", "hosts", "resolv.conf"])
        var st = stat()
        #expect(stat(layer + "/etc/hosts", &st) == 0 && st.st_size == 0, "the shared layer is never written")
    }
}
