import ArgumentParser
import Foundation
import Logging
import TaskMetadata
import TaskRuntime

/// What tasks are given of their metadata endpoint and the link-local addresses: task-role
/// credentials, the availability zone (Docs/METADATA.md).
struct EndpointFlags: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Serve PROFILE's credentials (from ~/.aws) as the task role ROLE_ARN's (repeatable). Other roles get fargate-run's own AWS credentials, found as the AWS SDKs find them. Roles are not assumed.", valueName: "role-arn=profile"))
    var taskRole: [String] = []

    @Flag(name: .long, help: "Give containers no task-role credentials (no AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).")
    var noTaskCredentials = false

    @Flag(name: .long, help: "Let tasks reach the rest of 169.254.0.0/16 and fd00:ec2::254 (the host's instance metadata service on a cloud machine), which Fargate does not.")
    var allowLinkLocal = false

    @Option(name: .long, help: "The tasks' availability zone, in describe-tasks and the metadata endpoint (default REGION-local).")
    var availabilityZone: String?

    func validate() throws {
        _ = try settings.roles()
    }

    var settings: EndpointSettings {
        EndpointSettings(taskRole: taskRole, noTaskCredentials: noTaskCredentials, allowLinkLocal: allowLinkLocal,
                         availabilityZone: availabilityZone)
    }
}

/// The endpoint flags as plain values.
struct EndpointSettings: Equatable {
    var taskRole: [String] = []
    var noTaskCredentials = false
    var allowLinkLocal = false
    var availabilityZone: String?

    /// The role mappings; a profile that is nowhere is refused now, not when a task first asks
    /// for its credentials (a 503 then).
    func roles(source: AWSCredentialSource = AWSCredentialSource()) throws -> TaskRoleOptions {
        let options: TaskRoleOptions
        do { options = try TaskRoleOptions.parse(taskRole) } catch { throw ValidationError(error.description) }
        for (role, profile) in options.profiles.sorted(by: { $0.key < $1.key }) {
            if let missing = source.missing(profile: profile) { throw ValidationError("--task-role \(role)=\(profile): \(missing)") }
        }
        return options
    }

    var configuration: EndpointConfiguration {
        EndpointConfiguration(taskCredentials: !noTaskCredentials, allowLinkLocal: allowLinkLocal, availabilityZone: availabilityZone)
    }

    /// The server answering the tasks' endpoints in this process; none (tasks get no
    /// listener, and their containers no endpoint variables) when the benchmark switch is set.
    func server(logger: Logger, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> MetadataServer? {
        if environment[EndpointSettings.benchmarkSwitch] == "1" { return nil }
        return MetadataServer(credentials: noTaskCredentials ? nil : TaskRoleCredentials(options: try roles()), logger: logger)
    }

    /// For Benchmarks/metadata-endpoint.sh only, not a user's option: `=1` runs tasks without
    /// the metadata endpoint, to measure what it adds to a start against a run without it.
    static let benchmarkSwitch = "FARGATE_RUN_BENCHMARK_NO_ENDPOINT"
}
