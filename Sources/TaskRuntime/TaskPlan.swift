import ECSModel
import Foundation
import Images
import Sandbox

/// A validated task definition with its defaults applied, ready to run.
public struct TaskPlan: Sendable {
    public struct Container: Sendable {
        public var index: Int
        public var name: String
        public var definition: ECS.ContainerDefinition
        public var image: String
        public var essential: Bool
        public var dependsOn: [(container: String, condition: String)]
        /// Seconds between the stop signal and SIGKILL.
        public var stopTimeout: Int
        /// Seconds to wait for a COMPLETE/SUCCESS/HEALTHY dependency, if bounded.
        public var startTimeout: Int?
    }

    public var family: String
    public var revision: Int
    public var taskDefinitionArn: String
    public var size: FargateSize
    public var ephemeralStorageGiB: Int
    /// "X86_64" or "ARM64".
    public var cpuArchitecture: String
    public var platform: Platform
    public var containers: [Container]
    /// pidMode "task": the task's containers share one pid namespace.
    public var sharedPidNamespace: Bool
    /// Members of the definition this runtime does not honour (yet), each naming the member.
    public var warnings: [String] = []

    public static let defaultStopTimeout = 30

    /// Validates `loaded` and applies ECS defaults. Throws `TaskDefinitionError` listing every
    /// problem.
    public init(_ loaded: LoadedTaskDefinition, region: String, account: String) throws {
        let d = loaded.definition
        let issues = loaded.allIssues
        guard issues.isEmpty, let size = TaskDefinitionValidator.size(of: d), let family = d.family else {
            throw TaskDefinitionError(issues: issues)
        }
        // Valid on ECS, but this runtime does not run health checks yet: refuse rather than
        // start a task whose dependent container would silently never start.
        var unsupported: [ValidationIssue] = []
        for (i, c) in (d.containerDefinitions ?? []).enumerated() {
            for (j, dep) in (c.dependsOn ?? []).enumerated() where dep.condition?.rawValue == "HEALTHY" {
                unsupported.append(ValidationIssue("containerDefinitions[\(i)].dependsOn[\(j)].condition",
                                                   "HEALTHY is valid on ECS but not supported by this version of fargate-run, which does not run health checks yet"))
            }
        }
        if !unsupported.isEmpty { throw TaskDefinitionError(issues: unsupported) }
        for (i, c) in (d.containerDefinitions ?? []).enumerated() where c.healthCheck != nil {
            warnings.append("containerDefinitions[\(i)].healthCheck is not run by this version: \(c.name ?? "?")'s healthStatus stays UNKNOWN")
        }
        self.family = family
        revision = d.revision ?? 1
        taskDefinitionArn = d.taskDefinitionArn ?? "arn:aws:ecs:\(region):\(account):task-definition/\(family):\(revision)"
        self.size = size
        ephemeralStorageGiB = d.ephemeralStorage?.sizeInGiB ?? 20
        sharedPidNamespace = d.pidMode?.rawValue == "task"
        cpuArchitecture = d.runtimePlatform?.cpuArchitecture?.rawValue ?? (Platform.host.architecture == "arm64" ? "ARM64" : "X86_64")
        platform = Platform(architecture: cpuArchitecture == "ARM64" ? "arm64" : "amd64")
        containers = (d.containerDefinitions ?? []).enumerated().map { i, c in
            Container(index: i, name: c.name!, definition: c, image: c.image!, essential: c.essential ?? true,
                      dependsOn: (c.dependsOn ?? []).map { ($0.containerName!, $0.condition!.rawValue) },
                      stopTimeout: c.stopTimeout ?? TaskPlan.defaultStopTimeout, startTimeout: c.startTimeout)
        }
    }

    public func container(_ name: String) -> Container? { containers.first { $0.name == name } }
}

/// How a container's process is derived from its definition and its image, as Docker does it.
public enum ProcessResolution {
    /// entryPoint replaces the image's Entrypoint and then the image's Cmd is not used;
    /// command replaces the image's Cmd.
    public static func arguments(definition c: ECS.ContainerDefinition, image: ImageConfig.RuntimeConfig?) -> [String] {
        let entrypoint = c.entryPoint ?? image?.Entrypoint ?? []
        let cmd = c.command ?? (c.entryPoint != nil ? [] : (image?.Cmd ?? []))
        return entrypoint + cmd
    }

    /// The image's Env, then the definition's environment (later names win), PATH defaulted.
    public static func environment(definition c: ECS.ContainerDefinition, image: ImageConfig.RuntimeConfig?,
                                   extra: [(String, String)] = []) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        func set(_ k: String, _ v: String) {
            if values[k] == nil { order.append(k) }
            values[k] = v
        }
        for e in image?.Env ?? [] {
            let parts = e.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            set(String(parts[0]), parts.count > 1 ? String(parts[1]) : "")
        }
        for kv in c.environment ?? [] {
            if let k = kv.name { set(k, kv.value ?? "") }
        }
        for (k, v) in extra { set(k, v) }
        if values["PATH"] == nil { set("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin") }
        return order.map { $0 + "=" + values[$0]! }
    }

    /// The signal that asks the container to stop: the image's STOPSIGNAL, else SIGTERM.
    public static func stopSignal(_ image: ImageConfig.RuntimeConfig?) -> Int32 {
        guard let s = image?.StopSignal?.uppercased(), !s.isEmpty else { return SIGTERM }
        if let n = Int32(s), n > 0, n < 65 { return n }
        let name = s.hasPrefix("SIG") ? String(s.dropFirst(3)) : s
        let table: [String: Int32] = ["HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "KILL": SIGKILL, "USR1": SIGUSR1,
                                      "USR2": SIGUSR2, "TERM": SIGTERM, "WINCH": SIGWINCH, "PWR": SIGPWR]
        return table[name] ?? SIGTERM
    }
}
