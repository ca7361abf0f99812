#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import LinuxSupport
import Sandbox

/// Running a command in a running task's container, as `docker exec` and ECS Exec do: in the
/// container's namespaces and cgroup, with its user, working directory, capabilities, limits,
/// seccomp filter and environment. The caller (whoever runs `fargate-run exec`) is the
/// command's parent, so no host or foreground fargate-run is involved.
public enum TaskExec {
    /// The container `name` names, or the task's only container; an error lists them.
    public static func container(_ name: String?, in state: TaskState) throws -> String {
        let names = (state.task.containers ?? []).compactMap(\.name)
        if let name {
            guard names.contains(name) else {
                throw TaskRuntimeError(.notFound, "the task has no container \(name); it has \(names.joined(separator: ", "))")
            }
            return name
        }
        guard names.count == 1 else {
            throw TaskRuntimeError(.invalidState, "the task has \(names.count) containers: name one with -c (\(names.joined(separator: ", ")))")
        }
        return names[0]
    }

    /// How the command's stdio is connected.
    public enum Stdio: Sendable {
        /// These descriptors (stdin nil: /dev/null).
        case descriptors(stdin: Int32?, stdout: Int32, stderr: Int32)
        /// A pseudoterminal made in the container, whose controller end is returned.
        case terminal
    }

    /// Starts `arguments` in container `name` of task `id`: the process (ours to wait for) and,
    /// with a terminal, its controller end.
    public static func start(_ id: String, container name: String, arguments: [String], store: TaskStore,
                             stdio: Stdio) throws -> (ContainerProcess, Int32?) {
        let state = try store.state(id)
        guard state.isRunning, state.lifecycle?.container(name)?.status == .running, let pid = state.pids[name] else {
            throw TaskRuntimeError(.invalidState, "container \(name) of task \(id) is not running")
        }
        guard let profile = state.execProfiles?[name] else {
            throw TaskRuntimeError(.invalidState, "task \(id) was started by a fargate-run that did not record how to exec into it")
        }
        let container = try ContainerProcess.attach(pid: pid)
        // The pid is the container's, not a process that took the number since.
        let membership = (try? FileSystem.readString("/proc/\(pid)/cgroup")) ?? ""
        guard membership.contains("/fargate-run-\(id)/\(name)") else {
            throw TaskRuntimeError(.invalidState, "container \(name) of task \(id) has ended")
        }
        var environment = try FileSystem.readString("/proc/\(pid)/environ").split(separator: "\0").map(String.init)
        // A terminal needs a type to be used by anything but the plainest program; Docker says xterm.
        if case .terminal = stdio, !environment.contains(where: { $0.hasPrefix("TERM=") }) { environment.append("TERM=xterm") }
        guard let host = try? CgroupHost.probe(), let task = Cgroup.recorded(state.cgroupDirectories, on: host) else {
            throw TaskRuntimeError(.invalidState, "the cgroups of task \(id) are not where its state says")
        }
        let cgroup = Cgroup(existing: task.host, relativePath: task.relativePath + "/" + name)
        let spec = try profile.spec(arguments: arguments, environment: environment, cacheDirectory: store.root.cacheDirectory)
        switch stdio {
        case .descriptors(let stdin, let stdout, let stderr):
            return (try ContainerLauncher.exec(spec, in: container, cgroup: cgroup, stdin: stdin, stdout: stdout, stderr: stderr), nil)
        case .terminal:
            let (process, controller) = try ContainerLauncher.execOnTerminal(spec, in: container, cgroup: cgroup)
            return (process, controller)
        }
    }
}
