import CShim
import Foundation
import LinuxSupport
import Sandbox

extension HostReport {
    /// The running kernel and the features the runtime relies on.
    public struct Kernel: Codable, Sendable, Equatable {
        /// How overlayfs is available: in /proc/filesystems, as a module the kernel loads on
        /// the first overlay mount, or not at all.
        public enum Overlay: String, Codable, Sendable {
            case available, module, missing
        }

        /// uname's release, e.g. "6.1.0-18-amd64".
        public var release: String
        public var overlay: Overlay
        /// Overlays mounted with "volatile" (Linux 5.10): no sync of the upper layer at each
        /// container's exit (`HostCapabilities.overlayVolatile`).
        public var overlayVolatile: Bool
        public var openat2: Support
        public var pidfd: Support
        public var clone3: Support
        /// /proc/sys/user/max_user_namespaces; nil where the file is missing. fargate-run does
        /// not use user namespaces (containers' root is the host's root, as Docker's default);
        /// shown because a host that forbids them says something about its hardening.
        public var maxUserNamespaces: Int?

        public init(release: String, overlay: Overlay, overlayVolatile: Bool, openat2: Support, pidfd: Support, clone3: Support,
                    maxUserNamespaces: Int?) {
            self.release = release
            self.overlay = overlay
            self.overlayVolatile = overlayVolatile
            self.openat2 = openat2
            self.pidfd = pidfd
            self.clone3 = clone3
            self.maxUserNamespaces = maxUserNamespaces
        }

        /// The running kernel, probed.
        public static func probe() -> Kernel {
            let release = HostCapabilities.kernelRelease()
            let filesystems = (try? FileSystem.readString("/proc/filesystems")) ?? ""
            let module = ["", ".xz", ".zst", ".gz"].contains { FileSystem.exists("/lib/modules/\(release)/kernel/fs/overlayfs/overlay.ko" + $0) }
            let userns = (try? FileSystem.readString("/proc/sys/user/max_user_namespaces")).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            return Kernel(release: release, overlay: overlay(filesystems: filesystems, moduleInstalled: module),
                          overlayVolatile: HostCapabilities.overlayVolatile,
                          openat2: support(fr_probe_openat2()), pidfd: support(fr_probe_pidfd()), clone3: support(fr_probe_clone3()),
                          maxUserNamespaces: userns)
        }

        /// Overlay's availability from /proc/filesystems' text ("nodev\toverlay" lines) and
        /// whether the kernel's module tree holds it.
        public static func overlay(filesystems: String, moduleInstalled: Bool) -> Overlay {
            let known = filesystems.split(separator: "\n").contains { $0.split(whereSeparator: { $0 == "\t" || $0 == " " }).last == "overlay" }
            return known ? .available : (moduleInstalled ? .module : .missing)
        }

        static func support(_ probe: Int32) -> Support {
            probe == 1 ? .yes : (probe == 0 ? .no : .unknown)
        }

        var problems: [Problem] {
            var out: [Problem] = []
            if overlay == .missing {
                out.append(Problem(.error, "the kernel has no overlay filesystem (not in /proc/filesystems, no overlay module for \(release))",
                                   fix: "boot a kernel with overlayfs (CONFIG_OVERLAY_FS), such as Debian's: apt-get install linux-image-amd64"))
            }
            if openat2 == .no {
                out.append(Problem(.error, "the kernel has no openat2(2), which unpacking image layers safely needs",
                                   fix: "boot Linux 5.6 or later (Debian 12's is 6.1): apt-get install linux-image-amd64"))
            }
            if pidfd == .no {
                out.append(Problem(.error, "the kernel has no pidfds, through which containers are waited for and signalled",
                                   fix: "boot Linux 5.4 or later (Debian 12's is 6.1): apt-get install linux-image-amd64"))
            }
            if !overlayVolatile && overlay != .missing {
                out.append(Problem(.warning, "overlays cannot be mounted volatile (Linux 5.10): every container's exit syncs its filesystem",
                                   fix: "boot Linux 5.10 or later: apt-get install linux-image-amd64"))
            }
            return out
        }
    }
}
