import Foundation
import Images
import Sandbox
import LinuxSupport
import TaskNetwork

/// The machine's side of one task: what `TaskRunner` asks to be made, run and removed, named
/// by container. `SandboxTaskBackend` does it with namespaces, cgroups, overlay mounts and the
/// task's network; the tests' fake lets the lifecycle run in plain `swift test`, without root.
///
/// The runner calls it from one task at a time, in the order of the phases; only exits
/// (`onExit`), health checks and `network()` may overlap those calls.
public protocol TaskBackend: AnyObject, Sendable {
    /// What the task holds or will hold (named before it is made, so `gc` finds it should
    /// this process die in between).
    var resources: TaskResources { get }
    /// The task's cgroup once it is made: nil before, and for a backend without one.
    var cgroup: Cgroup? { get }

    /// Where to report a started container's exit, warnings (what is not applied, what could
    /// not be removed), and the loss of what kept the containers (a hosted task's monitor).
    func connect(exit: @escaping @Sendable (String, TerminationStatus) -> Void, warning: @escaping @Sendable (String) -> Void,
                 lost: @escaping @Sendable (String) -> Void)

    /// Names what `provision` will make (`resources`).
    func nameResources() throws
    /// Makes the network namespace, cgroups and volume directories, and starts attaching the
    /// network without waiting for it.
    func provision() throws
    /// Waits for the network being attached: its attachment, nil when the task has none.
    func network() async -> Result<TaskNetworkAttachment?, any Error>
    /// Whether preparing these images needs a registry (asked only once the network is up).
    func needsRegistry(_ images: [String]) -> Bool
    /// Pulls or imports every image at once; `progress` hears about it.
    func prepareImages(_ images: [String], progress: @escaping @Sendable (ImageProgress) -> Void) async throws
        -> [String: Result<PreparedImage, ImageError>]
    /// Fills new task volumes from the images' VOLUME content.
    func seedVolumes() throws
    /// Makes these containers ready to run while the network attaches (a failure shows at
    /// their start).
    func prepareAhead(_ containers: [String])
    /// Once the network is attached: the name files, the shared pid namespace's holder.
    func finishProvisioning() throws

    /// Starts a container (prepared ahead or not); throws what kept it from running.
    func start(_ container: String) throws
    /// Sends the container its stop signal.
    func stop(_ container: String)
    func kill(_ container: String)
    /// Kills what is left in a stopped container's cgroup.
    func killRemaining(_ container: String)
    /// Clears an exited container for its restart (its old cgroup goes).
    func resetForRestart(_ container: String)
    /// Whether the container's last process was killed by the OOM killer.
    func oomKilled(_ container: String) -> Bool
    /// Runs the container's health check command once.
    func healthCheck(_ container: String, _ policy: HealthPolicy) async -> HealthProbe.Result

    /// Host pids of the containers' processes, for the state file.
    func pids() -> [String: Int32]
    /// How a command may be run in each started container (`exec`).
    func execProfiles() -> [String: ExecProfile]
    /// The process keeping the containers when it is not this one (a hosted task's monitor).
    var keeper: ProcessIdentity? { get }
    /// The task's address and hostname as far as known.
    func knownAddress() -> (ip: String, hostname: String)?

    /// Takes over the containers of a task another process started (a host resuming it): how
    /// each stands now. Running ones are watched from here on.
    func recover() throws -> [RecoveredContainer]
    /// The exits recorded on disk by whoever kept the containers (when it is gone too).
    func recordedExits() -> [RecoveredContainer]

    /// Kills containers made ready that never started, and waits for them.
    func abandonPrepared() async
    /// The task failed: kills every running container and waits; returns their exits.
    func killEverything() async -> [String: TerminationStatus]
    /// Ends the pause process and drains the logs: nothing of the task writes any more.
    func quiesce() async
    /// Removes everything the task made; `beforeReleasing` is awaited once the task's
    /// processes are sent SIGKILL and its usage is read, before anything goes; `meanwhile`
    /// runs then, while the rest goes.
    func release(beforeReleasing: () async -> Void, meanwhile: (TaskResources.Released) async -> Void) async -> TaskResources.Released

    /// The task metadata endpoint's listener inside the task's namespace, made before any
    /// container starts; nil when the task has none.
    func endpointSockets() -> TaskEndpointSockets?
    /// Host directories backing the task's volumes, by volume name.
    func volumeSources() -> [String: String]
}

extension TaskBackend {
    public func endpointSockets() -> TaskEndpointSockets? { nil }
    public func volumeSources() -> [String: String] { [:] }
}

/// A container of a resumed task, as whoever kept it while no runner did knows it.
public struct RecoveredContainer: Sendable {
    public var container: String
    /// nil while it runs.
    public var status: TerminationStatus?
    public var endedAt: Date?

    public init(container: String, status: TerminationStatus?, endedAt: Date?) {
        self.container = container
        self.status = status
        self.endedAt = endedAt
    }
}
