#if canImport(Glibc)
import Glibc
#endif
import ECSModel
import Foundation
import Images
import LinuxSupport
import TaskRuntime
import TestSupport
import Testing

struct ProcessResolutionTests {
    func image(entrypoint: [String]? = nil, cmd: [String]? = nil, env: [String]? = nil, stop: String? = nil) -> ImageConfig.RuntimeConfig {
        var c = ImageConfig.RuntimeConfig()
        c.Entrypoint = entrypoint
        c.Cmd = cmd
        c.Env = env
        c.StopSignal = stop
        return c
    }

    @Test func commandReplacesCmdAndKeepsEntrypoint() {
        let img = image(entrypoint: ["/entry"], cmd: ["default"])
        #expect(ProcessResolution.arguments(definition: .init(), image: img) == ["/entry", "default"])
        #expect(ProcessResolution.arguments(definition: .init(command: ["x"]), image: img) == ["/entry", "x"])
    }

    @Test func entryPointDropsTheImagesCmd() {
        let img = image(entrypoint: ["/entry"], cmd: ["default"])
        #expect(ProcessResolution.arguments(definition: .init(entryPoint: ["sh"]), image: img) == ["sh"])
        #expect(ProcessResolution.arguments(definition: .init(entryPoint: ["sh"], command: ["-c", "x"]), image: img) == ["sh", "-c", "x"])
    }

    @Test func environmentMergesByName() {
        let img = image(env: ["PATH=/bin", "A=image", "B=image"])
        let env = ProcessResolution.environment(definition: .init(environment: [.init(name: "A", value: "task"), .init(name: "C", value: "")]),
                                                image: img, extra: [("HOSTNAME", "h")])
        #expect(env == ["PATH=/bin", "A=task", "B=image", "C=", "HOSTNAME=h"])
        #expect(ProcessResolution.environment(definition: .init(), image: nil).first?.hasPrefix("PATH=/usr/local/sbin") == true)
    }

    @Test func stopSignalFromTheImage() {
        #expect(ProcessResolution.stopSignal(nil) == SIGTERM)
        #expect(ProcessResolution.stopSignal(image(stop: "SIGQUIT")) == SIGQUIT)
        #expect(ProcessResolution.stopSignal(image(stop: "USR1")) == SIGUSR1)
        #expect(ProcessResolution.stopSignal(image(stop: "9")) == SIGKILL)
        #expect(ProcessResolution.stopSignal(image(stop: "bogus")) == SIGTERM)
    }

    @Test func planAppliesDefaults() throws {
        let json = #"{"family": "f", "networkMode": "awsvpc", "cpu": "0.5 vCPU", "memory": "1 GB", "containerDefinitions": [{"name": "a", "image": "x"}, {"name": "b", "image": "y", "essential": false, "stopTimeout": 5}]}"#
        let plan = try TaskPlan(try TaskDefinitionLoader.load(data: Data(json.utf8)), region: "us-east-1", account: "1")
        #expect(plan.size == FargateSize(cpu: 512, memory: 1024))
        #expect(plan.revision == 1)
        #expect(plan.taskDefinitionArn == "arn:aws:ecs:us-east-1:1:task-definition/f:1")
        #expect(plan.containers.map(\.essential) == [true, false])
        #expect(plan.containers.map(\.stopTimeout) == [30, 5])
        #expect(plan.ephemeralStorageGiB == 20)
    }

    @Test func invalidDefinitionsStopThePlan() {
        let json = #"{"family": "f", "containerDefinitions": []}"#
        #expect(throws: TaskDefinitionError.self) { try TaskPlan(try TaskDefinitionLoader.load(data: Data(json.utf8)), region: "r", account: "1") }
    }
}

struct ImageUserTests {
    func layers() throws -> (TemporaryDirectory, [String]) {
        let dir = try TemporaryDirectory()
        let lower = dir.path + "/l0", upper = dir.path + "/l1"
        try FileSystem.makeDirectories(lower + "/etc")
        try FileSystem.makeDirectories(upper + "/etc")
        try FileSystem.writeAtomically(lower + "/etc/passwd", Array("root:x:0:0::/root:/bin/sh\nold:x:5:5::/:/bin/sh\n".utf8))
        try FileSystem.writeAtomically(upper + "/etc/passwd", Array("root:x:0:0::/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n".utf8))
        try FileSystem.writeAtomically(upper + "/etc/group", Array("root:x:0:\napp:x:1000:\nstaff:x:50:app,other\nvideo:x:44:app\n".utf8))
        return (dir, [lower, upper])
    }

    @Test func namesAndNumbers() throws {
        let (dir, l) = try layers()
        defer { dir.remove() }
        #expect(try ImageUser.resolve(nil, layers: l).uid == 0)
        let app = try ImageUser.resolve("app", layers: l)
        #expect(app.uid == 1000 && app.gid == 1000 && app.additionalGids == [1000, 50, 44], "primary group first, as runc")
        #expect(try ImageUser.resolve("1000:50", layers: l).gid == 50)
        #expect(try ImageUser.resolve("app:staff", layers: l).gid == 50)
        #expect(try ImageUser.resolve("4242", layers: l).uid == 4242, "a numeric uid need not exist")
        #expect(try ImageUser.resolve("4242", layers: l).gid == 0)
        #expect(throws: ImageUser.ResolutionError.self) { try ImageUser.resolve("old", layers: l) }
        #expect(throws: ImageUser.ResolutionError.self) { try ImageUser.resolve("app:nogroup", layers: l) }
    }

    @Test(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason)) func whiteoutHidesLowerPasswd() throws {
        let (dir, l) = try layers()
        defer { dir.remove() }
        unlink(l[1] + "/etc/passwd")
        #expect(mknod(l[1] + "/etc/passwd", S_IFCHR, 0) == 0)
        #expect(throws: ImageUser.ResolutionError.self) { try ImageUser.resolve("old", layers: l) }
        #expect(try ImageUser.resolve("root", layers: l).uid == 0)
    }
}
