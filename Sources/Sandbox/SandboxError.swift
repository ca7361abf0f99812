import LinuxSupport

/// Failures of the sandbox layer, each naming what failed and where.
public enum SandboxError: Error, CustomStringConvertible, Sendable {
    /// The host's cgroup setup does not allow what was asked.
    case cgroup(String)
    /// A system call failed while preparing or controlling a container.
    case system(SystemError)
    /// The container's init failed before execve; `stage` says where (e.g. "mount /proc").
    case spawn(stage: String, detail: String, errno: Int32)
    /// The given spec cannot be carried out (bad path, too many layers...).
    case invalidSpec(String)

    public var description: String {
        switch self {
        case .cgroup(let m): return "cgroup: \(m)"
        case .system(let e): return e.description
        case .invalidSpec(let m): return m
        case .spawn(let stage, let detail, let errno):
            let what = detail.isEmpty ? stage : "\(stage) \(detail)"
            return "\(what): \(SystemError("", errno: errno).description.dropFirst(2))"
        }
    }
}
