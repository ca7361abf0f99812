#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Sandbox

/// pidMode "task": a pause process is pid 1 of a pid namespace every container of the task
/// joins. It has an empty read-only root, no capabilities and the default seccomp filter, so a
/// container that can see it (as pid 1) gains nothing through /proc/1.
enum PauseProcess {
    static func start(taskDirectory: String, hostname: String, networkNamespace: String, cacheDirectory: String,
                      taskCgroup: Cgroup, executable: SealedExecutable,
                      monitor: (TaskMonitor, UInt32)? = nil) throws -> (ContainerProcess, Cgroup) {
        let root = taskDirectory + "/pause-root"
        try FileSystem.makeDirectories(root, mode: 0o555)
        var spec = ContainerSpec(rootfs: .directory(root), arguments: ["fargate-init", "--pause"], environment: [],
                                 workingDirectory: "/", hostname: hostname, networkNamespace: networkNamespace,
                                 readonlyRootfs: true, capabilities: [], rlimits: [],
                                 seccompProgram: try SeccompProfile.program(for: [], cacheDirectory: cacheDirectory))
        spec.executable = executable
        let cg = try taskCgroup.child("pause", limits: ResourceLimits())
        if let (monitor, slot) = monitor {
            return (try ContainerLauncher.prepare(spec, cgroup: cg, via: .init(monitor: monitor, slot: slot, logFile: -1)).start(), cg)
        }
        let devnull = open("/dev/null", O_WRONLY | O_CLOEXEC)
        defer { close(devnull) }
        return (try ContainerLauncher.start(spec, cgroup: cg, stdout: devnull, stderr: devnull), cg)
    }
}
