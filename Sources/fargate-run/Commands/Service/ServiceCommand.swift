import ArgumentParser

/// `fargate-run service ...`: ECS services on the root's host without the aws CLI, through
/// the same ECS API operations (CreateService, UpdateService, DescribeServices, ListServices,
/// ListTasks, DescribeTasks, DeleteService).
struct ServiceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service", abstract: "Run ECS services on the root's host: create, update, ls, ps, targets, events, rm.",
        discussion: "A host must serve the state root (fargate-run serve). See Docs/SERVICES.md.",
        subcommands: [ServiceCreate.self, ServiceUpdate.self, ServiceList.self, ServiceTasks.self, ServiceTargets.self, ServiceEvents.self,
                      ServiceRemove.self])
}

/// The options every service command takes.
struct ServiceOptions: ParsableArguments {
    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "The service's cluster (default: default).")
    var cluster: String?
}
