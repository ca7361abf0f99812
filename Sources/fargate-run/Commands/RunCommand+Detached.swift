#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import ECSModel
import Foundation
import TaskHost
import TaskRuntime

/// `run -d`: the task is run by the root's host, so it outlives this command.
extension RunRequest {
    func executeDetached() throws {
        let root: StateRoot
        do { root = try StateRoot(path: StateRoot.resolve(self.root)) } catch {
            writeOut(2, "fargate-run: state root: \(error)\n")
            throw ExitCode(runtimeFailureExitCode)
        }
        // The host checks the inputs; they are checked here only when it refused them or none
        // answered, to give the same errors, with their paths, as a foreground run gives
        // (reading them took about 1.7 ms of the command's own 11 ms of CPU).
        let checkLocally = { [self] in
            do {
                _ = try TaskInputs.prepare(taskDefinition, definition: definition, overrides: overrides, secrets: secrets, region: "us-east-1",
                                           running: true)
            } catch {
                throw reportInputError(error, file: taskDefinition, json: output == .json)
            }
        }
        let cwd = FileManager.default.currentDirectoryPath
        let absolute = { (p: String) in p.hasPrefix("/") ? p : cwd + "/" + p }
        let request = TaskHost.RunRequest(definitionPath: absolute(taskDefinition), overrides: overrides,
                                          secretsPath: secrets.map(absolute), workingDirectory: cwd, count: count,
                                          definitionOptions: definition, removeWhenStopped: remove ? true : nil)
        // Printing ids needs only a few members of each task (decoding whole ones is most of
        // this command's time); JSON output prints them whole.
        let tasks: [ControlAPI.TaskSummary]
        var described: [ECS.Task] = []
        do {
            if output == .json {
                described = try HostClient(root: root).run(request).tasks
                tasks = described.map(ControlAPI.TaskSummary.init)
            } else {
                tasks = try HostClient(root: root).runOutcome(request).tasks
            }
        } catch let e as TaskRuntimeError where e.code == .unavailable {
            try checkLocally()
            writeOut(2, "fargate-run: \(e)\n")
            throw ExitCode(runtimeFailureExitCode)
        } catch let p as ControlAPI.Problem {
            let invalid = p.code == "InvalidTaskDefinition" || p.code == "InvalidInput"
            if invalid { try checkLocally() }
            writeOut(2, "fargate-run: \(p.message)\n")
            throw ExitCode(invalid ? invalidInputExitCode : runtimeFailureExitCode)
        } catch {
            // (The host went away mid-request: a definition it would have refused is still
            // reported as such.)
            try checkLocally()
            throw error
        }
        if network != NetworkSettings() || endpoint != EndpointSettings() || registry != RegistrySettings() || cgroupParent != nil || prices != nil
            || pidsLimit != 4096 {
            writeOut(2, "fargate-run: warning: with -d, the network, endpoint, registry, cgroup, price and pids settings are the host's (give them to fargate-run serve)\n")
        }
        if output == .json {
            struct Described: Encodable { var tasks: [ECS.Task]; var failures: [String] = [] }
            writeOut(1, try JSONOutput.text(Described(tasks: described)))
        } else {
            for t in tasks { writeOut(1, ARN.resourceId(t.taskArn ?? "") + "\n") }
        }
        // A task that stopped before it ran exits as a foreground run would have.
        let store = TaskStore(root: root)
        for t in tasks where t.lastStatus == TaskStatus.stopped.rawValue {
            let state = try? store.state(ARN.resourceId(t.taskArn ?? ""))
            if let why = t.stoppedReason { writeOut(2, "fargate-run: task \(ARN.resourceId(t.taskArn ?? "").prefix(12)) stopped: \(why)\n") }
            if let code = state?.lifecycle?.exitCode, code != 0 { throw ExitCode(code) }
        }
    }
}
