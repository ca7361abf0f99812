import ECSModel
import Foundation
import Testing

/// Realistic task definitions of the kinds users run on Fargate (Resources/valid): each must
/// load without a single problem.
struct ValidDefinitionTests {
    static let directory = Bundle.module.bundleURL.appendingPathComponent("Resources/valid")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
    }

    static func load(_ name: String) throws -> LoadedTaskDefinition {
        try TaskDefinitionLoader.load(file: directory.appendingPathComponent(name).path)
    }

    @Test func thereAreEnoughOfThem() {
        #expect(Self.files.count >= 10)
    }

    @Test(arguments: files)
    func isValid(_ name: String) throws {
        let loaded = try Self.load(name)
        #expect(loaded.allIssues == [])
        #expect(TaskDefinitionValidator.size(of: loaded.definition) != nil)
    }

    @Test func sizesAreNormalised() throws {
        #expect(TaskDefinitionValidator.size(of: try Self.load("string-sizes.json").definition) == FargateSize(cpu: 1024, memory: 2048))
        #expect(TaskDefinitionValidator.size(of: try Self.load("udp-port-range.json").definition) == FargateSize(cpu: 2048, memory: 8192))
        #expect(TaskDefinitionValidator.size(of: try Self.load("largest-size.json").definition) == FargateSize(cpu: 16384, memory: 122_880))
        #expect(TaskDefinitionValidator.size(of: try Self.load("smallest-size.json").definition) == FargateSize(cpu: 256, memory: 512))
    }

    @Test func describeOutputKeepsItsReadOnlyMembers() throws {
        let loaded = try Self.load("describe-output.json")
        let d = loaded.definition
        #expect(loaded.format == .describeOutput)
        #expect(loaded.locate("containerDefinitions[0].image") == "taskDefinition.containerDefinitions[0].image")
        #expect(loaded.locate("tags[0].key") == "tags[0].key")
        #expect(d.revision == 42)
        #expect(d.status?.rawValue == "ACTIVE")
        #expect(d.compatibilities?.map(\.rawValue) == ["EC2", "FARGATE"])
        #expect(d.requiresAttributes?.count == 4)
        #expect(d.registeredAt?.description == "2026-10-02T07:14:07.512000+00:00")
        #expect(loaded.tags?.first?.value == "checkout")
    }

    @Test func everyMemberSurvivesDecoding() throws {
        let d = try Self.load("app-with-proxy-and-migration.json").definition
        #expect(d.proxyConfiguration?.properties?.count == 5)
        let app = try #require(d.containerDefinitions?[1])
        #expect(app.dependsOn?.map(\.condition?.rawValue) == ["SUCCESS", "HEALTHY"])
        #expect(app.portMappings?.first?.appProtocol?.rawValue == "http")
        #expect(app.secrets?.first?.valueFrom?.hasSuffix(":url::") == true)
        let envoy = try #require(d.containerDefinitions?[2])
        #expect(envoy.healthCheck?.startPeriod == 10)
        #expect(envoy.ulimits?.first?.name?.rawValue == "nofile")
        let arm = try Self.load("arm64-graviton.json").definition
        #expect(arm.runtimePlatform?.cpuArchitecture?.rawValue == "ARM64")
        #expect(arm.containerDefinitions?.first?.linuxParameters?.tmpfs?.first?.mountOptions == ["noexec", "nosuid"])
    }
}
