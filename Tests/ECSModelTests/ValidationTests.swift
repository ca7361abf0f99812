import ECSModel
import Foundation
import Testing

struct ValidationTests {
    func issues(_ json: String) throws -> [ValidationIssue] {
        TaskDefinitionValidator.validate(try TaskDefinitionLoader.load(data: Data(json.utf8)).definition)
    }

    func task(cpu: String = "256", memory: String = "512", _ containers: String) -> String {
        #"{"family": "t", "networkMode": "awsvpc", "cpu": "\#(cpu)", "memory": "\#(memory)", "containerDefinitions": [\#(containers)]}"#
    }

    @Test func aMinimalTaskIsValid() throws {
        #expect(try issues(task(#"{"name": "a", "image": "busybox"}"#)).isEmpty)
    }

    @Test func everyProblemAtOnceWithItsPath() throws {
        let found = try issues(#"""
            {"family": "bad family", "networkMode": "bridge", "cpu": "256", "memory": "4096",
             "containerDefinitions": [
               {"name": "a", "image": "x", "essential": false, "portMappings": [{"containerPort": 80, "hostPort": 8080}]},
               {"name": "a", "image": "", "essential": false, "stopTimeout": 500, "privileged": true}]}
            """#)
        let paths = Set(found.map(\.path))
        #expect(paths.isSuperset(of: ["family", "networkMode", "memory", "containerDefinitions[0].portMappings[0].hostPort",
                                      "containerDefinitions[1].name", "containerDefinitions[1].image",
                                      "containerDefinitions[1].stopTimeout", "containerDefinitions[1].privileged",
                                      "containerDefinitions"]))
        let hostPort = found.first { $0.path == "containerDefinitions[0].portMappings[0].hostPort" }
        #expect(hostPort?.message == "8080 must be absent or equal to containerPort (80) with awsvpc")
        let memory = found.first { $0.path == "memory" }
        #expect(memory?.message == "4096 MiB is not allowed with cpu 256: allowed 512, 1024, 2048 MiB")
        #expect(found.contains(ValidationIssue("containerDefinitions", "at least one container must be essential")))
    }

    @Test func dependencyProblems() throws {
        let found = try issues(task(#"""
            {"name": "a", "image": "x", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "x", "dependsOn": [{"containerName": "a", "condition": "START"}]},
            {"name": "c", "image": "x", "dependsOn": [{"containerName": "zz", "condition": "START"},
                                                      {"containerName": "a", "condition": "SUCCESS"},
                                                      {"containerName": "c", "condition": "START"},
                                                      {"containerName": "b", "condition": "HEALTHY"}]}
            """#))
        #expect(found.contains(ValidationIssue("containerDefinitions[2].dependsOn[0].containerName", "\"zz\" is not a container of this task")))
        #expect(found.contains(ValidationIssue("containerDefinitions[2].dependsOn[1].condition", "SUCCESS cannot be used on \"a\", which is essential")))
        #expect(found.contains(ValidationIssue("containerDefinitions[2].dependsOn[2].containerName", "a container cannot depend on itself")))
        #expect(found.contains(ValidationIssue("containerDefinitions[2].dependsOn[3].condition", "HEALTHY needs a healthCheck on \"b\"")))
        #expect(found.contains { $0.message.hasPrefix("dependency cycle: ") && $0.message.contains("a -> b -> a") })
    }

    @Test func resourceSums() throws {
        let found = try issues(task(#"{"name": "a", "image": "x", "cpu": 200, "memory": 300}, {"name": "b", "image": "x", "cpu": 100, "memoryReservation": 300}"#))
        #expect(found.contains(ValidationIssue("containerDefinitions", "container cpu adds up to 300, more than the task's 256")))
        #expect(found.contains(ValidationIssue("containerDefinitions", "container memory adds up to 600 MiB, more than the task's 512 MiB")))
    }

    @Test func tooManyContainers() throws {
        let many = (0..<11).map { #"{"name": "c\#($0)", "image": "x"}"# }.joined(separator: ",")
        #expect(try issues(task(many)).contains(ValidationIssue("containerDefinitions", "11 containers: a task may have at most 10")))
    }

    @Test func samePortTwice() throws {
        let found = try issues(task(#"{"name": "a", "image": "x", "portMappings": [{"containerPort": 80}]}, {"name": "b", "image": "x", "portMappings": [{"containerPort": 80}]}"#))
        #expect(found.contains(ValidationIssue("containerDefinitions[1].portMappings[0].containerPort", "tcp/80 is already mapped by containerDefinitions[0].portMappings[0]")))
    }

    @Test func missingSize() throws {
        let found = try issues(#"{"family": "t", "networkMode": "awsvpc", "containerDefinitions": [{"name": "a", "image": "x"}]}"#)
        #expect(found.map(\.path).sorted() == ["cpu", "memory"])
    }
}
