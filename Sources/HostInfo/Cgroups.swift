import LinuxSupport
import Sandbox

extension HostReport {
    /// The cgroup hierarchies and the driver fargate-run uses with them (`CgroupHost.probe`).
    public struct Cgroups: Codable, Sendable, Equatable {
        /// How the host mounts cgroups, as systemd names the three layouts.
        public enum Layout: String, Codable, Sendable {
            /// cgroup2 alone at /sys/fs/cgroup.
            case unified
            /// v1 controller hierarchies, and a cgroup2 beside them (usually at
            /// /sys/fs/cgroup/unified) that holds no controllers.
            case hybrid
            /// v1 hierarchies only.
            case legacy
            /// No cgroup filesystem is mounted.
            case none
        }

        public var layout: Layout
        /// The driver fargate-run uses: v2 on a unified layout, else v1; nil when the probe
        /// failed (`probeError` says why).
        public var driver: CgroupVersion?
        /// The directory tasks' cgroups are made beneath (v1: the memory hierarchy's).
        public var parent: String?
        /// The controllers the kernel offers that the driver can use.
        public var controllers: [String]
        /// Controllers the driver needs that are not available.
        public var missing: [String]
        /// v2: the parent cgroup holds processes and has no controllers enabled for children,
        /// so the kernel will refuse to enable them (fargate-run's own cgroup, from a shell).
        public var parentHoldsProcesses: Bool
        public var probeError: String?

        public init(layout: Layout, driver: CgroupVersion?, parent: String?, controllers: [String], missing: [String],
                    parentHoldsProcesses: Bool, probeError: String?) {
            self.layout = layout
            self.driver = driver
            self.parent = parent
            self.controllers = controllers
            self.missing = missing
            self.parentHoldsProcesses = parentHoldsProcesses
            self.probeError = probeError
        }

        /// This process's view of the cgroups, for tasks made beneath `cgroupParent` (as
        /// `run --cgroup-parent`) or beneath our own cgroup.
        public static func probe(cgroupParent: String?) -> Cgroups {
            let mounts = MountTable.parse((try? FileSystem.readString("/proc/self/mountinfo")) ?? "")
            let layout = layout(of: mounts)
            let host: CgroupHost
            do { host = try CgroupHost.probe(parent: cgroupParent) } catch {
                return Cgroups(layout: layout, driver: nil, parent: nil, controllers: [], missing: [], parentHoldsProcesses: false,
                               probeError: "\(error)")
            }
            switch host.version {
            case .v2:
                let h = host.hierarchies[0]
                // The root's list is what the kernel offers; the driver enables it down to the parent.
                let offered = words((try? FileSystem.readString(h.mountPoint + "/cgroup.controllers")) ?? "")
                let procs = (try? FileSystem.readString(h.directory + "/cgroup.procs")) ?? ""
                let enabled = words((try? FileSystem.readString(h.directory + "/cgroup.subtree_control")) ?? "")
                let holds = h.parentPath != "/" && !procs.isEmpty && !CgroupHost.v2Controllers.allSatisfy(enabled.contains)
                return Cgroups(layout: layout, driver: .v2, parent: h.directory, controllers: offered,
                               missing: CgroupHost.v2Controllers.filter { !offered.contains($0) }, parentHoldsProcesses: holds, probeError: nil)
            case .v1:
                let usable = v1Controllers(procCgroups: (try? FileSystem.readString("/proc/cgroups")) ?? "", mounts: mounts)
                let memory = host.hierarchies.first { $0.controllers.contains("memory") } ?? host.hierarchies.first
                return Cgroups(layout: layout, driver: .v1, parent: memory?.directory, controllers: usable,
                               missing: CgroupHost.v1Controllers.filter { !usable.contains($0) }, parentHoldsProcesses: false, probeError: nil)
            }
        }

        /// The layout the mounts show: unified when /sys/fs/cgroup itself is cgroup2 (the
        /// last mount there is the one seen), else hybrid or legacy by whether a cgroup2 is
        /// mounted anywhere beside v1 hierarchies.
        public static func layout(of mounts: [MountEntry]) -> Layout {
            if mounts.last(where: { $0.mountPoint == "/sys/fs/cgroup" })?.fstype == "cgroup2" { return .unified }
            let v1 = mounts.contains { $0.fstype == "cgroup" }
            let v2 = mounts.contains { $0.fstype == "cgroup2" }
            return v1 ? (v2 ? .hybrid : .legacy) : (v2 ? .unified : .none)
        }

        /// v1 controllers that are enabled (/proc/cgroups: `name hierarchy count enabled`) and
        /// mounted (a cgroup mount lists them in its options), in /proc/cgroups' order.
        public static func v1Controllers(procCgroups: String, mounts: [MountEntry]) -> [String] {
            let mounted = Set(mounts.filter { $0.fstype == "cgroup" }.flatMap(\.superOptions))
            return procCgroups.split(separator: "\n").compactMap { line in
                guard !line.hasPrefix("#") else { return nil }
                let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
                guard f.count == 4, f[3] == "1", mounted.contains(String(f[0])) else { return nil }
                return String(f[0])
            }
        }

        static func words(_ s: String) -> [String] {
            s.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        }

        var problems: [Problem] {
            var out: [Problem] = []
            if let probeError {
                out.append(Problem(.error, "cgroups: \(probeError)",
                                   fix: layout == .none ? "mount the cgroup hierarchies (systemd does at boot; else apt-get install cgroupfs-mount)"
                                       : "mount the missing v1 hierarchy (apt-get install cgroupfs-mount), or boot with cgroup v2 alone (systemd.unified_cgroup_hierarchy=1)"))
            }
            if !missing.isEmpty {
                let fix = driver == .v2
                    ? "boot without cgroup_disable=\(missing.joined(separator: ",")) on the kernel command line, and with no v1 hierarchy holding them (cgroup_no_v1=all)"
                    : "mount them (apt-get install cgroupfs-mount), and boot without cgroup_disable=\(missing.joined(separator: ","))"
                out.append(Problem(.error, "cgroup controllers fargate-run needs are not available: \(missing.joined(separator: ", "))", fix: fix))
            }
            if parentHoldsProcesses, let parent {
                out.append(Problem(.error, "tasks' cgroups would go beneath \(parent), which holds processes: cgroup v2 enables no controllers for children there",
                                   fix: "give tasks a cgroup of their own: fargate-run run --cgroup-parent /fargate-run ..."))
            }
            return out
        }
    }
}
