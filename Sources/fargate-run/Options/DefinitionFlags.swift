import ArgumentParser
import ECSModel

/// What a task definition file may leave unsaid: which of a template's or a state's task
/// definitions, CloudFormation parameters, and the task members a Terraform
/// container_definitions list has no place for. Local choices, never invented defaults.
struct DefinitionFlags: ParsableArguments {
    @Option(name: .long, help: "The task definition to read when the file holds several: a CloudFormation logical id or a Terraform address.")
    var resource: String?

    @Option(name: .customLong("parameter"), help: ArgumentHelp("A CloudFormation value as NAME=VALUE (repeatable): a template parameter, a pseudo-parameter (AWS::AccountId, AWS::StackName...), a resource's Ref (LOGICAL_ID=...) or attribute (LOGICAL_ID.Arn=...), an export's name.", valueName: "name=value"))
    var parameters: [String] = []

    @Option(name: .long, help: "The task's family, for a file that gives none (a Terraform container_definitions list, a template without Family).")
    var family: String?

    @Option(name: .long, help: "The task's cpu (\"256\", \"1 vCPU\"), for a file that gives none. --overrides changes a file's own.")
    var cpu: String?

    @Option(name: .long, help: "The task's memory (\"512\", \"2 GB\"), for a file that gives none. --overrides changes a file's own.")
    var memory: String?

    @Option(name: .long, help: "The task's networkMode (awsvpc on Fargate), for a file that gives none.")
    var networkMode: String?

    @Option(name: .long, help: "The task's executionRoleArn, for a file that gives none.")
    var executionRoleArn: String?

    @Option(name: .long, help: "The task's taskRoleArn, for a file that gives none.")
    var taskRoleArn: String?

    func validate() throws {
        _ = try DefinitionFlags.parameters(parameters)
    }

    /// `NAME=VALUE` pairs by name; a name given twice keeps its last value, as flags do.
    static func parameters(_ pairs: [String]) throws -> [String: String] {
        var out: [String: String] = [:]
        for p in pairs {
            guard let eq = p.firstIndex(of: "="), eq != p.startIndex else {
                throw ValidationError("--parameter \(p): expected NAME=VALUE")
            }
            out[String(p[..<eq])] = String(p[p.index(after: eq)...])
        }
        return out
    }

    var options: TaskDefinitionLoader.Options {
        TaskDefinitionLoader.Options(resource: resource, parameters: (try? DefinitionFlags.parameters(parameters)) ?? [:], family: family,
                                     cpu: cpu, memory: memory, networkMode: networkMode, executionRoleArn: executionRoleArn,
                                     taskRoleArn: taskRoleArn)
    }
}
