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
                                                    discussion: "With --overrides, the definition as overridden; with --secrets, that every secret and environment file resolves.")

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The task definition file.")
    var taskDefinition: String

    @Option(name: .long, help: "text or json (a list of {path, message} objects).")
    var output: OutputFormat = .text

    @OptionGroup var inputs: InputFlags

    @Option(name: .customLong("repeat"), help: "Validate this many times and print the time per validation (a benchmark).")
    var repetitions: Int = 1

    func run() async throws {
        let plan: TaskPlan
        do {
            plan = try inputs.prepare(taskDefinition, region: "us-east-1", running: false).plan
        } catch {
            throw reportInputError(error, file: taskDefinition, json: output == .json)
        }
        if repetitions > 1 {
            print(try benchmark())
            return
        }
        if output == .json {
            print("[]")
        } else {
            let names = plan.containers.map { $0.name + ($0.essential ? "" : " (non-essential)") }
            print("\(plan.family):\(plan.revision) valid: \(plan.size), \(plan.containers.count) container\(plan.containers.count == 1 ? "" : "s"): \(names.joined(separator: ", "))")
            for w in plan.warnings { writeOut(2, "fargate-run: warning: \(w)\n") }
            for u in plan.unsupported { writeOut(2, "fargate-run: warning: valid on Fargate, but `run` refuses it here: \(u)\n") }
        }
    }

    /// Reading, checking against the API model and Fargate's rules, from bytes in memory.
    func benchmark() throws -> String {
        guard let data = FileManager.default.contents(atPath: taskDefinition) else { throw ValidationError("cannot read \(taskDefinition)") }
        var issues = 0
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<repetitions {
            issues += try TaskDefinitionLoader.load(data: data).allIssues.count
        }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(repetitions)
        return "\(repetitions) validations of \(taskDefinition) (\(data.count) bytes): \(String(format: "%.1f", ns / 1000)) µs each, \(issues / repetitions) problems each"
    }
}
