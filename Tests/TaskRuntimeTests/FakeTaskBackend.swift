import Foundation
import Images
import LinuxSupport
import Sandbox
import Synchronization
import TaskNetwork
@testable import TaskRuntime

/// A `TaskBackend` with no machine behind it: containers are names that "run" until the test
/// ends them (or their stop signal does), so `TaskRunner` can be driven in plain `swift test`.
final class FakeTaskBackend: TaskBackend, @unchecked Sendable {
    struct Log: Sendable {
        var calls: [String] = []
        var running: Set<String> = []
    }

    let log = Mutex(Log())
    /// Containers whose start fails, with the error.
    let failingStarts: [String: any Error]
    /// Containers that exit with this code on their stop signal (others ignore it).
    let exitOnStop: [String: Int32]
    /// Images that cannot be pulled.
    let missingImages: Set<String>
    private let handlers = Mutex<(exit: @Sendable (String, TerminationStatus) -> Void, warning: @Sendable (String) -> Void)>(({ _, _ in }, { _ in }))

    /// Called when the release begins, once the runner's `beforeReleasing` is done: what is
    /// on disk then is what `gc` would find should the process die while things go.
    let onRelease: (@Sendable () -> Void)?

    /// What `provision()` throws, if anything.
    let provisionFailure: (any Error)?

    init(failingStarts: [String: any Error] = [:], exitOnStop: [String: Int32] = [:], missingImages: Set<String> = [],
         provisionFailure: (any Error)? = nil, onRelease: (@Sendable () -> Void)? = nil) {
        self.provisionFailure = provisionFailure
        self.failingStarts = failingStarts
        self.exitOnStop = exitOnStop
        self.missingImages = missingImages
        self.onRelease = onRelease
    }

    var calls: [String] { log.withLock { $0.calls } }
    var running: Set<String> { log.withLock { $0.running } }

    func record(_ call: String) { log.withLock { $0.calls.append(call) } }

    /// The container's process ends with `code`, as if it exited on its own.
    func exit(_ name: String, code: Int32) {
        let was = log.withLock { $0.running.remove(name) != nil }
        guard was else { return }
        let handler = handlers.withLock { $0.exit }
        handler(name, TerminationStatus(exited: code < 128, value: code < 128 ? code : code - 128))
    }

    var resources: TaskResources { TaskResources(networkNamespace: nil, cgroupDirectories: [], network: nil, containerDirectories: []) }
    var cgroup: Cgroup? { nil }

    func connect(exit: @escaping @Sendable (String, TerminationStatus) -> Void, warning: @escaping @Sendable (String) -> Void,
                 lost: @escaping @Sendable (String) -> Void) {
        handlers.withLock { $0 = (exit, warning) }
    }

    func nameResources() throws { record("name") }
    func provision() throws {
        record("provision")
        if let provisionFailure { throw provisionFailure }
    }
    func network() async -> Result<TaskNetworkAttachment?, any Error> { .success(nil) }
    func needsRegistry(_ images: [String]) -> Bool { false }

    func prepareImages(_ images: [String], progress: @escaping @Sendable (ImageProgress) -> Void) async throws
        -> [String: Result<PreparedImage, ImageError>] {
        record("images")
        var out: [String: Result<PreparedImage, ImageError>] = [:]
        for ref in images {
            if missingImages.contains(ref) {
                out[ref] = .failure(.notFound(reference: ref, detail: "not in the fake"))
            } else {
                let digest = try Digest(parsing: "sha256:" + String(repeating: "a", count: 64))
                let config = try JSONDecoder().decode(ImageConfig.self, from: Data(#"{"rootfs": {"type": "layers", "diff_ids": []}}"#.utf8))
                out[ref] = .success(PreparedImage(reference: ref, manifestDigest: digest, config: config, layers: [], platform: .host))
            }
        }
        return out
    }

    func seedVolumes() throws {}
    func prepareAhead(_ containers: [String]) { record("prepare \(containers.joined(separator: ","))") }
    func finishProvisioning() throws { record("finish") }

    func start(_ container: String) throws {
        if let e = failingStarts[container] {
            record("start \(container) failed")
            throw e
        }
        record("start \(container)")
        log.withLock { _ = $0.running.insert(container) }
    }

    func stop(_ container: String) {
        record("stop \(container)")
        if let code = exitOnStop[container] { exit(container, code: code) }
    }

    func kill(_ container: String) {
        record("kill \(container)")
        exit(container, code: 137)
    }

    func killRemaining(_ container: String) {}
    func resetForRestart(_ container: String) { record("reset \(container)") }
    func oomKilled(_ container: String) -> Bool { false }
    func healthCheck(_ container: String, _ policy: HealthPolicy) async -> HealthProbe.Result {
        HealthProbe.Result(passed: true, exitCode: 0, output: "")
    }
    func pids() -> [String: Int32] { [:] }
    func execProfiles() -> [String: ExecProfile] { [:] }
    var keeper: ProcessIdentity? { nil }
    func knownAddress() -> (ip: String, hostname: String)? { nil }
    func abandonPrepared() async {}
    /// What `recover` answers (a resumed task's containers).
    var recovered: [RecoveredContainer] = []
    func recordedExits() -> [RecoveredContainer] { recovered.filter { $0.status != nil } }
    func recover() throws -> [RecoveredContainer] {
        record("recover")
        for r in recovered where r.status == nil { log.withLock { _ = $0.running.insert(r.container) } }
        return recovered
    }

    func killEverything() async -> [String: TerminationStatus] {
        record("kill everything")
        var out: [String: TerminationStatus] = [:]
        for name in running {
            log.withLock { _ = $0.running.remove(name) }
            out[name] = TerminationStatus(exited: false, value: 9)
        }
        return out
    }

    func quiesce() async { record("quiesce") }

    func release(beforeReleasing: () async -> Void, meanwhile: (TaskResources.Released) async -> Void) async -> TaskResources.Released {
        await beforeReleasing()
        onRelease?()
        record("release")
        let usage = TaskResources.Released(cpuUsageNanos: 5_000_000, memoryPeakBytes: 1 << 20)
        await meanwhile(usage)
        return usage
    }
}
