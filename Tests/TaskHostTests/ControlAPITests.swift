import Foundation
import HTTPServing
import Metering
@testable import TaskHost
import TaskRuntime
import TestSupport
import Testing

/// The host's API routing and errors, without a socket and without root: requests the CLI
/// would never send get the right status and code, and change nothing.
struct ControlAPITests {
    func api(_ dir: TemporaryDirectory) throws -> ControlAPI {
        let root = try StateRoot(path: dir.path + "/root")
        return ControlAPI(host: try TaskHost(base: RunConfiguration(root: root), logger: .init(label: "test")))
    }

    func request(_ method: String, _ path: String, _ body: String = "") -> HTTPRequest {
        HTTPRequest(method: method, path: path, query: [:], headers: [:], body: Array(body.utf8), peer: nil, local: nil)
    }

    func problem(_ r: HTTPResponse) throws -> ControlAPI.Problem {
        try JSONDecoder().decode(ControlAPI.Problem.self, from: Data(r.body))
    }

    @Test func answersWithItsInfo() async throws {
        let dir = try TemporaryDirectory("fr-api")
        defer { dir.remove() }
        let r = await (try api(dir)).handle(request("GET", "/v1/host"))
        #expect(r.status == 200)
        let info = try JSONDecoder().decode(ControlAPI.HostInfo.self, from: Data(r.body))
        #expect(info.pid == getpid() && info.tasks == 0 && info.root.hasSuffix("/root"))
    }

    @Test func badRequestsGetTheirStatusAndCode() async throws {
        let dir = try TemporaryDirectory("fr-api")
        defer { dir.remove() }
        let api = try api(dir)
        let cases: [(String, String, String, Int, String)] = [
            ("POST", "/v1/tasks", "{", 400, "BadRequest"),
            ("POST", "/v1/tasks", #"{"definitionPath": [], "workingDirectory": "/", "count": 1}"#, 400, "BadRequest"),
            ("POST", "/v1/tasks", #"{"definitionPath": "\#(dir.path)/none.json", "workingDirectory": "/", "count": 1}"#, 400, "InvalidTaskDefinition"),
            ("POST", "/v1/tasks", #"{"definitionPath": "x.json", "workingDirectory": "/", "count": 0}"#, 409, "invalidState"),
            ("POST", "/v1/tasks/0123/stop", "", 404, "notFound"),
            ("GET", "/v1/tasks/0123/wait", "", 404, "notFound"),
            ("PUT", "/v1/tasks", "", 404, "NotFound"),
            ("GET", "/", "", 404, "NotFound"),
        ]
        for (method, path, body, status, code) in cases {
            let r = await api.handle(request(method, path, body))
            #expect(r.status == status, "\(method) \(path)")
            #expect(try problem(r).code == code, "\(method) \(path): \(String(decoding: r.body, as: UTF8.self))")
        }
        #expect(TaskStore(root: try StateRoot(path: dir.path + "/root")).ids().isEmpty, "nothing was made")
        #expect(await api.host.taskIds.isEmpty)
    }
}
