#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

extension HostReport {
    /// The state root (images, layer snapshots, containers' writable layers, the ledger) and
    /// the filesystem it is on.
    public struct Storage: Codable, Sendable, Equatable {
        public var path: String
        /// Whether it exists yet (it is made by the first command that needs it); the
        /// filesystem is then the one of its nearest existing parent.
        public var exists: Bool
        public var mountPoint: String?
        public var filesystem: String?
        /// The mount source, e.g. /dev/vda.
        public var device: String?
        /// ext2/3/4 (one driver): whether it has a journal; nil for other filesystems.
        public var journal: Bool?
        public var freeBytes: UInt64?
        public var totalBytes: UInt64?

        public init(path: String, exists: Bool, mountPoint: String?, filesystem: String?, device: String?, journal: Bool?,
                    freeBytes: UInt64?, totalBytes: UInt64?) {
            self.path = path
            self.exists = exists
            self.mountPoint = mountPoint
            self.filesystem = filesystem
            self.device = device
            self.journal = journal
            self.freeBytes = freeBytes
            self.totalBytes = totalBytes
        }

        /// Below this much free space a warning is given: an image's layers and a few tasks'
        /// writable layers no longer fit comfortably.
        public static let lowSpace: UInt64 = 1 << 30

        public static func probe(path: String) -> Storage {
            var existing = path
            while !FileSystem.exists(existing) && existing != "/" { existing = FileSystem.parent(of: existing) }
            let resolved = URL(fileURLWithPath: existing).resolvingSymlinksInPath().path
            let mounts = MountTable.parse((try? FileSystem.readString("/proc/self/mountinfo")) ?? "")
            let mount = MountTable.mount(holding: resolved, in: mounts)
            var journal: Bool?
            if let mount, ["ext2", "ext3", "ext4"].contains(mount.fstype) {
                journal = hasJournal(blockDevice: blockDeviceName(mount.device),
                                     journals: (try? FileManager.default.contentsOfDirectory(atPath: "/proc/fs/jbd2")) ?? [])
            }
            var fs = statvfs()
            let sized = statvfs(existing, &fs) == 0
            return Storage(path: path, exists: existing == path, mountPoint: mount?.mountPoint, filesystem: mount?.fstype, device: mount?.source,
                           journal: journal, freeBytes: sized ? UInt64(fs.f_bavail) * UInt64(fs.f_frsize) : nil,
                           totalBytes: sized ? UInt64(fs.f_blocks) * UInt64(fs.f_frsize) : nil)
        }

        /// The kernel's name of the block device "major:minor" (as /proc/fs/jbd2 names
        /// journals: vda, dm-0, loop3), from /sys/dev/block; nil when it is not a block device.
        static func blockDeviceName(_ device: String) -> String? {
            guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "/sys/dev/block/" + device) else { return nil }
            return target.split(separator: "/").last.map(String.init)
        }

        /// jbd2 keeps one /proc/fs/jbd2 entry per journal in use, "DEVICE-INODE" (vda-8): an
        /// ext4 mounted without one has none. Unknown (nil) without the device's name.
        public static func hasJournal(blockDevice: String?, journals: [String]) -> Bool? {
            guard let blockDevice else { return nil }
            return journals.contains { $0.hasPrefix(blockDevice + "-") }
        }

        var problems: [Problem] {
            var out: [Problem] = []
            if filesystem == "overlay" {
                out.append(Problem(.error, "the state root \(path) is on an overlay filesystem, which cannot hold containers' upper layers",
                                   fix: "fargate-run --root DIR (or FARGATE_RUN_ROOT=DIR) on ext4, xfs, btrfs or tmpfs"))
            }
            if journal == false {
                out.append(Problem(.warning, "the state root's \(filesystem ?? "ext4") on \(device ?? "?") has no journal: every new file scans the inodes deleted in the last seconds, and starts slow down as tasks come and go (Docs/PERFORMANCE.md)",
                                   fix: "tune2fs -O has_journal \(device ?? "DEVICE") while it is unmounted, or --root DIR on a journaled filesystem"))
            }
            if let freeBytes, freeBytes < Storage.lowSpace {
                out.append(Problem(.warning, "only \(freeBytes >> 20) MiB free for the state root \(path)",
                                   fix: "free space on \(mountPoint ?? "its filesystem"), remove unused images (fargate-run images prune), or --root DIR elsewhere"))
            }
            return out
        }
    }
}
