import ECSModel
import Foundation
import Images
import Sandbox

/// A validated task definition with its defaults applied, ready to run.
public struct TaskPlan: Sendable, Codable {
    public struct Container: Sendable, Codable {
        public var index: Int
        public var name: String
        public var definition: ECS.ContainerDefinition
        public var image: String
        public var essential: Bool
        public var dependsOn: [TaskLifecycle.Dependency]
        /// Seconds between the stop signal and SIGKILL.
        public var stopTimeout: Int
        /// Seconds after its start within which this container must reach the COMPLETE,
        /// SUCCESS or HEALTHY its dependents wait for, if bounded.
        public var startTimeout: Int?
        /// mountPoints, then what volumesFrom brings, one entry per container path.
        public var volumeMounts: [VolumeMount] = []
        /// awslogs: where the container's CloudWatch stream would be.
        public var awslogs: AWSLogsStream?
        /// Variables from environmentFiles and secrets, once resolved (ResolvedInputs).
        public var fileEnvironment: [(String, String)] = []
        public var secretEnvironment: [(String, String)] = []

        enum CodingKeys: String, CodingKey {
            case index, name, definition, image, essential, dependsOn, stopTimeout, startTimeout, volumeMounts, awslogs
            case fileEnvironment, secretEnvironment
        }

        public init(index: Int, name: String, definition: ECS.ContainerDefinition, image: String, essential: Bool,
                    dependsOn: [TaskLifecycle.Dependency], stopTimeout: Int, startTimeout: Int?) {
            self.index = index
            self.name = name
            self.definition = definition
            self.image = image
            self.essential = essential
            self.dependsOn = dependsOn
            self.stopTimeout = stopTimeout
            self.startTimeout = startTimeout
        }

        // Variables as [name, value] pairs: tuples have no Codable form.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            index = try c.decode(Int.self, forKey: .index)
            name = try c.decode(String.self, forKey: .name)
            definition = try c.decode(ECS.ContainerDefinition.self, forKey: .definition)
            image = try c.decode(String.self, forKey: .image)
            essential = try c.decode(Bool.self, forKey: .essential)
            dependsOn = try c.decode([TaskLifecycle.Dependency].self, forKey: .dependsOn)
            stopTimeout = try c.decode(Int.self, forKey: .stopTimeout)
            startTimeout = try c.decodeIfPresent(Int.self, forKey: .startTimeout)
            volumeMounts = try c.decode([VolumeMount].self, forKey: .volumeMounts)
            awslogs = try c.decodeIfPresent(AWSLogsStream.self, forKey: .awslogs)
            fileEnvironment = try c.decode([[String]].self, forKey: .fileEnvironment).map { ($0[0], $0[1]) }
            secretEnvironment = try c.decode([[String]].self, forKey: .secretEnvironment).map { ($0[0], $0[1]) }
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(name, forKey: .name)
            try c.encode(definition, forKey: .definition)
            try c.encode(image, forKey: .image)
            try c.encode(essential, forKey: .essential)
            try c.encode(dependsOn, forKey: .dependsOn)
            try c.encode(stopTimeout, forKey: .stopTimeout)
            try c.encodeIfPresent(startTimeout, forKey: .startTimeout)
            try c.encode(volumeMounts, forKey: .volumeMounts)
            try c.encodeIfPresent(awslogs, forKey: .awslogs)
            try c.encode(fileEnvironment.map { [$0.0, $0.1] }, forKey: .fileEnvironment)
            try c.encode(secretEnvironment.map { [$0.0, $0.1] }, forKey: .secretEnvironment)
        }
    }

    /// A task volume mounted into a container.
    public struct VolumeMount: Sendable, Equatable, Codable {
        public var volume: String
        public var containerPath: String
        public var readOnly: Bool

        public init(volume: String, containerPath: String, readOnly: Bool) {
            self.volume = volume
            self.containerPath = containerPath
            self.readOnly = readOnly
        }
    }

    /// What backs a task volume here.
    public enum VolumeSource: Sendable, Equatable, Codable {
        /// A bind mount without a host path (or an EBS volume configured at launch): a
        /// directory of the task, removed with it.
        case task
        /// An EFS or S3 Files file system: a directory in the state root that outlives tasks,
        /// as the file system does, shared by every task naming it.
        case fileSystem(FileSystemKind, id: String, rootDirectory: String)
    }

    public enum FileSystemKind: String, Sendable, Codable {
        case efs
        case s3files
    }

    /// The CloudWatch Logs stream a container's awslogs driver writes: group, and the stream
    /// `prefix/container/task-id`.
    public struct AWSLogsStream: Sendable, Equatable, Codable {
        public var group: String
        public var streamPrefix: String

        public init(group: String, streamPrefix: String) {
            self.group = group
            self.streamPrefix = streamPrefix
        }
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
    /// Task volumes by name.
    public var volumes: [String: VolumeSource] = [:]
    /// The role the task's containers act as (their task-role credentials say so).
    public var taskRoleArn: String?
    /// enableFaultInjection (shown by the metadata endpoint; its fault endpoints are not served).
    public var faultInjectionEnabled: Bool?
    /// RunTask's overrides (`--overrides`), applied already: kept for DescribeTasks to show.
    public var overrides: ECS.TaskOverride?
    /// What ECS accepts but will not do as the file may intend, what was read with a default,
    /// and what this runtime does not honour (yet): each at its path in the file.
    public var warnings: [ValidationIssue] = []
    /// A definition path's place in the file that was read (`LoadedTaskDefinition.locate`).
    public var locator = DefinitionLocator()
    /// What is valid on Fargate but cannot run here: a task with any of these is not started.
    public var unsupported: [ValidationIssue] = []

    public static let defaultStopTimeout = 30

    /// Validates `loaded` and applies ECS defaults. Throws `TaskDefinitionError` listing every
    /// problem; what is valid but not supported here is in `unsupported`.
    public init(_ loaded: LoadedTaskDefinition, region: String, account: String) throws {
        let d = loaded.definition
        let (issues, definitionWarnings) = loaded.checked
        guard issues.isEmpty, let size = TaskDefinitionValidator.size(of: d), let family = d.family else {
            throw TaskDefinitionError(issues: issues, warnings: definitionWarnings)
        }
        let locator = loaded.locator
        self.locator = locator
        var unsupported: [ValidationIssue] = []
        // A volume over /proc or /sys would hide the masked and read-only paths the sandbox
        // relies on (runc refuses /proc for the same reason).
        for (i, c) in (d.containerDefinitions ?? []).enumerated() {
            let targets = (c.mountPoints ?? []).enumerated().map { ("mountPoints[\($0)].containerPath", $1.containerPath) }
                + (c.linuxParameters?.tmpfs ?? []).enumerated().map { ("linuxParameters.tmpfs[\($0)].containerPath", $1.containerPath) }
            for (member, path) in targets {
                guard let path else { continue }
                let n = TaskPlan.normalized(path)
                if n == "/" || ["/proc", "/sys", "/dev"].contains(where: { n == $0 || n.hasPrefix($0 + "/") }) && n != "/dev/shm" {
                    unsupported.append(ValidationIssue("containerDefinitions[\(i)].\(member)", "\"\(path)\": mounting over /, /proc, /sys or /dev is refused here: they hold the kernel interfaces the sandbox restricts"))
                }
            }
        }
        self.unsupported = unsupported.map { $0.relocated(locator.locate) }
        warnings = definitionWarnings + LocalBehaviour.warnings(d, hostArchitecture: Platform.host.architecture).map { $0.relocated(locator.locate) }
        self.family = family
        revision = d.revision ?? 1
        taskDefinitionArn = d.taskDefinitionArn ?? ARN.taskDefinition(region: region, account: account, family: family, revision: revision)
        self.size = size
        ephemeralStorageGiB = d.ephemeralStorage?.sizeInGiB ?? 20
        sharedPidNamespace = d.pidMode?.rawValue == "task"
        taskRoleArn = d.taskRoleArn
        faultInjectionEnabled = d.enableFaultInjection
        cpuArchitecture = d.runtimePlatform?.cpuArchitecture?.rawValue ?? (Platform.host.architecture == "arm64" ? "ARM64" : "X86_64")
        platform = Platform(architecture: cpuArchitecture == "ARM64" ? "arm64" : "amd64")
        containers = (d.containerDefinitions ?? []).enumerated().map { i, c in
            Container(index: i, name: c.name!, definition: c, image: c.image!, essential: c.essential ?? true,
                      dependsOn: (c.dependsOn ?? []).compactMap { d in DependencyCondition(rawValue: d.condition!.rawValue).map { TaskLifecycle.Dependency(container: d.containerName!, condition: $0) } },
                      stopTimeout: c.stopTimeout ?? TaskPlan.defaultStopTimeout, startTimeout: c.startTimeout)
        }
        for v in d.volumes ?? [] {
            guard let name = v.name else { continue }
            if let efs = v.efsVolumeConfiguration, let id = efs.fileSystemId {
                volumes[name] = .fileSystem(.efs, id: id, rootDirectory: TaskPlan.normalized(efs.rootDirectory ?? "/"))
            } else if let s3 = v.s3filesVolumeConfiguration, let arn = s3.fileSystemArn {
                volumes[name] = .fileSystem(.s3files, id: arn, rootDirectory: TaskPlan.normalized(s3.rootDirectory ?? "/"))
            } else {
                volumes[name] = .task
            }
        }
        for i in containers.indices {
            containers[i].volumeMounts = TaskPlan.mounts(of: containers[i].name, in: d)
            if let log = containers[i].definition.logConfiguration, log.logDriver?.rawValue == "awslogs",
               let group = log.options?["awslogs-group"], let prefix = log.options?["awslogs-stream-prefix"] {
                containers[i].awslogs = AWSLogsStream(group: group, streamPrefix: prefix)
            }
        }
    }

    /// A container's mountPoints, then those of the containers in its volumesFrom (read-only
    /// when volumesFrom says so), as Docker's --volumes-from does; the first mount at a path wins.
    static func mounts(of name: String, in d: ECS.TaskDefinition, visiting: Set<String> = []) -> [VolumeMount] {
        guard !visiting.contains(name), let c = d.containerDefinitions?.first(where: { $0.name == name }) else { return [] }
        var out: [VolumeMount] = []
        func add(_ m: VolumeMount) {
            if !out.contains(where: { $0.containerPath == m.containerPath }) { out.append(m) }
        }
        for m in c.mountPoints ?? [] {
            guard let v = m.sourceVolume, let p = m.containerPath else { continue }
            add(VolumeMount(volume: v, containerPath: normalized(p), readOnly: m.readOnly ?? false))
        }
        for vf in c.volumesFrom ?? [] {
            guard let src = vf.sourceContainer else { continue }
            for m in mounts(of: src, in: d, visiting: visiting.union([name])) {
                add(VolumeMount(volume: m.volume, containerPath: m.containerPath, readOnly: m.readOnly || (vf.readOnly ?? false)))
            }
        }
        return out
    }

    /// An absolute path with "." and ".." resolved lexically (".." at the root stays there), as
    /// a file server resolves it beneath its export.
    public static func normalized(_ path: String) -> String {
        var parts: [Substring] = []
        for c in path.split(separator: "/") where c != "." {
            if c == ".." { _ = parts.popLast() } else { parts.append(c) }
        }
        return "/" + parts.joined(separator: "/")
    }

    public func container(_ name: String) -> Container? { containers.first { $0.name == name } }

    /// Takes what the secrets file and environment files supply, and their warnings.
    public mutating func apply(_ inputs: ResolvedInputs) {
        for i in containers.indices {
            containers[i].fileEnvironment = inputs.fileEnvironment[containers[i].name] ?? []
            containers[i].secretEnvironment = inputs.secretEnvironment[containers[i].name] ?? []
        }
        warnings += inputs.warnings.map { $0.relocated(locator.locate) }
    }
}
