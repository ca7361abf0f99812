import ECSModel
import Foundation
import Testing

/// Task definitions in the shapes real files have (Resources/corpus): deploy pipelines'
/// describe output, console exports, CodeDeploy's taskdef.json, sidecar-heavy services,
/// CloudFormation and CDK templates in JSON and YAML, Terraform's container_definitions and
/// `terraform show -json`. `expected.json` gives each file's outcome on ECS for Fargate, with
/// the flags a user would pass (`options`): valid, or refused with these paths and messages;
/// fargate-run must agree on every one.
struct CorpusTests {
    static let directory = Bundle.module.bundleURL.appendingPathComponent("Resources/corpus")

    struct Entry: Decodable {
        /// What ECS does with the file, in words.
        var ecs: String
        var cases: [Case]
    }

    struct Case: Decodable {
        var options: Options?
        /// Every error expected: path → a part of its message. Absent: valid.
        var errors: [String: String]?
        /// Warnings that must be among those given: path → a part of the message.
        var warnings: [String: String]?
        /// Nothing can be read without more flags: a part of the message.
        var refused: String?
        var family: String?
        var taskRoleArn: String?
    }

    struct Options: Decodable {
        var resource: String?
        var parameters: [String: String]?
        var family, cpu, memory, networkMode, executionRoleArn, taskRoleArn: String?

        var loader: TaskDefinitionLoader.Options {
            TaskDefinitionLoader.Options(resource: resource, parameters: parameters ?? [:], family: family, cpu: cpu, memory: memory,
                                         networkMode: networkMode, executionRoleArn: executionRoleArn, taskRoleArn: taskRoleArn)
        }
    }

    static let expected: [String: Entry] = {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent("expected.json").path) else { return [:] }
        return (try? JSONDecoder().decode([String: Entry].self, from: data)) ?? [:]
    }()

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0 != "expected.json" }.sorted()
    }

    @Test func everyFileHasItsOutcome() {
        #expect(Self.files.count >= 40)
        #expect(Set(Self.files) == Set(Self.expected.keys))
        let formats = Set(Self.files.compactMap { try? TaskDefinitionLoader.load(file: Self.directory.appendingPathComponent($0).path).format })
        #expect(formats == Set(TaskDefinitionFormat.allCases), "every shape is in the corpus")
    }

    @Test(arguments: files)
    func fargateRunAgreesWithECS(_ name: String) throws {
        let entry = try #require(Self.expected[name], "\(name) has no outcome in expected.json")
        let path = Self.directory.appendingPathComponent(name).path
        for (n, c) in entry.cases.enumerated() {
            let label = "\(name) case \(n) (ECS: \(entry.ecs))"
            let loaded: LoadedTaskDefinition
            do {
                loaded = try TaskDefinitionLoader.load(file: path, options: c.options?.loader ?? .init())
            } catch let e as TaskDefinitionError {
                let refused = try #require(c.refused, "\(label): refused: \(e)")
                #expect(e.issues.contains { $0.message.contains(refused) }, "\(label): \(e)")
                continue
            }
            #expect(c.refused == nil, "\(label): read, though expected to be refused")
            let (errors, warnings) = loaded.checked
            let expectedErrors = c.errors ?? [:]
            #expect(Set(errors.map(\.path)) == Set(expectedErrors.keys), "\(label): \(errors)")
            for (p, message) in expectedErrors {
                #expect(errors.contains { $0.path == p && $0.message.contains(message) }, "\(label): \(p): \(message) not in \(errors)")
            }
            for (p, message) in c.warnings ?? [:] {
                #expect(warnings.contains { $0.path == p && $0.message.contains(message) }, "\(label): warning \(p): \(message) not in \(warnings)")
            }
            #expect(warnings.allSatisfy { !$0.isError })
            if let family = c.family { #expect(loaded.definition.family == family, "\(label)") }
            if let role = c.taskRoleArn { #expect(loaded.definition.taskRoleArn == role, "\(label)") }
            if expectedErrors.isEmpty { #expect(TaskDefinitionValidator.size(of: loaded.definition) != nil, "\(label)") }
        }
    }
}
