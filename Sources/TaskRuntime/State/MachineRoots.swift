#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The state roots that have had tasks on this machine since it booted: one file per root in
/// /run/fargate-run/roots, holding its path. A task's root is listed before its active marker
/// is made, so before anything of the task exists outside its root; `OrphanSweep` looks
/// through the list for what tasks of roots since deleted left behind (a CI job's temporary
/// root removed after its fargate-run was killed). /run is emptied at boot, as are the
/// network namespaces, leases and cgroups the list is there to account for.
public struct MachineRoots: Sendable {
    public let directory: String

    public init(directory: String = "/run/fargate-run/roots") {
        self.directory = directory
    }

    /// Lists `root` (an absolute path): one `access` when it is listed already.
    public func register(_ root: String) throws(SystemError) {
        let file = path(root)
        if access(file, F_OK) == 0 { return }
        try FileSystem.makeDirectories(directory, mode: 0o700)
        try FileSystem.writeAtomically(file, Array(root.utf8), mode: 0o600, durable: false)
    }

    /// Every root listed, whether or not it is still there.
    public func roots() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { !$0.contains(".tmp-") }.compactMap {
            try? FileSystem.readString(directory + "/" + $0)
        }
    }

    /// Takes a root that is gone off the list.
    public func forget(_ root: String) {
        unlink(path(root))
    }

    /// The root's file: named by a hash of its path (a path can be longer than a file name).
    func path(_ root: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in root.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return directory + "/" + String(h, radix: 16)
    }
}
