#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ECSModel
import Foundation
import TaskRuntime

/// --overrides and --secrets: what RunTask and the task's AWS resources supply.
struct InputFlags: ParsableArguments {
    @Option(name: .long, help: "RunTask overrides (TaskOverride): a file, or the JSON itself.")
    var overrides: String?

    @Option(name: .long, help: "A JSON file mapping each secret's valueFrom (and S3 environment file ARNs, repositoryCredentials) to its value. See Docs/TASK-DEFINITION.md.")
    var secrets: String?

    /// The task as `file` and these flags make it (`TaskInputs.prepare`).
    func prepare(_ file: String, definition: TaskDefinitionLoader.Options, region: String, running: Bool) throws -> PreparedTask {
        try TaskInputs.prepare(file, definition: definition, overrides: overrides, secrets: secrets, region: region, running: running)
    }
}

/// Prints a problem with the input (every issue, or a list of {path, message, severity} with
/// json, warnings included) and returns the exit status to leave with: 2 for invalid input,
/// 125 otherwise.
func reportInputError(_ error: any Error, file: String, json: Bool) -> ExitCode {
    var issues: [ValidationIssue]
    var text: String
    switch error {
    case var e as TaskDefinitionError:
        e.file = e.file ?? file
        issues = e.issues + e.warnings
        text = e.description + e.warnings.map { "\n  \($0.severity): \($0)" }.joined()
    case let e as LocalInputError:
        issues = e.issues
        text = e.description
    default:
        writeOut(2, "fargate-run: \(error)\n")
        return ExitCode(runtimeFailureExitCode)
    }
    if json, let text = try? JSONOutput.text(issues) { writeOut(1, text) }
    writeOut(2, "fargate-run: \(text)\n")
    return ExitCode(invalidInputExitCode)
}
