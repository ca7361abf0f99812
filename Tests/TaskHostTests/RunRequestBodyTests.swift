import ECSModel
import Foundation
@testable import TaskHost
import Testing

/// `run -d` writes its request without `JSONEncoder` (`RunRequest.cliBody`): the host must
/// read from it exactly the request `JSONEncoder` would have sent.
struct RunRequestBodyTests {
    static let awkward = "a \"quoted\" \\ back\\slash\nnew line\ttab\r\u{1}\u{1f} é 🚀 </script>"

    static let requests: [TaskHost.RunRequest] = [
        TaskHost.RunRequest(definitionPath: "/t/task.json", workingDirectory: "/t"),
        TaskHost.RunRequest(definitionPath: "task.json", overrides: #"{"containerOverrides": []}"#, secretsPath: "/s/" + awkward,
                            workingDirectory: "/w d/" + awkward, count: 10,
                            definitionOptions: TaskDefinitionLoader.Options(resource: "Api", parameters: ["B": awkward, "A": "1", "": "=x"],
                                                                            family: "f", cpu: "256", memory: "512", networkMode: "awsvpc",
                                                                            executionRoleArn: "arn:aws:iam::1:role/e", taskRoleArn: "arn:aws:iam::1:role/t",
                                                                            region: "eu-west-1"),
                            removeWhenStopped: true),
        TaskHost.RunRequest(definitionPath: "t.json", workingDirectory: "/", definitionOptions: TaskDefinitionLoader.Options(), removeWhenStopped: false),
    ]

    func sorted(_ r: TaskHost.RunRequest) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(r), as: UTF8.self)
    }

    @Test(arguments: requests)
    func theHostReadsWhatJSONEncoderWouldHaveSent(_ request: TaskHost.RunRequest) throws {
        let body = try #require(request.cliBody)
        let read = try JSONDecoder().decode(TaskHost.RunRequest.self, from: Data(body))
        #expect(try sorted(read) == sorted(request), "\(String(decoding: body, as: UTF8.self))")
        // And the text is JSON as any parser reads it.
        #expect(try JSONSerialization.jsonObject(with: Data(body)) is [String: Any])
    }

    @Test func aRequestWithAnyOtherMemberIsLeftToJSONEncoder() {
        let base = TaskHost.RunRequest(definitionPath: "/t.json", workingDirectory: "/")
        var others: [TaskHost.RunRequest] = []
        for change in [{ (r: inout TaskHost.RunRequest) in r.cluster = "c" }, { $0.startedBy = "s" }, { $0.group = "g" }, { $0.tags = [] },
                       { $0.definition = ECS.TaskDefinition() }, { $0.account = "1" }, { $0.securityGroups = [] },
                       { $0.waitUntilStarted = true }, { $0.capacityProvider = "FARGATE_SPOT" }, { $0.publishPorts = true }] {
            var r = base
            change(&r)
            others.append(r)
        }
        #expect(base.cliBody != nil)
        #expect(others.allSatisfy { $0.cliBody == nil })
    }

    /// A member added to the request (or to the definition options) fails this until
    /// `cliBody` writes it or leaves such requests to `JSONEncoder`.
    @Test func knowsEveryMemberOfTheRequest() {
        let request = TaskHost.RunRequest(definitionPath: "", workingDirectory: "")
        #expect(Mirror(reflecting: request).children.compactMap(\.label) == [
            "definitionPath", "overrides", "secretsPath", "workingDirectory", "count", "cluster", "startedBy", "group", "tags",
            "definitionOptions", "definition", "account", "securityGroups", "waitUntilStarted", "capacityProvider", "publishPorts",
            "removeWhenStopped",
        ])
        #expect(Mirror(reflecting: TaskDefinitionLoader.Options()).children.compactMap(\.label) == [
            "resource", "parameters", "family", "cpu", "memory", "networkMode", "executionRoleArn", "taskRoleArn", "region",
        ])
    }
}
