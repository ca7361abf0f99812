#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Testing

struct DecodingTests {
    @Test func registerTaskDefinitionInput() throws {
        let json = """
            {"family": "app", "networkMode": "awsvpc", "cpu": "1 vCPU", "memory": "2GB",
             "tags": [{"key": "team", "value": "core"}],
             "containerDefinitions": [{"name": "web", "image": "nginx:1.27", "essential": true,
               "portMappings": [{"containerPort": 80, "protocol": "tcp"}],
               "environment": [{"name": "A", "value": "1"}], "stopTimeout": 10,
               "dependsOn": [{"containerName": "init", "condition": "SUCCESS"}]},
              {"name": "init", "image": "busybox", "essential": false, "command": ["true"]}]}
            """
        let loaded = try TaskDefinitionLoader.load(data: Data(json.utf8))
        let d = loaded.definition
        #expect(d.family == "app")
        #expect(d.networkMode == .awsvpc)
        #expect(loaded.tags?.first?.key == "team")
        #expect(d.containerDefinitions?.count == 2)
        let web = try #require(d.containerDefinitions?.first)
        #expect(web.portMappings?.first?.containerPort == 80)
        #expect(web.portMappings?.first?.protocol == .tcp)
        #expect(web.dependsOn?.first?.condition == .success)
        #expect(web.stopTimeout == 10)
        #expect(TaskDefinitionValidator.size(of: d) == FargateSize(cpu: 1024, memory: 2048))
    }

    @Test func describeTaskDefinitionOutput() throws {
        let json = """
            {"taskDefinition": {"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/app:7",
              "family": "app", "revision": 7, "status": "ACTIVE", "networkMode": "awsvpc",
              "registeredAt": "2024-05-01T10:00:00.123000+00:00", "registeredBy": "arn:aws:iam::123456789012:user/x",
              "compatibilities": ["EC2", "FARGATE"], "requiresAttributes": [{"name": "ecs.capability.task-eni"}],
              "cpu": "256", "memory": "512",
              "containerDefinitions": [{"name": "a", "image": "busybox", "cpu": 0, "essential": true,
                                        "mountPoints": [], "volumesFrom": [], "portMappings": [], "environment": []}]},
             "tags": []}
            """
        let d = try TaskDefinitionLoader.load(data: Data(json.utf8)).definition
        #expect(d.revision == 7)
        #expect(d.status == .active)
        #expect(d.registeredAt?.description == "2024-05-01T10:00:00.123000+00:00")
        #expect(d.taskDefinitionArn?.hasSuffix(":7") == true)
        #expect(TaskDefinitionValidator.validate(d).isEmpty)
    }

    @Test func epochTimestampsFromTheRawAPI() throws {
        let json = #"{"taskDefinition": {"family": "x", "registeredAt": 1714557600.5, "containerDefinitions": []}}"#
        let d = try TaskDefinitionLoader.load(data: Data(json.utf8)).definition
        #expect(d.registeredAt?.date.timeIntervalSince1970 == 1_714_557_600.5)
    }

    /// The digit-by-digit formatter writes what `String(format:)` did, to the microsecond,
    /// and what it writes parses back.
    @Test func timestampsAreFormattedAsPrintfWould() {
        var g = SystemRandomNumberGenerator()
        let fixed: [Double] = [0, 1_704_448_800.25, 1_704_448_799.9999996, 951_782_400.000001, 4_102_444_799.5, 253_402_300_799]
        for t in fixed + (0..<2000).map({ _ in Double.random(in: 0..<4_102_444_800, using: &g) }) {
            // (A Date holds its time from 2001: read back, not `t`.)
            let date = Date(timeIntervalSince1970: t), t = date.timeIntervalSince1970
            var seconds = time_t(floor(t))
            var micros = Int(((t - floor(t)) * 1_000_000).rounded())
            if micros == 1_000_000 { seconds += 1; micros = 0 }
            var tmv = tm()
            gmtime_r(&seconds, &tmv)
            let printf = String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", Int(tmv.tm_year) + 1900, Int(tmv.tm_mon) + 1,
                                Int(tmv.tm_mday), Int(tmv.tm_hour), Int(tmv.tm_min), Int(tmv.tm_sec), micros)
            #expect(ECS.Timestamp.format(date) == printf, "\(t)")
            #expect(abs((ECS.Timestamp.parse(ECS.Timestamp.format(date))?.timeIntervalSince1970 ?? -1) - t) < 0.001, "\(t)")
        }
        #expect(ECS.Timestamp.format(Date(timeIntervalSince1970: 1_704_448_800.25)) == "2024-01-05T10:00:00.250000+00:00")
    }

    @Test func isoTimestampsWithAndWithoutFractionsAndOffsets() {
        #expect(ECS.Timestamp.parse("2024-01-05T10:00:00Z")?.timeIntervalSince1970 == 1_704_448_800)
        #expect(ECS.Timestamp.parse("2024-01-05T10:00:00-08:00")?.timeIntervalSince1970 == 1_704_477_600)
        #expect(ECS.Timestamp.parse("2024-01-05T10:00:00.25+00:00")?.timeIntervalSince1970 == 1_704_448_800.25)
        #expect(ECS.Timestamp.parse("2024-01-05 10:00") == nil)
        #expect(ECS.Timestamp.parse("") == nil)
    }

    @Test func portMappingsNameTheirContainerPorts() {
        #expect(ECS.PortMapping.portRange("8000-8010") == 8000...8010)
        for bad in ["8010-8000", "8000-8000", "0-10", "1-65536", "80", "80-", "-80", "a-b", "1-2-3"] {
            #expect(ECS.PortMapping.portRange(bad) == nil, "\(bad)")
        }
        #expect(ECS.PortMapping(containerPort: 80).containerPorts == 80...80)
        #expect(ECS.PortMapping(containerPortRange: "9000-9002").containerPorts == 9000...9002)
        #expect(ECS.PortMapping().containerPorts == nil)
    }

    @Test func wrongTypeNamesThePathAndTheExpectedType() throws {
        let json = #"{"family": "x", "containerDefinitions": [{"name": "a", "portMappings": [{"containerPort": "80"}]}]}"#
        let loaded = try TaskDefinitionLoader.load(data: Data(json.utf8))
        #expect(loaded.issues == [ValidationIssue("containerDefinitions[0].portMappings[0].containerPort",
                                                  "expected an integer, found the string \"80\"")])
        // The rest of the document is still read, so Fargate's rules can report on it too.
        #expect(loaded.definition.containerDefinitions?.first?.name == "a")
        #expect(loaded.allIssues.contains(ValidationIssue("containerDefinitions[0].image", "required")))
    }

    @Test func describeOutputPathsKeepTheirPrefix() throws {
        let json = #"{"taskDefinition": {"family": "x", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "revision": 3, "containerDefinitions": [{"name": "a", "image": "b", "stopTimeout": 500}]}}"#
        let loaded = try TaskDefinitionLoader.load(data: Data(json.utf8))
        #expect(loaded.allIssues == [ValidationIssue("taskDefinition.containerDefinitions[0].stopTimeout", "500 is out of range: 2 to 120 seconds")])
    }

    @Test func notJSON() throws {
        #expect(throws: TaskDefinitionError.self) { try TaskDefinitionLoader.load(data: Data("{".utf8)) }
        #expect(throws: TaskDefinitionError.self) { try TaskDefinitionLoader.load(data: Data("1".utf8)) }
        #expect(throws: TaskDefinitionError.self) { try TaskDefinitionLoader.load(data: Data("\"family\"".utf8)) }
        // A list is Terraform's container_definitions: its items must be containers.
        let list = try TaskDefinitionLoader.load(data: Data("[1]".utf8))
        #expect(list.allIssues.contains(ValidationIssue("[0]", "expected an object, found the number 1")))
    }

    @Test func missingFileNamesTheFile() {
        #expect {
            try TaskDefinitionLoader.load(file: "/nonexistent/task.json")
        } throws: { error in
            "\(error)".contains("/nonexistent/task.json")
        }
    }
}

struct FargateSizeTests {
    @Test(arguments: [("256", 256), ("1024", 1024), ("1 vCPU", 1024), ("1 vcpu", 1024), ("0.25 vCPU", 256), (".5 vCPU", 512),
                      ("16 vCPU", 16384), (" 2 vCPU ", 2048)])
    func cpuStrings(_ s: String, _ units: Int) {
        #expect(FargateSize.parseCPU(s) == units)
    }

    @Test(arguments: ["", "abc", "0", "-256", "1.5.2 vCPU", "0.3 vCPU", "vCPU"])
    func badCPUStrings(_ s: String) {
        #expect(FargateSize.parseCPU(s) == nil)
    }

    @Test(arguments: [("512", 512), ("2GB", 2048), ("2 GB", 2048), ("0.5 GB", 512), ("30 gb", 30720), ("1024 MiB", 1024)])
    func memoryStrings(_ s: String, _ mib: Int) {
        #expect(FargateSize.parseMemory(s) == mib)
    }

    @Test func allowedCombinations() {
        #expect(FargateSize(cpu: 256, memory: 512).isAllowed)
        #expect(FargateSize(cpu: 256, memory: 2048).isAllowed)
        #expect(!FargateSize(cpu: 256, memory: 3072).isAllowed)
        #expect(FargateSize(cpu: 4096, memory: 30720).isAllowed)
        #expect(!FargateSize(cpu: 8192, memory: 17408).isAllowed, "8 vCPU steps by 4 GB")
        #expect(FargateSize(cpu: 16384, memory: 122_880).isAllowed)
        #expect(!FargateSize(cpu: 128, memory: 512).isAllowed)
        #expect(FargateSize(cpu: 256, memory: 512).description == "0.25 vCPU, 0.5 GB")
    }
}
