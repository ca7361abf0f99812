#if canImport(Glibc)
import Glibc
#endif

/// Everything needed to start one container process. Runtime-neutral: no ECS words here.
public struct ContainerSpec: Sendable {
    /// How the root filesystem is assembled.
    public enum RootFilesystem: Sendable, Equatable {
        /// An overlay of read-only `lower` layers (topmost first) with a writable upper layer,
        /// mounted at `target` inside the container's own mount namespace: it disappears with
        /// the container and is never visible on the host. Mounted "volatile" where the kernel
        /// has it (`HostCapabilities.overlayVolatile`): the upper layer is never synced, so it
        /// must not be kept past a crash; the kernel marks it (`work/work/incompat/volatile`)
        /// and refuses to mount it again while the mark is there.
        case overlay(lower: [String], upper: String, work: String, target: String)
        /// An existing directory used as is (bind-mounted onto itself).
        case directory(String)

        var target: String {
            switch self {
            case .overlay(_, _, _, let t): return t
            case .directory(let d): return d
            }
        }
    }

    public struct Mount: Sendable, Equatable {
        public enum Kind: Int32, Sendable { case directory = 0, file = 1 }
        public var source: String?
        /// Absolute path inside the container.
        public var target: String
        public var fstype: String?
        public var flags: UInt
        public var data: String?
        public var kind: Kind

        public init(source: String?, target: String, fstype: String?, flags: UInt, data: String? = nil, kind: Kind = .directory) {
            self.source = source
            self.target = target
            self.fstype = fstype
            self.flags = flags
            self.data = data
            self.kind = kind
        }
    }

    public struct Device: Sendable, Equatable {
        public var path: String
        public var mode: UInt32
        public var major: UInt32
        public var minor: UInt32
    }

    public struct Symlink: Sendable, Equatable {
        public var target: String
        public var path: String
    }

    public struct Rlimit: Sendable, Equatable, Codable {
        public var resource: Int32
        public var soft: UInt64
        public var hard: UInt64
        public init(resource: Int32, soft: UInt64, hard: UInt64) {
            self.resource = resource
            self.soft = soft
            self.hard = hard
        }
    }

    public struct User: Sendable, Equatable, Codable {
        public var uid: UInt32
        public var gid: UInt32
        public var additionalGids: [UInt32]
        public init(uid: UInt32 = 0, gid: UInt32 = 0, additionalGids: [UInt32] = []) {
            self.uid = uid
            self.gid = gid
            self.additionalGids = additionalGids
        }
    }

    public var rootfs: RootFilesystem
    /// argv; argv[0] is looked up in the container's PATH when it has no slash.
    public var arguments: [String]
    /// KEY=value strings.
    public var environment: [String]
    /// Absolute; created if missing.
    public var workingDirectory: String
    public var user: User
    public var hostname: String?
    /// `hostname` will not change at `PreparedContainer.start`: a prepared process then sets
    /// it and drops its privileges (limits, user, capabilities, no_new_privs, seccomp) before
    /// it waits, so the start is left only the exec.
    public var hostnameIsFinal = false
    /// Path of a network namespace to join (bind-mounted nsfs file); nil creates a new one.
    public var networkNamespace: String?
    /// Path of a pid namespace to create the process in (e.g. /proc/PID/ns/pid of a task's
    /// pause process); nil gives the container a pid namespace of its own, where it is pid 1.
    public var pidNamespace: String?
    /// Run this sealed program (with `arguments` as its argv) instead of looking argv[0] up
    /// in the container; used for the init.
    public var executable: SealedExecutable?
    public var mounts: [Mount]
    public var devices: [Device]
    public var symlinks: [Symlink]
    public var maskedPaths: [String]
    public var readonlyPaths: [String]
    public var readonlyRootfs: Bool
    public var capabilities: Set<Capability>
    public var rlimits: [Rlimit]
    public var noNewPrivileges: Bool
    /// A compiled seccomp BPF program (struct sock_filter array, 8 bytes per instruction).
    public var seccompProgram: [UInt64]?
    /// Kernel parameters set in the container's namespaces before it starts.
    public var sysctls: [Sysctl] = []

    public struct Sysctl: Sendable, Equatable {
        /// Dotted, e.g. "net.core.somaxconn".
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public init(rootfs: RootFilesystem, arguments: [String], environment: [String] = [], workingDirectory: String = "/",
                user: User = User(), hostname: String? = nil, networkNamespace: String? = nil, mounts: [Mount] = [],
                devices: [Device] = [], symlinks: [Symlink] = [], maskedPaths: [String] = [], readonlyPaths: [String] = [],
                readonlyRootfs: Bool = false, capabilities: Set<Capability> = Capability.dockerDefault,
                rlimits: [Rlimit] = [], noNewPrivileges: Bool = true, seccompProgram: [UInt64]? = nil) {
        self.rootfs = rootfs
        self.arguments = arguments
        self.environment = environment
        self.workingDirectory = workingDirectory
        self.user = user
        self.hostname = hostname
        self.networkNamespace = networkNamespace
        self.mounts = mounts
        self.devices = devices
        self.symlinks = symlinks
        self.maskedPaths = maskedPaths
        self.readonlyPaths = readonlyPaths
        self.readonlyRootfs = readonlyRootfs
        self.capabilities = capabilities
        self.rlimits = rlimits
        self.noNewPrivileges = noNewPrivileges
        self.seccompProgram = seccompProgram
        self.pidNamespace = nil
        self.executable = nil
    }

    /// The PATH inside the container, from `environment`, for finding argv[0].
    public var searchPath: String {
        for e in environment.reversed() where e.hasPrefix("PATH=") { return String(e.dropFirst(5)) }
        return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    }
}

/// Sysctl names that map to exactly one file under /proc/sys.
public enum SysctlName {
    public static func isValid(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { p in
            !p.isEmpty && p.utf8.allSatisfy { c in (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 }
        }
    }
}
