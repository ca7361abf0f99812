#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import Dispatch
import ECSModel
import Foundation
import TaskRuntime

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "validate", abstract: "Check a task definition as ECS would for Fargate; start nothing.",
                                                    discussion: """
                                                        With --overrides, the definition as overridden; with --secrets, that every secret and environment file resolves. \
                                                        The file may be RegisterTaskDefinition input or describe-task-definition output (JSON or YAML), a \
                                                        CloudFormation or CDK template, a Terraform container_definitions list or terraform show -json output \
                                                        (Docs/TASK-DEFINITION.md).
                                                        """)

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task definition file.")
    var taskDefinition: String

    @Option(name: .long, help: "text or json (a list of {path, message, severity} objects: errors, warnings and notes).")
    var output: OutputFormat = .text

    @OptionGroup var inputs: InputFlags

    @OptionGroup var definition: DefinitionFlags

    @Option(name: .customLong("repeat"), help: "Validate this many times and print the time per validation (a benchmark).")
    var repetitions: Int = 1

    func run() async throws {
        let plan: TaskPlan
        do {
            plan = try inputs.prepare(taskDefinition, definition: definition.options, region: "us-east-1", running: false).plan
        } catch {
            throw reportInputError(error, file: taskDefinition, json: output == .json)
        }
        if repetitions > 1 {
            print(try benchmark())
            return
        }
        let unsupported = plan.unsupported.map { ValidationIssue($0.path, "valid on Fargate, but `run` refuses it here: \($0.message)", severity: .warning) }
        let warnings = plan.warnings + unsupported
        if output == .json {
            writeOut(1, warnings.isEmpty ? "[]\n" : try JSONOutput.text(warnings))
        } else {
            let names = plan.containers.map { $0.name + ($0.essential ? "" : " (non-essential)") }
            print("\(plan.family):\(plan.revision) valid: \(plan.size), \(plan.containers.count) container\(plan.containers.count == 1 ? "" : "s"): \(names.joined(separator: ", "))")
            for w in warnings { writeOut(2, "fargate-run: \(w.severity): \(w)\n") }
        }
    }

    /// Reading, checking against the API model and Fargate's rules, from bytes in memory.
    func benchmark() throws -> String {
        guard let data = FileManager.default.contents(atPath: taskDefinition) else { throw ValidationError("cannot read \(taskDefinition)") }
        var issues = 0
        let start = DispatchTime.now().uptimeNanoseconds
        let options = definition.options
        for _ in 0..<repetitions {
            issues += try TaskDefinitionLoader.load(data: data, name: taskDefinition, options: options).allIssues.count
        }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(repetitions)
        return "\(repetitions) validations of \(taskDefinition) (\(data.count) bytes): \(String(format: "%.1f", ns / 1000)) µs each, \(issues / repetitions) problems each"
    }
}
