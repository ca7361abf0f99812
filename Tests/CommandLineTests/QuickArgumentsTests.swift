import ArgumentParser
import Foundation
@testable import fargate_run
import Testing

/// `QuickArguments` reads the common `run` invocations without ArgumentParser; these check it
/// reads them as ArgumentParser does, and leaves everything else to it.
struct QuickArgumentsTests {
    /// What ArgumentParser makes of `arguments`.
    func parsed(_ arguments: [String]) throws -> RunRequest {
        let command = try FargateRun.parseAsRoot(arguments)
        return try #require(command as? Run, "\(arguments) parses as \(type(of: command))").request
    }

    @Test(arguments: [
        ["task.json"],
        ["run", "task.json"],
        ["-q", "--root", "/tmp/r", "task.json"],
        ["--rm", "-d", "task.json"], ["run", "--rm", "t.json"],
        ["task.json", "--quiet", "--network", "none"],
        ["--root=/var/x", "--log-level", "debug", "--output", "json", "dir/task.json"],
        ["--cgroup-parent", "ci/jobs", "--prices", "p.json", "--pids-limit", "100", "--count", "3", "t.json"],
        ["--overrides", "{\"cpu\":\"512\"}", "--secrets", "s.json", "t.json"],
        ["--subnet", "10.9.0.0/16", "--bridge", "br9", "--no-nat", "--publish-address", "0.0.0.0", "t.json"],
        ["--network-config", "c.conflist", "--dns", "1.1.1.1", "--dns=9.9.9.9", "--dns-domain", "corp", "t.json"],
        ["--security-group", "web", "--security-group", "db", "t.json"],
        ["--pull", "never", "--insecure-registry", "r:5000", "--registry-auth", "r:5000=u:p", "--registry-auth", "q=a:b", "t.json"],
        ["--resource", "TaskDef", "--parameter", "AWS::AccountId=123456789012", "--parameter=Env=prod=x", "cdk.out/Stack.template.json"],
        ["--family", "api", "--cpu", "256", "--memory", "0.5 GB", "--network-mode", "awsvpc", "--execution-role-arn", "arn:aws:iam::1:role/e",
         "--task-role-arn", "arn:aws:iam::1:role/t", "containers.json"],
    ])
    func readsWhatArgumentParserReads(_ arguments: [String]) throws {
        let quick = try #require(QuickArguments.run(arguments), "taken by the quick path")
        #expect(quick == (try parsed(arguments)))
    }

    @Test(arguments: [
        [], ["--help"], ["-h"], ["--version"], ["help"], ["ps"], ["images", "ls"], ["run"],
        ["validate", "task.json"], ["a.json", "b.json"], ["--bogus", "t.json"], ["-qv", "t.json"],
        ["--root", "a", "--root", "b", "t.json"], ["-q", "-q", "t.json"], ["--rm", "--rm", "t.json"], ["--root", "t.json"], ["--root"],
        ["--count", "11", "t.json"], ["--count", "two", "t.json"], ["--output", "yaml", "t.json"],
        ["--network", "host", "t.json"], ["--pull", "sometimes", "t.json"], ["--pids-limit", "x", "t.json"],
        ["--root=", "t.json"], ["--root", "-x", "t.json"], ["--root", "ps", "t.json"], ["--", "t.json"], ["-", "t.json"],
        ["--experimental-dump-help"], ["--generate-completion-script", "bash"],
        ["--parameter", "NoEquals", "t.json"], ["--parameter", "=v", "t.json"], ["--cpu", "256", "--cpu", "512", "t.json"],
        ["--log-level", "verbose", "t.json"],
    ])
    func leavesEverythingElseToArgumentParser(_ arguments: [String]) {
        #expect(QuickArguments.run(arguments) == nil)
    }

    /// A log level is one swift-log has, for every command; none given is the command's own
    /// default (serve's is info: `--log-level warning` there is no longer info).
    @Test func theLogLevelIsChecked() throws {
        for arguments in [["run", "--log-level", "verbose", "t.json"], ["ps", "--log-level", "bogus"], ["serve", "--log-level", "Info"]] {
            let error = try #require(throws: (any Error).self) { try FargateRun.parseAsRoot(arguments) }
            #expect(FargateRun.message(for: error).contains("use one of trace, debug, info, notice, warning, error, critical"), "\(arguments)")
        }
        let serve = try #require(try FargateRun.parseAsRoot(["serve"]) as? Serve)
        #expect(serve.global.logLevel == nil)
        #expect((try FargateRun.parseAsRoot(["serve", "--log-level", "warning"]) as? Serve)?.global.logLevel == "warning")
        #expect(QuickArguments.run(["--log-level", "debug", "t.json"])?.logLevel == "debug")
    }

    /// A role mapped to a profile that is in neither AWS file is refused at the start, not
    /// when a task first asks for its credentials.
    @Test func aTaskRoleProfileThatIsNowhereIsRefused() throws {
        let args = ["run", "--task-role", "arn:aws:iam::1:role/a=fargate-run-test-nosuch", "t.json"]
        #expect(QuickArguments.run(args) == nil, "left to ArgumentParser, which says why")
        let error = try #require(throws: (any Error).self) { try FargateRun.parseAsRoot(args) }
        #expect(FargateRun.message(for: error).contains("--task-role arn:aws:iam::1:role/a=fargate-run-test-nosuch: no profile fargate-run-test-nosuch in "),
                "\(FargateRun.message(for: error))")
    }

    @Test func parametersAreNameValuePairs() throws {
        let r = try #require(QuickArguments.run(["--parameter", "A=1", "--parameter", "B=x=y", "--parameter", "A=2", "t.json"]))
        #expect(r.definition.parameters == ["A": "2", "B": "x=y"], "the last value of a name wins, as ArgumentParser's")
        #expect(throws: (any Error).self) { try FargateRun.parseAsRoot(["run", "--parameter", "NoEquals", "t.json"]) }
        #expect(throws: (any Error).self) { try FargateRun.parseAsRoot(["validate", "--parameter", "=v", "t.json"]) }
    }

    /// The quick path knows exactly Run's options, flags and commands: one added to Run and
    /// not here is left to ArgumentParser (slower, still right); one here and not in Run, or
    /// with another arity, fails this.
    @Test func knowsExactlyRunsOptions() throws {
        struct Dump: Decodable {
            struct Command: Decodable { var arguments: [Argument] }
            struct Argument: Decodable {
                struct Name: Decodable { var kind: String; var name: String }
                var kind: String
                var names: [Name]?
                var isRepeating: Bool
            }
            var command: Command
        }
        let dump = try JSONDecoder().decode(Dump.self, from: Data(Run._dumpHelp().utf8))
        func names(_ a: Dump.Argument) -> [String] {
            (a.names ?? []).map { ($0.kind == "short" ? "-" : "--") + $0.name }
        }
        let options = dump.command.arguments.filter { $0.kind == "option" }
        #expect(Set(options.filter { !$0.isRepeating }.flatMap(names)) == Set(QuickArguments.single))
        #expect(Set(options.filter(\.isRepeating).flatMap(names)) == Set(QuickArguments.repeatable))
        let flags = Set(dump.command.arguments.filter { $0.kind == "flag" }.flatMap(names))
        #expect(flags.subtracting(["--help", "-h", "--version"]) == Set(QuickArguments.flags))
        #expect(dump.command.arguments.filter { $0.kind == "positional" }.count == 1)
        let commands = FargateRun.configuration.subcommands.compactMap { $0.configuration.commandName }
        #expect(Set(commands + ["help"]) == Set(QuickArguments.commandNames))
        // The lists are arrays (Docs/PERFORMANCE.md): none may name a word twice.
        for list in [QuickArguments.single, QuickArguments.repeatable, QuickArguments.flags, QuickArguments.commandNames] {
            #expect(Set(list).count == list.count, "\(list)")
        }
    }

    @Test(arguments: [
        ["wait", "0123abcd"], ["wait", "--root", "/tmp/r", "0123abcd"], ["wait", "--root=/var/x", "arn:aws:ecs:us-east-1:1:task/c/0123"],
        ["wait", "0123abcd", "--root", "/tmp/r"],
    ])
    func readsWaitAsArgumentParserDoes(_ arguments: [String]) throws {
        let quick = try #require(QuickArguments.wait(arguments), "taken by the quick path")
        let command = try #require(try FargateRun.parseAsRoot(arguments) as? Wait)
        #expect(quick.root == command.global.root && quick.task == command.task)
    }

    @Test(arguments: [
        ["wait"], ["wait", "--help"], ["wait", "a", "b"], ["wait", "--root", "a", "--root", "b", "t"], ["wait", "--log-level", "debug", "t"],
        ["wait", "--root"], ["wait", "--root=", "t"], ["wait", "--root", "-x", "t"], ["wait", "-x", "t"], ["wait", "--", "t"],
        ["--root", "/r", "wait", "t"], ["ps", "t"], ["t.json"],
    ])
    func leavesOtherWaitsToArgumentParser(_ arguments: [String]) {
        #expect(QuickArguments.wait(arguments) == nil)
    }

    /// `wait`'s options are the two the quick path knows of (`--log-level` is left to
    /// ArgumentParser): one added to `Wait` fails this until the quick path knows it.
    @Test func knowsWaitsOptions() throws {
        struct Dump: Decodable {
            struct Command: Decodable { var arguments: [Argument] }
            struct Argument: Decodable { var kind: String; var names: [Name]? }
            struct Name: Decodable { var name: String }
            var command: Command
        }
        let dump = try JSONDecoder().decode(Dump.self, from: Data(Wait._dumpHelp().utf8))
        let named = Set(dump.command.arguments.filter { $0.kind != "positional" }.flatMap { $0.names ?? [] }.map(\.name))
        #expect(named == ["root", "log-level", "help", "h"])
        #expect(dump.command.arguments.filter { $0.kind == "positional" }.count == 1)
    }
}
