import ECSModel
import Foundation
import Testing

struct OverridesTests {
    static let definition = #"""
        {"family": "app", "networkMode": "awsvpc", "cpu": "256", "memory": "512",
         "containerDefinitions": [
           {"name": "web", "image": "busybox", "command": ["httpd", "-f"], "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
           {"name": "worker", "image": "busybox", "essential": false, "cpu": 64}]}
        """#

    func overridden(_ overrides: String) throws -> LoadedTaskDefinition {
        var loaded = try TaskDefinitionLoader.load(data: Data(Self.definition.utf8))
        let (o, issues) = TaskOverrides.parse(overrides)
        TaskOverrides.apply(o, issues: issues, to: &loaded)
        return loaded
    }

    @Test func replacesAndMergesAsRunTaskDoes() throws {
        let loaded = try overridden(#"""
            {"cpu": "512", "memory": "1024", "containerOverrides": [
              {"name": "web", "command": ["sh", "-c", "echo hi"], "environment": [{"name": "B", "value": "override"}, {"name": "C", "value": "3"}]},
              {"name": "worker", "cpu": 128, "memoryReservation": 64, "environmentFiles": [{"value": "w.env", "type": "s3"}]}]}
            """#)
        #expect(loaded.allIssues == [])
        let d = loaded.definition
        #expect(d.cpu == "512" && d.memory == "1024")
        let web = try #require(d.containerDefinitions?[0])
        #expect(web.command == ["sh", "-c", "echo hi"])
        #expect(web.environment?.map { "\($0.name!)=\($0.value!)" } == ["A=1", "B=override", "C=3"])
        let worker = try #require(d.containerDefinitions?[1])
        #expect(worker.cpu == 128 && worker.memoryReservation == 64)
        #expect(worker.environmentFiles?.first?.value == "w.env")
    }

    @Test func theRunTaskMemberIsUnwrapped() throws {
        let loaded = try overridden(#"{"overrides": {"containerOverrides": [{"name": "web", "command": ["true"]}]}}"#)
        #expect(loaded.definition.containerDefinitions?[0].command == ["true"])
    }

    @Test func problemsAreReportedAtTheOverride() throws {
        let loaded = try overridden(#"""
            {"cpu": "1024", "containerOverrides": [
              {"name": "wbe", "cpu": 1}, {"command": ["x"]}, {"name": "nginx"}, {"name": "worker", "memory": 4096, "environment": [{"value": "no name"}]},
              {"name": "worker", "cpu": 2}], "memroy": "2048", "inferenceAcceleratorOverrides": [{"deviceName": "d"}]}
            """#)
        #expect(loaded.allIssues == [
            ValidationIssue("overrides.memroy", "unknown member: did you mean \"memory\"?"),
            ValidationIssue("overrides.inferenceAcceleratorOverrides", "not supported on Fargate"),
            ValidationIssue("overrides.containerOverrides[0].name", "\"wbe\" is not a container of this task (did you mean \"web\"?)"),
            ValidationIssue("overrides.containerOverrides[1].name", "required: the container the override is for"),
            ValidationIssue("overrides.containerOverrides[2].name", "\"nginx\" is not a container of this task (its containers: web, worker)"),
            ValidationIssue("overrides.containerOverrides[3].environment[0].name", "required"),
            ValidationIssue("overrides.containerOverrides[4].name", "\"worker\" is already overridden by overrides.containerOverrides[3]"),
            // The task's own memory no longer fits the overridden cpu.
            ValidationIssue("memory", "512 MiB is not allowed with cpu 1024: allowed 2048 to 8192 MiB in steps of 1024"),
            ValidationIssue("overrides.containerOverrides[3].memory", "4096 MiB exceeds the task's 512 MiB"),
        ])
    }

    @Test func runTasksLengthLimit() {
        let long = #"{"containerOverrides": [{"name": "web", "command": ["\#(String(repeating: "x", count: 9000))"]}]}"#
        #expect(TaskOverrides.parse(long).1 == [ValidationIssue("overrides", "\(long.count) characters: RunTask takes at most 8192")])
    }

    @Test func notJSON() {
        #expect(TaskOverrides.parse("{").1.first?.message.hasPrefix("invalid JSON at line 1") == true)
    }
}
