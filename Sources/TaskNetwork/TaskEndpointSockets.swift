#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// How a task's network namespace treats link-local addresses (command-line options).
public struct LinkLocalSetup: Sendable, Equatable {
    /// Whether tasks may reach the rest of 169.254.0.0/16 (the host's instance metadata
    /// service, on a cloud machine) and fd00:ec2::254, as they may not on Fargate.
    public var allowed: Bool

    public init(allowed: Bool = false) {
        self.allowed = allowed
    }
}

/// Where the task metadata endpoint is, seen from inside a task.
public enum TaskEndpointAddress {
    /// The address containers reach it at (ECS_CONTAINER_METADATA_URI_V4 and the others).
    public static let ip = "169.254.170.2"
    /// The port its listener is bound to inside the task's namespace; connections to port 80
    /// are steered to it (a listener on port 80 would keep containers off 0.0.0.0:80).
    public static let listenPort = Int(FR_ENDPOINT_LISTEN_PORT)
}

/// A task metadata endpoint's listener inside a task's network namespace: its listening
/// socket, and the BPF link of the sk_lookup program that hands it connections to
/// 169.254.170.2:80. Whoever serves the task holds both (a hosted task's monitor keeps copies,
/// so that connections queue while no host runs); closing every copy of the link stops the
/// steering, and 169.254.170.2:80 then refuses connections (it stays a local address: nothing
/// to it is routed out).
public struct TaskEndpointSockets: Sendable, Equatable {
    public let listener: Int32
    public let link: Int32

    public init(listener: Int32, link: Int32) {
        self.listener = listener
        self.link = link
    }

    /// The descriptors, in the order `init(descriptors:)` takes them (what a monitor keeps).
    public var descriptors: [Int32] { [listener, link] }

    public init?(descriptors: [Int32]) {
        guard descriptors.count == 2, descriptors.allSatisfy({ $0 >= 0 }) else { return nil }
        self.init(listener: descriptors[0], link: descriptors[1])
    }

    /// Makes the listener in the namespace at `netns` (and 169.254.170.2 on its loopback if
    /// missing): for a new task once its namespace is made, or one whose listener is gone.
    public static func make(inExisting netns: String) throws(SystemError) -> TaskEndpointSockets {
        var sockets = fr_task_endpoint(listener: -1, link: -1)
        var stage: Int32 = 0
        guard fr_netns_endpoint(netns, &sockets, &stage) == 0 else { throw failure(stage: stage, errno: errno, path: netns) }
        return TaskEndpointSockets(listener: sockets.listener, link: sockets.link)
    }

    public func close() {
        _ = Glibc.close(listener)
        _ = Glibc.close(link)
    }

    static func failure(stage: Int32, errno: Int32, path: String) -> SystemError {
        let step = ["set up the task metadata endpoint in", "create the endpoint's socket in", "bind 169.254.170.2:\(listenPortText) in",
                    "create the endpoint's sockmap in (BPF)", "load the endpoint's sk_lookup program (BPF, Linux 5.9+) for",
                    "attach the endpoint's sk_lookup program to"][Int(min(max(stage, 0), 5))]
        return SystemError(step, path: path, errno: errno)
    }

    static var listenPortText: String { String(TaskEndpointAddress.listenPort) }
}
