/// What running another command in a container takes from the container's spec (as `docker
/// exec` does): its user, working directory, capabilities, limits and seccomp filter. Kept in
/// the task's state so a process other than the one that started the container can do it;
/// the environment is read from the container's process instead, so no secret is written.
public struct ExecProfile: Codable, Sendable, Equatable {
    public var user: ContainerSpec.User
    public var workingDirectory: String
    public var capabilities: Set<Capability>
    public var rlimits: [ContainerSpec.Rlimit]
    public var noNewPrivileges: Bool

    public init(_ spec: ContainerSpec) {
        user = spec.user
        workingDirectory = spec.workingDirectory
        capabilities = spec.capabilities
        rlimits = spec.rlimits
        noNewPrivileges = spec.noNewPrivileges
    }

    /// The spec that runs `arguments` with `environment` in the container under this profile;
    /// the seccomp filter is the container's, compiled for its capabilities.
    public func spec(arguments: [String], environment: [String], cacheDirectory: String?) throws -> ContainerSpec {
        var spec = ContainerSpec(rootfs: .directory("/"), arguments: arguments, environment: environment,
                                 workingDirectory: workingDirectory, user: user, capabilities: capabilities, rlimits: rlimits,
                                 noNewPrivileges: noNewPrivileges,
                                 seccompProgram: try SeccompProfile.program(for: capabilities, cacheDirectory: cacheDirectory))
        spec.hostnameIsFinal = true
        return spec
    }
}
