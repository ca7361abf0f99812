/// What `fargate-run info` tells about this machine: what fargate-run finds, what it will use,
/// and every missing prerequisite with the command that fixes it (as `docker info` and
/// moby's check-config.sh do). Made by `HostProbe`; each section is probed by its own file.
public struct HostReport: Codable, Sendable, Equatable {
    /// The fargate-run binary: its version and the commit it was built from.
    public var build: Build
    public var kernel: Kernel
    public var cgroups: Cgroups
    public var firewall: Firewall
    public var network: Network
    public var stateRoot: Storage
    public var libraries: Libraries
    public var prices: Prices
    /// Everything above that stops fargate-run from running tasks (errors) or makes it run
    /// them worse (warnings), each with its fix.
    public var problems: [Problem]

    public init(build: Build, kernel: Kernel, cgroups: Cgroups, firewall: Firewall, network: Network, stateRoot: Storage,
                libraries: Libraries, prices: Prices, runningAsRoot: Bool) {
        self.build = build
        self.kernel = kernel
        self.cgroups = cgroups
        self.firewall = firewall
        self.network = network
        self.stateRoot = stateRoot
        self.libraries = libraries
        self.prices = prices
        var problems: [Problem] = []
        if !runningAsRoot {
            problems.append(Problem(.error, "not running as root: tasks need root (namespaces, mounts, cgroups), and some of the probes above may have been refused",
                                    fix: "sudo fargate-run info"))
        }
        problems += kernel.problems + cgroups.problems + firewall.problems + network.problems + stateRoot.problems + libraries.problems
        self.problems = problems
    }

    /// Whether any problem stops tasks from running.
    public var hasErrors: Bool { problems.contains { $0.severity == .error } }

    public struct Build: Codable, Sendable, Equatable {
        public var version: String
        /// The abbreviated commit, "unknown" outside a git checkout; "-modified" when tracked
        /// files differed from it.
        public var commit: String

        public init(version: String, commit: String) {
            self.version = version
            self.commit = commit
        }
    }
}

/// A missing or weak prerequisite.
public struct Problem: Codable, Sendable, Equatable {
    public enum Severity: String, Codable, Sendable {
        /// Tasks cannot run (or a kind of task cannot) until it is fixed.
        case error
        /// Tasks run, worse or with less isolation than they could.
        case warning
    }

    public var severity: Severity
    public var message: String
    /// A command or step that fixes it.
    public var fix: String

    public init(_ severity: Severity, _ message: String, fix: String) {
        self.severity = severity
        self.message = message
        self.fix = fix
    }
}

/// Whether the kernel offers something, as a probe found it.
public enum Support: String, Codable, Sendable {
    case yes
    case no
    /// The probe itself failed (another error than "not implemented"), e.g. without root.
    case unknown
}
