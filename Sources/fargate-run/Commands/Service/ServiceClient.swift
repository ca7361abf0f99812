import ArgumentParser
import ECSModel
import Images
import Foundation
import TaskHost
import TaskRuntime

/// The `service` commands' way to the host: ECS API operations on the root's socket, the same
/// service layer the aws CLI reaches over TCP.
struct ServiceClient {
    let client: HostClient
    let root: StateRoot

    init(_ global: GlobalOptions) throws {
        root = try global.stateRoot()
        client = HostClient(root: root)
    }

    /// Calls `operation` with `request` and decodes its answer. An ECS error is printed as
    /// `fargate-run: CODE: message` and ends the command: status 2 for a request ECS calls
    /// bad (ClientException, InvalidParameterException...), 1 otherwise.
    func call<Response: Decodable>(_ operation: String, _ request: some Encodable, as: Response.Type = Response.self) throws -> Response {
        let answer: (status: Int, body: Data)
        do {
            answer = try client.ecs(operation, try JSONEncoder().encode(request))
        } catch let e as TaskRuntimeError where e.code == .unavailable {
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(runtimeFailureExitCode)
        }
        guard answer.status == 200 else {
            let problem = (try? JSONSerialization.jsonObject(with: answer.body)) as? [String: Any]
            let code = problem?["__type"] as? String ?? "HTTP \(answer.status)"
            writeOut(2, "fargate-run: \(operation): \(code): \(problem?["message"] as? String ?? String(decoding: answer.body, as: UTF8.self))\n")
            let badRequest = ["ClientException", "InvalidParameterException", "SerializationException", "ServiceNotFoundException",
                              "ServiceNotActiveException", "ClusterNotFoundException"]
            throw ExitCode(badRequest.contains(code) ? invalidInputExitCode : 1)
        }
        do {
            return try JSONDecoder().decode(Response.self, from: answer.body)
        } catch {
            writeOut(2, "fargate-run: \(operation): the host's answer could not be read: \(error)\n")
            throw ExitCode(runtimeFailureExitCode)
        }
    }

    /// The service named `name` in `cluster`, described; a missing one ends the command.
    func describe(_ name: String, cluster: String?) throws -> ECS.Service {
        let r: ECS.DescribeServicesResponse = try call("DescribeServices", ECS.DescribeServicesRequest(cluster: cluster, services: [name], include: [ECS.ServiceField(rawValue: "TAGS")]))
        guard let s = r.services?.first else {
            writeOut(2, "fargate-run: no service \(name) in cluster \(cluster ?? "default")\(r.failures?.first?.reason.map { " (\($0))" } ?? "")\n")
            throw ExitCode(1)
        }
        return s
    }

    /// Registers the task definition in `file` (any format `run` reads) and returns its ARN.
    /// Local image paths become absolute: the host resolves them from its own directory.
    func register(_ file: String, definition: DefinitionFlags) throws -> String {
        do {
            // Every problem, with the file's own line numbers, before anything is sent.
            _ = try TaskInputs.prepare(file, definition: definition.options, overrides: nil, secrets: nil, region: "us-east-1", running: false)
        } catch {
            throw reportInputError(error, file: file, json: false)
        }
        let loaded = try TaskDefinitionLoader.load(file: file, options: definition.options)
        var request = try JSONDecoder().decode(ECS.RegisterTaskDefinitionRequest.self, from: JSONEncoder().encode(loaded.definition))
        let cwd = FileManager.default.currentDirectoryPath
        request.containerDefinitions = request.containerDefinitions?.map { c in
            var c = c
            if let image = c.image, let ref = try? ImageReference(parsing: image, relativeTo: cwd), !ref.isRegistry { c.image = ref.description }
            return c
        }
        if request.tags == nil, let tags = loaded.tags, !tags.isEmpty { request.tags = tags }
        let r: ECS.RegisterTaskDefinitionResponse = try call("RegisterTaskDefinition", request)
        return r.taskDefinition?.taskDefinitionArn ?? ""
    }

    /// Waits until the service is steady (its PRIMARY deployment COMPLETED, alone, with every
    /// task running) or its deployment FAILED, at most `timeout` seconds, showing its counts.
    func waitSteady(_ name: String, cluster: String?, timeout: Int) throws {
        let deadline = Date().addingTimeInterval(TimeInterval(timeout))
        let tty = isatty(2) == 1
        var last = ""
        while true {
            let s = try describe(name, cluster: cluster)
            let primary = s.deployments?.first { $0.status == "PRIMARY" }
            let line = "\(name): \(s.runningCount ?? 0)/\(s.desiredCount ?? 0) running, \(s.pendingCount ?? 0) pending, rollout \(primary?.rolloutState?.rawValue ?? "?")"
            if line != last {
                writeOut(2, tty ? "\r\u{1B}[K" + line : line + "\n")
                last = line
            }
            if primary?.rolloutState?.rawValue == "FAILED" {
                writeOut(2, (tty ? "\n" : "") + "fargate-run: \(name): \(primary?.rolloutStateReason ?? "deployment failed")\n")
                throw ExitCode(1)
            }
            if s.deployments?.count == 1, primary?.rolloutState?.rawValue == "COMPLETED", s.runningCount == s.desiredCount {
                if tty { writeOut(2, "\n") }
                return
            }
            guard Date() < deadline else {
                writeOut(2, (tty ? "\n" : "") + "fargate-run: \(name) is not steady after \(timeout) s\n")
                throw ExitCode(1)
            }
            usleep(500_000)
        }
    }
}

extension ImageReference {
    var isRegistry: Bool { if case .registry = self { return true } else { return false } }
}
