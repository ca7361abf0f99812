import ECSModel
import Images
import Logging
import TaskNetwork

/// `fargate-run [run] [OPTIONS] TASK.json` and `fargate-run wait TASK` read without
/// ArgumentParser, for the commands whose start time matters (a task's start, `run -d` and
/// `wait` through the host). ArgumentParser learns a command's options by reflection, and
/// the Swift runtime answers each first "does this type conform to that protocol" by
/// scanning all of the binary's 12,000 conformance records: its first parse costs 3-5 ms of
/// every start (Docs/PERFORMANCE.md).
///
/// Only plain invocations are taken: `--name value`, `--name=value`, the flags, one task
/// file. Anything else (help, a subcommand, an unknown or repeated option, a value that looks
/// like an option or a command, or does not convert) returns nil, and ArgumentParser parses the arguments
/// and says what is wrong, as it always did. `CommandLineTests` checks both give the same
/// `RunRequest` for what this takes, and that the option names here are `Run`'s.
enum QuickArguments {
    // Arrays, not sets or dictionaries: a `Set<String>` is the Swift runtime's first check that
    // String is Hashable, a scan of all of the binary's conformance records (0.2-0.4 ms of
    // every `run -d`); these lists are short.

    /// Run's options that take a value: the repeatable ones, and the rest.
    static let repeatable = ["--dns", "--security-group", "--insecure-registry", "--registry-auth", "--parameter", "--task-role"]
    static let single = [
        "--root", "--log-level", "--output", "--cgroup-parent", "--prices", "--pids-limit", "--overrides", "--secrets",
        "--count", "--network", "--subnet", "--bridge", "--publish-address", "--network-config", "--dns-domain", "--pull",
        "--resource", "--family", "--cpu", "--memory", "--network-mode", "--execution-role-arn", "--task-role-arn", "--availability-zone",
    ]
    static let flags = ["-q", "--quiet", "--no-nat", "-d", "--detach", "--rm", "--no-task-credentials", "--allow-link-local"]
    /// Words ArgumentParser reads as a command where a task file would be: `FargateRun`'s
    /// subcommands and help (`CommandLineTests` checks the list against the configuration,
    /// which is not read here: that would build every command's configuration).
    static let commandNames = [
        "run", "serve", "validate", "report", "usage", "advise", "inspect", "ps", "logs", "exec", "stats", "stop", "wait", "rm",
        "prune", "gc", "images", "info", "service", "help",
    ]

    /// `wait [--root DIR] TASK` (or `--root=DIR`): the root and the task, or nil to leave the
    /// arguments to ArgumentParser. `CommandLineTests` checks that `Wait` has no option this
    /// does not know but `--log-level`, which a wait through the host does not use.
    static func wait(_ arguments: [String]) -> (root: String?, task: String)? {
        guard arguments.first == "wait" else { return nil }
        var rest = arguments.dropFirst()
        var root: String?, task: String?
        while let a = rest.popFirst() {
            if a == "--root" || a.hasPrefix("--root=") {
                let value = a == "--root" ? rest.popFirst() : String(a.dropFirst("--root=".count))
                guard root == nil, let value, !value.isEmpty, !value.hasPrefix("-") else { return nil }
                root = value
            } else {
                guard task == nil, !a.hasPrefix("-") else { return nil }
                task = a
            }
        }
        return task.map { (root, $0) }
    }

    /// The request `arguments` (without the program name) make, or nil to leave them to
    /// ArgumentParser.
    static func run(_ arguments: [String]) -> RunRequest? {
        var rest = arguments[...]
        if rest.first == "run" { rest = rest.dropFirst() }
        var values: [(name: String, value: String)] = []
        var set: [String] = []
        var positional: [String] = []
        while let a = rest.popFirst() {
            guard a.hasPrefix("-") else {
                positional.append(a)
                continue
            }
            if flags.contains(a) {
                let name = a == "-q" ? "--quiet" : a == "-d" ? "--detach" : a
                guard !set.contains(name) else { return nil }
                set.append(name)
                continue
            }
            var name = a, value: String
            if a.hasPrefix("--"), let eq = a.firstIndex(of: "=") {
                name = String(a[..<eq])
                value = String(a[a.index(after: eq)...])
            } else {
                guard let next = rest.popFirst() else { return nil }
                value = next
            }
            // A value that is a command's name ArgumentParser may take for that command.
            guard single.contains(name) || repeatable.contains(name), !value.isEmpty, !value.hasPrefix("-"),
                  !commandNames.contains(value) else { return nil }
            if single.contains(name), values.contains(where: { $0.name == name }) { return nil }
            values.append((name, value))
        }
        guard positional.count == 1, !commandNames.contains(positional[0]) else { return nil }

        var r = RunRequest(taskDefinition: positional[0])
        r.quiet = set.contains("--quiet")
        r.detach = set.contains("--detach")
        r.remove = set.contains("--rm")
        r.network.noNat = set.contains("--no-nat")
        let one = { (name: String) in values.first { $0.name == name }?.value }
        let all = { (name: String) in values.filter { $0.name == name }.map(\.value) }
        r.endpoint.noTaskCredentials = set.contains("--no-task-credentials")
        r.endpoint.allowLinkLocal = set.contains("--allow-link-local")
        r.endpoint.availabilityZone = one("--availability-zone")
        r.endpoint.taskRole = all("--task-role")
        // (Checked only when given: the check builds a dictionary, the runtime's first look at
        // String's Hashable conformance.)
        guard r.endpoint.taskRole.isEmpty || (try? r.endpoint.roles()) != nil else { return nil }
        if let v = one("--root") { r.root = v }
        if let v = one("--log-level") { guard Logger.Level(rawValue: v) != nil else { return nil }; r.logLevel = v }
        if let v = one("--output") { guard let f = OutputFormat(rawValue: v) else { return nil }; r.output = f }
        if let v = one("--cgroup-parent") { r.cgroupParent = v }
        if let v = one("--prices") { r.prices = v }
        if let v = one("--pids-limit") { guard let n = Int64(v) else { return nil }; r.pidsLimit = n }
        if let v = one("--overrides") { r.overrides = v }
        if let v = one("--secrets") { r.secrets = v }
        if let v = one("--count") { guard let n = Int(v), (try? RunRequest.validate(count: n)) != nil else { return nil }; r.count = n }
        if let v = one("--network") { guard let m = NetworkOptions.Mode(rawValue: v) else { return nil }; r.network.mode = m }
        if let v = one("--subnet") { r.network.subnet = v }
        if let v = one("--bridge") { r.network.bridge = v }
        if let v = one("--publish-address") { r.network.publishAddress = v }
        if let v = one("--network-config") { r.network.networkConfig = v }
        if let v = one("--dns-domain") { r.network.dnsDomain = v }
        if let v = one("--pull") { guard let p = ImageStore.PullPolicy(rawValue: v) else { return nil }; r.registry.pull = p }
        r.network.dns = all("--dns")
        r.network.securityGroup = all("--security-group")
        r.registry.insecureRegistry = all("--insecure-registry")
        r.registry.registryAuth = all("--registry-auth")
        var d = TaskDefinitionLoader.Options()
        d.resource = one("--resource")
        d.family = one("--family")
        d.cpu = one("--cpu")
        d.memory = one("--memory")
        d.networkMode = one("--network-mode")
        d.executionRoleArn = one("--execution-role-arn")
        d.taskRoleArn = one("--task-role-arn")
        if !all("--parameter").isEmpty {
            guard let parameters = try? DefinitionFlags.parameters(all("--parameter")) else { return nil }
            d.parameters = parameters
        }
        r.definition = d
        return r
    }
}
