#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// Tasks whose images come from a real registry (Debian's docker-registry on 127.0.0.1).
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct RegistryTaskTests {
    func task(_ h: Harness, image: String) throws -> String {
        try h.task(#"{"family": "pulled", "networkMode": "awsvpc", "cpu": "256", "memory": "512", "containerDefinitions": [{"name": "app", "image": "\#(image)", "command": ["sh", "-c", "echo pulled and running"]}]}"#, name: "pulled-\(UInt16.random(in: 0...UInt16.max)).json")
    }

    /// Local images are resolved while the network attaches; a registry is asked only once it
    /// is attached, as on ECS (the pull comes after the ENI), so a task whose network fails
    /// pulls nothing.
    @Test func theRegistryIsAskedOnlyOnceTheNetworkIsAttached() throws {
        let reg = try TestRegistry(auth: .none)
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "apps/busybox:order")
        let h = try Harness()
        defer { h.cleanup() }
        let t = try task(h, image: "\(reg.host)/apps/busybox:order")
        // Phase marks and status lines share stderr, in the order they happened.
        let r = try run("/usr/bin/env", ["FARGATE_RUN_TIMING=1", fargateRunBinary] + h.withRoot([t]))
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stderr.split(separator: "\n")
        let attached = lines.firstIndex { $0.hasSuffix("ms network attached") }
        let asked = lines.firstIndex { $0.contains("preparing image \(reg.host)/apps/busybox:order") }
        #expect(attached != nil && asked != nil && attached! < asked!, "\(r.stderr)")
    }

    @Test func aTaskRunsFromARegistryImageAndRecordsItsDigest() throws {
        let reg = try TestRegistry(auth: .basic(user: "ci", password: "pw"))
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "apps/busybox:1.0")
        let h = try Harness()
        defer { h.cleanup() }
        let r = try h.fargateRun(["--registry-auth", "\(reg.host)=ci:pw", "--output", "json", try task(h, image: "\(reg.host)/apps/busybox:1.0")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("app | pulled and running"))
        let t = try firstTask(r.stdout)
        #expect(try container(t, "app")["imageDigest"] as? String == (try TestImages.digest("manifest", in: try TestImages.busybox())))
        let pullStart = try #require(t["pullStartedAt"] as? String), pullStop = try #require(t["pullStoppedAt"] as? String)
        #expect(pullStart <= pullStop)
        // images ls knows it; rm forgets it; prune frees what nothing references.
        let ls = try h.fargateRun(["images", "ls"])
        #expect(ls.stdout.contains("\(reg.host)/apps/busybox:1.0"), "\(ls.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(try h.fargateRun(["images", "ls", "--output", "json"]).stdout.utf8)) as? [[String: Any]]
        #expect(json?.first?["size"] as? Int ?? 0 > 0)
        #expect(try h.fargateRun(["images", "rm", "\(reg.host)/apps/busybox:1.0"]).status == 0)
        #expect(try h.fargateRun(["images", "rm", "nope:1"]).status == 1)
        let prune = try h.fargateRun(["images", "prune"])
        #expect(prune.stdout.contains("and 1 layer snapshots"), "\(prune.stdout)")
        #expect(((try? FileManager.default.contentsOfDirectory(atPath: h.root + "/snapshots")) ?? []).isEmpty)
        // images pull brings it back without running anything.
        let pull = try h.fargateRun(["images", "pull", "-q", "--registry-auth", "\(reg.host)=ci:pw", "\(reg.host)/apps/busybox:1.0"])
        #expect(pull.status == 0, "\(pull.stderr)")
        #expect(pull.stdout.hasPrefix("sha256:"))
    }

    @Test(arguments: ["wrong tag", "wrong password", "corrupted blob"])
    func aFailedPullStopsTheTaskWithCannotPullContainerError(_ failure: String) throws {
        let reg = try TestRegistry(auth: .basic(user: "ci", password: "pw"))
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "apps/busybox:1.0")
        let h = try Harness()
        defer { h.cleanup() }
        var image = "\(reg.host)/apps/busybox:1.0", password = "pw", expected = ""
        switch failure {
        case "wrong tag":
            image = "\(reg.host)/apps/busybox:9.9"
            expected = "MANIFEST_UNKNOWN"
        case "wrong password":
            password = "nope"
            expected = "answered 401"
        default:
            let layer = String(try TestImages.digest("layer", in: try TestImages.busybox()).dropFirst(7))
            var data = try Data(contentsOf: URL(fileURLWithPath: reg.blobPath(layer)))
            data[100] ^= 0x55
            try writeFile(reg.blobPath(layer), data)
            expected = "digest mismatch"
        }
        let r = try h.fargateRun(["--registry-auth", "\(reg.host)=ci:\(password)", "--output", "json", try task(h, image: image)])
        #expect(r.status == 125)
        let t = try firstTask(r.stdout)
        #expect(t["stopCode"] as? String == "TaskFailedToStart")
        let reason = try #require(try container(t, "app")["reason"] as? String)
        #expect(reason.hasPrefix("CannotPullContainerError: "), "\(reason)")
        #expect(reason.contains(expected), "\(reason)")
        #expect(reason.contains(reg.host) || failure == "corrupted blob", "the reason names the registry: \(reason)")
        #expect(t["stoppedReason"] as? String == reason)
        #expect(h.leftovers(h.taskIds()[0]).isEmpty)
    }

    @Test func ociArchiveAndPullPolicies() throws {
        let h = try Harness()
        defer { h.cleanup() }
        // oci-archive: a tar of the layout.
        let archive = h.dir.path + "/busybox-oci.tar"
        #expect(try run("/bin/tar", ["-C", try TestImages.busybox() + "/oci", "-cf", archive, "."]).status == 0)
        let r = try h.fargateRun(["-q", try task(h, image: "oci-archive:\(archive):latest")])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("pulled and running"))
        // --pull never refuses a registry image that is not here, without any network.
        let never = try h.fargateRun(["-q", "--pull", "never", "--output", "json", try task(h, image: "127.0.0.1:1/absent:1")])
        #expect(never.status == 125)
        #expect((try container(try firstTask(never.stdout), "app")["reason"] as? String)?.contains("--pull never") == true)
    }
}
