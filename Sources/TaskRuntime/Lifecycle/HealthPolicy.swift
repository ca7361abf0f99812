import ECSModel
import Foundation

/// A container's healthCheck with ECS's defaults, and the state machine Docker (and so ECS)
/// applies to its results.
public struct HealthPolicy: Sendable, Equatable, Codable {
    /// The command as run: CMD's arguments, or `/bin/sh -c` with CMD-SHELL's string. Empty
    /// for a check that never runs (`probes` is false).
    public var arguments: [String]
    public var interval: Int
    public var timeout: Int
    public var retries: Int
    public var startPeriod: Int

    public init?(_ hc: ECS.HealthCheck?) {
        guard let cmd = hc?.command, let first = cmd.first else { return nil }
        switch first {
        case "CMD", "CMD-SHELL":
            // Without a command after it the definition is refused (TaskDefinitionValidator).
            guard cmd.count >= 2 else { return nil }
            // ECS joins CMD-SHELL's rest with spaces; one string is the usual form.
            arguments = first == "CMD" ? Array(cmd.dropFirst()) : ["/bin/sh", "-c", cmd.dropFirst().joined(separator: " ")]
        default:
            // ECS registers any other list and hands it to the container runtime as is
            // (Docker's HealthConfig.Test), which probes only CMD and CMD-SHELL: "NONE", or a
            // command without either, is a check that never runs; the health stays UNKNOWN.
            arguments = []
        }
        interval = hc?.interval ?? 30
        timeout = hc?.timeout ?? 5
        retries = hc?.retries ?? 3
        startPeriod = hc?.startPeriod ?? 0
    }

    /// Whether the check runs at all (see `arguments`).
    public var probes: Bool { !arguments.isEmpty }

    /// Where a container's health stands, fed one check result at a time.
    public struct State: Sendable, Equatable, Codable {
        /// UNKNOWN until a check passes or enough fail; then HEALTHY or UNHEALTHY.
        public var status = HealthStatus.unknown
        public var consecutiveFailures = 0
        /// Set by the first success: failures in the start period count from then on.
        public var startPeriodOver = false
        /// When the status became what it is (set by the first check's result).
        public var since: Date?
        /// The last check's exit code (nil when it timed out or could not run) and output.
        public var lastExitCode: Int32?
        public var lastOutput: String?

        public init() {}
    }

    /// Applies one result: a success makes the container HEALTHY; failures during the start
    /// period (before any success) do not count; `retries` consecutive failures after it make
    /// it UNHEALTHY.
    public func next(_ s: State, passed: Bool, secondsSinceStart: Double) -> State {
        var s = s
        if passed {
            s.status = .healthy
            s.consecutiveFailures = 0
            s.startPeriodOver = true
            return s
        }
        if !s.startPeriodOver && secondsSinceStart < Double(startPeriod) { return s }
        s.consecutiveFailures += 1
        if s.consecutiveFailures >= retries { s.status = .unhealthy }
        return s
    }

    /// Task health as ECS reports it: from the essential containers that have a health check.
    public static func taskStatus(_ containers: [(essential: Bool, checked: Bool, status: HealthStatus)]) -> HealthStatus {
        let relevant = containers.filter { $0.essential && $0.checked }
        if relevant.contains(where: { $0.status == .unhealthy }) { return .unhealthy }
        if !relevant.isEmpty && relevant.allSatisfy({ $0.status == .healthy }) { return .healthy }
        return .unknown
    }
}
