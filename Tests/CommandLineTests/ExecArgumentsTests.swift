import ArgumentParser
@testable import fargate_run
import Testing

/// `exec`'s options before the task (ArgumentParser's) and between the task and `--` (the
/// README's `exec -it TASK -c app -- sh`) mean the same; words after the task that are not
/// options are the command's.
struct ExecArgumentsTests {
    func invocation(_ arguments: [String]) throws -> (container: String?, interactive: Bool, tty: Bool, command: [String]) {
        let command = try FargateRun.parseAsRoot(["exec"] + arguments)
        return try #require(command as? Exec, "\(arguments) parses as \(type(of: command))").invocation()
    }

    @Test(arguments: [
        (["-it", "T", "-c", "app", "--", "sh"], "app", true, true, ["sh"]),
        (["-c", "app", "-i", "-t", "T", "--", "sh"], "app", true, true, ["sh"]),
        (["T", "-c", "app", "-it", "--", "sh", "-c", "echo -c x -- y"], "app", true, true, ["sh", "-c", "echo -c x -- y"]),
        (["-t", "T", "--container=app", "-i", "--", "top"], "app", true, true, ["top"]),
        (["-c", "app", "T", "--container", "app", "--", "ls"], "app", false, false, ["ls"]),
        (["T", "--", "sh", "-c", "x"], nil, false, false, ["sh", "-c", "x"]),
        (["T", "sh", "-c", "x"], nil, false, false, ["sh", "-c", "x"]),
        (["T", "ls", "--", "-x"], nil, false, false, ["ls", "--", "-x"]),
        (["-i", "T", "-t", "--", "sh", "--", "-c"], nil, true, true, ["sh", "--", "-c"]),
    ] as [([String], String?, Bool, Bool, [String])])
    func readsOptionsOnEitherSideOfTheTask(_ arguments: [String], _ container: String?, _ interactive: Bool, _ tty: Bool, _ command: [String]) throws {
        let asked = try invocation(arguments)
        #expect(asked.container == container && asked.interactive == interactive && asked.tty == tty, "\(arguments): \(asked)")
        #expect(asked.command == command, "\(arguments)")
    }

    @Test(arguments: [
        (["T", "-x", "--", "sh"], "'-x' cannot stand between the task and --"),
        (["T", "-c", "--", "sh"], "-c needs a container's name"),
        (["T", "--container=", "--", "sh"], "--container= needs a container's name"),
        (["-c", "a", "T", "-c", "b", "--", "sh"], "two containers are named (a and b)"),
        (["T", "-c", "app", "sh"], "the command cannot start with '-c'"),
        (["T", "--"], "no command"),
        (["T"], "no command"),
    ] as [([String], String)])
    func refusesWhatItCannotRead(_ arguments: [String], _ message: String) throws {
        // ArgumentParser asks `validate()`, which reads them as `run()` does.
        let error = try #require(throws: (any Error).self) { try FargateRun.parseAsRoot(["exec"] + arguments) }
        #expect(FargateRun.message(for: error).contains(message), "\(arguments): \(FargateRun.message(for: error))")
    }
}
