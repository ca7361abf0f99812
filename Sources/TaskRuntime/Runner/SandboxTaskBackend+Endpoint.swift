#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Images
import LinuxSupport
import Sandbox
import TaskNetwork

/// The task metadata endpoint's listener: made beside the start, kept by a hosted task's
/// monitor (so that it outlives the host, and connections wait in it while no host runs),
/// given back to the host that resumes the task.
extension SandboxTaskBackend {
    /// The monitor's tag for the listener's descriptors (`TaskMonitor.keep`).
    static let endpointTag: UInt32 = 1

    public func endpointSockets() -> TaskEndpointSockets? {
        takeEndpoint()
        return endpoint
    }

    public func volumeSources() -> [String: String] { volumeDirectories }

    /// What a container is given of the endpoint (URIs, the credentials URI, the region); none
    /// when no service answers the task's endpoint.
    func endpointVariables(_ container: TaskPlan.Container, image: PreparedImage) -> [(String, String)] {
        let region = EndpointEnvironment.region(config.region, definition: container.definition, image: image.config.config,
                                                files: container.fileEnvironment, secrets: container.secretEnvironment)
        guard config.endpoints != nil else { return region }
        return EndpointEnvironment.variables(endpointId: TaskIdentity.runtimeId(taskId: taskId, container: container.name),
                                             credentialsId: credentialsId) + region
    }

    /// Waits for the listener being made, and has a hosted task's monitor keep copies. A
    /// listener that could not be made is a warning: the task runs without an endpoint.
    func takeEndpoint() {
        guard let job = endpointJob else { return }
        endpointJob = nil
        // The two marks give what a start waits for the listener (nothing, when it was made
        // beside the rest): Docs/PERFORMANCE.md.
        PhaseTiming.mark("endpoint wait")
        let made = job.wait()
        PhaseTiming.mark("endpoint listener taken")
        switch made {
        case .success(let sockets):
            endpoint = sockets
            keepEndpoint(sockets)
        case .failure(let error):
            warningHandler("the task metadata endpoint is not available: \(error)")
        }
    }

    func keepEndpoint(_ sockets: TaskEndpointSockets) {
        guard let monitor else { return }
        do { try monitor.keep(sockets.descriptors, tag: SandboxTaskBackend.endpointTag) } catch {
            warningHandler("the task's monitor does not keep its metadata endpoint: it will not answer while no host runs (\(error))")
        }
    }

    /// A resumed task's listener: the one its monitor kept, else (a monitor of a version that
    /// kept none) one made again in its namespace.
    func recoverEndpoint(from monitor: TaskMonitor) {
        if let fds = monitor.takeKept(tag: SandboxTaskBackend.endpointTag) {
            if let sockets = TaskEndpointSockets(descriptors: fds) {
                endpoint = sockets
                return
            }
            for fd in fds { close(fd) }
        }
        guard config.endpoints != nil, let namespace, namespace.exists else { return }
        do {
            let sockets = try TaskEndpointSockets.make(inExisting: namespace.path)
            endpoint = sockets
            keepEndpoint(sockets)
        } catch {
            warningHandler("the task metadata endpoint is not available: \(error)")
        }
    }
}
