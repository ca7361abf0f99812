import ECSModel
import Foundation
import Testing

/// Measures that the Swift model covers every member of the ECS API model's task-definition
/// shapes, by reading the API model (the full botocore file when present beside the
/// repository, else the extract committed with the tests) and reflecting on our types.
struct ModelCoverageTests {
    static func shapes() throws -> [String: [String: Any]] {
        let full = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../../shared/ecs-model/service-2.json").standardized
        if let data = FileManager.default.contents(atPath: full.path),
           let model = try JSONSerialization.jsonObject(with: data) as? [String: Any],
           let shapes = model["shapes"] as? [String: [String: Any]] {
            return shapes
        }
        let url = try #require(Bundle.module.url(forResource: "Resources/ecs-shapes", withExtension: "json"))
        let extract = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return extract["shapes"] as! [String: [String: Any]]
    }

    static func members(_ shape: [String: Any]) -> [String] {
        (shape["members"] as? [String: Any]).map { Array($0.keys) } ?? []
    }

    /// Our stored property names for a value (nil-valued optionals still appear in a Mirror).
    static func properties(_ value: Any) -> Set<String> {
        Set(Mirror(reflecting: value).children.compactMap(\.label))
    }

    static let types: [(String, any Sendable)] = [
        ("RegisterTaskDefinitionRequest", ECS.RegisterTaskDefinitionRequest()),
        ("TaskDefinition", ECS.TaskDefinition()),
        ("ContainerDefinition", ECS.ContainerDefinition()),
        ("PortMapping", ECS.PortMapping()),
        ("LinuxParameters", ECS.LinuxParameters()),
        ("HealthCheck", ECS.HealthCheck()),
        ("LogConfiguration", ECS.LogConfiguration()),
        ("Volume", ECS.Volume()),
        ("EFSVolumeConfiguration", ECS.EFSVolumeConfiguration()),
        ("ContainerRestartPolicy", ECS.ContainerRestartPolicy()),
        ("TaskOverride", ECS.TaskOverride()),
        ("ContainerOverride", ECS.ContainerOverride()),
        ("Task", ECS.Task()),
        ("Container", ECS.Container()),
    ]

    @Test(arguments: types.map(\.0))
    func everyMemberOfTheAPIModelIsInOurType(_ name: String) throws {
        let shapes = try Self.shapes()
        let shape = try #require(shapes[name])
        let ours = Self.properties(Self.types.first { $0.0 == name }!.1)
        let missing = Set(Self.members(shape)).subtracting(ours)
        #expect(missing.isEmpty, "\(name) lacks \(missing.sorted())")
        let extra = ours.subtracting(Self.members(shape))
        #expect(extra.isEmpty, "\(name) has members the API does not: \(extra.sorted())")
    }

    @Test func everyStructureReachableFromTheTaskDefinitionIsGenerated() throws {
        let shapes = try Self.shapes()
        var seen = Set<String>()
        func walk(_ n: String) {
            guard seen.insert(n).inserted, let s = shapes[n] else { return }
            switch s["type"] as? String {
            case "structure": for v in (s["members"] as? [String: Any] ?? [:]).values { walk(((v as? [String: Any])?["shape"] as? String) ?? (v as? String) ?? "") }
            case "list": walk(((s["member"] as? [String: Any])?["shape"] as? String) ?? (s["member"] as? String) ?? "")
            case "map": walk(((s["value"] as? [String: Any])?["shape"] as? String) ?? (s["value"] as? String) ?? "")
            default: break
            }
        }
        walk("RegisterTaskDefinitionRequest")
        walk("TaskDefinition")
        let structures = seen.filter { shapes[$0]?["type"] as? String == "structure" }
        for s in structures {
            guard case .structure(let members, _)? = ECSSchema.shapes[s] else {
                Issue.record("\(s) is not in the generated schema")
                continue
            }
            #expect(Set(members.map(\.0)) == Set(Self.members(shapes[s]!)), "\(s) members differ")
        }
        #expect(structures.count >= 38, "the task definition reaches 38 structures in the 2014-11-13 API model")
    }

    /// Docs/TASK-DEFINITION.md says what each member does here: every member of the task,
    /// container, volume and linuxParameters shapes (and describe's read-only ones) is named.
    @Test func theDocumentationCoversEveryMember() throws {
        let doc = try String(contentsOfFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Docs/TASK-DEFINITION.md").standardized.path, encoding: .utf8)
        let shapes = try Self.shapes()
        var missing: [String] = []
        for shape in ["RegisterTaskDefinitionRequest", "TaskDefinition", "ContainerDefinition", "Volume", "LinuxParameters"] {
            for m in Self.members(try #require(shapes[shape])) where !doc.contains("`\(m)") && !doc.contains(".\(m)`") {
                missing.append("\(shape).\(m)")
            }
        }
        #expect(missing.isEmpty, "not in Docs/TASK-DEFINITION.md: \(missing.sorted())")
    }
}
