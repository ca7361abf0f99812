#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import Sandbox

/// Turns a container of the task definition and its image into the sandbox's terms: the
/// process (argv, environment, user, working directory), its root filesystem and mounts, its
/// privileges, and its cgroup limits. The only place ECS words become a `ContainerSpec`.
struct ContainerSpecBuilder {
    /// What the task around the container provides.
    struct TaskContext {
        var cgroupHost: CgroupHost
        var networkNamespace: String
        var hostname: String
        /// The hostname will not change before the start (the task's address is known, or it
        /// has none to learn): the process then drops its privileges before it waits.
        var hostnameIsFinal: Bool
        /// The state root's cache: compiled seccomp programs, the mount-point layer.
        var cacheDirectory: String
        /// /etc/hosts, /etc/resolv.conf, /etc/hostname.
        var nameFiles: [ContainerSpec.Mount]
        /// Host directories of the task's volumes, by name.
        var volumeDirectories: [String: String]
        /// The shared pid namespace to join (pidMode "task").
        var pidNamespace: String?
        /// What the task gives every container besides HOSTNAME (the metadata endpoint's URIs,
        /// the region), set over the definition's own values.
        var environment: [(String, String)] = []
    }

    /// What a container is started with.
    struct Built {
        var spec: ContainerSpec
        var limits: ResourceLimits
        var stopSignal: Int32
        var warnings: [String]
    }

    let container: TaskPlan.Container
    let image: PreparedImage
    /// The container's directory: its writable layer (`upper`, `work`) and mount point (`rootfs`).
    let directory: String

    func build(_ task: TaskContext, sealedInit: () throws -> SealedExecutable) throws -> Built {
        let def = container.definition
        let runtime = image.config.config
        var warnings: [String] = []
        let user = try ImageUser.resolve(def.user ?? runtime?.User, layers: image.layers)
        let args = ProcessResolution.arguments(definition: def, image: runtime)
        guard !args.isEmpty else {
            throw TaskRuntimeError.invalidContainer(container.name, "no command: the task definition has no entryPoint or command and the image no Entrypoint or Cmd")
        }
        let env = ProcessResolution.environment(definition: def, image: runtime, files: container.fileEnvironment,
                                                secrets: container.secretEnvironment, extra: [("HOSTNAME", task.hostname)] + task.environment)
        let caps = try ContainerSecurity.capabilities(def.linuxParameters)
        let (rlimits, limitWarnings) = HostCapabilities.achievable(try ContainerSecurity.rlimits(def.ulimits))
        warnings += limitWarnings.map { "container \(container.name): \($0)" }
        let initEnabled = def.linuxParameters?.initProcessEnabled ?? false
        let mountPoints = try MountPointLayer.ensure(in: task.cacheDirectory, withEtc: MountPointLayer.etcFits(layers: image.layers))
        let (mounts, mountWarnings) = ContainerMounts.list(for: container, defaults: DefaultProfile.mounts(cgroups: task.cgroupHost),
                                                           nameFiles: task.nameFiles, volumeDirectories: task.volumeDirectories)
        warnings += mountWarnings
        var spec = ContainerSpec(
            rootfs: .overlay(lower: [mountPoints] + image.layers.reversed(), upper: directory + "/upper", work: directory + "/work",
                             target: directory + "/rootfs"),
            arguments: initEnabled ? ["fargate-init", "--"] + args : args, environment: env,
            workingDirectory: def.workingDirectory ?? (runtime?.WorkingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/"),
            user: user, hostname: task.hostname, networkNamespace: task.networkNamespace,
            mounts: mounts, devices: DefaultProfile.devices,
            symlinks: DefaultProfile.symlinks, maskedPaths: DefaultProfile.maskedPaths,
            readonlyPaths: DefaultProfile.readonlyPaths(cgroups: task.cgroupHost),
            readonlyRootfs: def.readonlyRootFilesystem ?? false, capabilities: caps, rlimits: rlimits,
            seccompProgram: try SeccompProfile.program(for: caps, cacheDirectory: task.cacheDirectory))
        spec.sysctls = (def.systemControls ?? []).compactMap { sc in
            guard let n = sc.namespace, let v = sc.value else { return nil }
            return ContainerSpec.Sysctl(name: n, value: v)
        }
        spec.hostnameIsFinal = task.hostnameIsFinal
        if initEnabled { spec.executable = try sealedInit() }
        spec.pidNamespace = task.pidNamespace
        return Built(spec: spec, limits: limits, stopSignal: ProcessResolution.stopSignal(runtime), warnings: warnings)
    }

    /// The container's own cgroup limits: its cpu as a weight (ECS's cpu shares, at least 2),
    /// its memory as a hard limit and memoryReservation as a soft one, no swap.
    var limits: ResourceLimits {
        let def = container.definition
        var limits = ResourceLimits(noSwap: true)
        if let cpu = def.cpu, cpu > 0 { limits.cpuShares = Int64(max(cpu, 2)) }
        if let m = def.memory { limits.memoryMax = Int64(m) << 20 }
        if let r = def.memoryReservation { limits.memoryLow = Int64(r) << 20 }
        return limits
    }
}

/// A container's mounts in the order the sandbox makes them.
enum ContainerMounts {
    /// The default mounts (with /dev/shm sized by sharedMemorySize), the name files, then the
    /// container's volumes and tmpfs mounts, parents before children; and warnings for tmpfs
    /// options that are not applied.
    static func list(for c: TaskPlan.Container, defaults: [ContainerSpec.Mount], nameFiles: [ContainerSpec.Mount],
                     volumeDirectories: [String: String]) -> ([ContainerSpec.Mount], [String]) {
        let lp = c.definition.linuxParameters
        var mounts = defaults
        var warnings: [String] = []
        if let shm = lp?.sharedMemorySize, let i = mounts.firstIndex(where: { $0.target == "/dev/shm" }) {
            mounts[i].data = "mode=1777,size=\(shm)m"
        }
        mounts += nameFiles
        let hardened = UInt(MS_NOSUID | MS_NODEV)
        var own: [ContainerSpec.Mount] = []
        for m in c.volumeMounts {
            guard let dir = volumeDirectories[m.volume] else { continue }
            own.append(ContainerSpec.Mount(source: dir, target: m.containerPath, fstype: nil,
                                           flags: UInt(MS_BIND) | hardened | (m.readOnly ? UInt(MS_RDONLY) : 0)))
        }
        for t in lp?.tmpfs ?? [] {
            guard let path = t.containerPath, let size = t.size else { continue }
            let (flags, data, ignored) = TmpfsOptions.parse(t.mountOptions ?? [])
            for o in ignored {
                warnings.append("container \(c.name): tmpfs \(path): \"\(o)\" is not applied (tmpfs mounts are always nosuid and nodev here)")
            }
            own.append(ContainerSpec.Mount(source: "tmpfs", target: TaskPlan.normalized(path), fstype: "tmpfs", flags: flags,
                                           data: (["size=\(size)m"] + data).joined(separator: ",")))
        }
        let depth = { (m: ContainerSpec.Mount) in m.target.split(separator: "/").count }
        return (mounts + own.enumerated().sorted { (depth($0.element), $0.offset) < (depth($1.element), $1.offset) }.map(\.element), warnings)
    }
}
