#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport
import Testing

/// `fargate-run info` and `--version` against what the machine shows by other means (stat,
/// findmnt, uname, git). CgroupV2VMTests runs this suite inside the cgroup-v2 VM too, so that
/// both drivers are seen named: v1 on the build machines' hybrid layout, v2 in the VM.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct InfoCommandTests {
    static let inVM = ProcessInfo.processInfo.environment["FARGATE_RUN_IN_VM"] != nil

    static func output(_ executable: String, _ arguments: [String]) throws -> String {
        try run(executable, arguments).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test func infoNamesTheCgroupDriverKernelAndStateRootAsTheMachineHasThem() throws {
        let dir = try TemporaryDirectory("fr-info")
        defer { dir.remove() }
        let r = try run(fargateRunBinary, ["info", "--format", "json", "--root", dir.path + "/root"])
        #expect(r.status == 0, "info found a problem that stops tasks on this machine:\n\(r.stdout)\(r.stderr)")
        let info = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], "not JSON: \(r.stdout)")
        let cgroups = try #require(info["cgroups"] as? [String: Any])

        // statfs of /sys/fs/cgroup: cgroup2 itself on a unified host, a tmpfs of v1 hierarchies else.
        let unified = try Self.output("/usr/bin/stat", ["-f", "-c", "%T", "/sys/fs/cgroup"]) == "cgroup2fs"
        let mounts = try String(contentsOfFile: "/proc/self/mounts", encoding: .utf8)
        let hasV2 = mounts.split(separator: "\n").contains { $0.split(separator: " ").dropFirst(2).first == "cgroup2" }
        if Self.inVM { #expect(unified, "the VM mounts cgroup2 alone at /sys/fs/cgroup") }
        #expect(cgroups["driver"] as? String == (unified ? "v2" : "v1"))
        #expect(cgroups["layout"] as? String == (unified ? "unified" : (hasV2 ? "hybrid" : "legacy")))
        let controllers = cgroups["controllers"] as? [String] ?? []
        for c in ["cpu", "memory", "pids"] { #expect(controllers.contains(c), "controller \(c): \(controllers)") }
        #expect((cgroups["missing"] as? [String])?.isEmpty == true)

        let kernel = try #require(info["kernel"] as? [String: Any])
        #expect(kernel["release"] as? String == (try Self.output("/usr/bin/uname", ["-r"])))
        #expect(kernel["openat2"] as? String == "yes" && kernel["pidfd"] as? String == "yes", "the tests themselves need both")

        let root = try #require(info["stateRoot"] as? [String: Any])
        #expect(root["path"] as? String == dir.path + "/root")
        #expect(root["exists"] as? Bool == false, "info makes no state root")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/root"))
        #expect(root["filesystem"] as? String == (try Self.output("/usr/bin/findmnt", ["-n", "-o", "FSTYPE", "-T", dir.path])))
        #expect((root["freeBytes"] as? Int ?? 0) > 0)

        #expect((info["network"] as? [String: Any])?["subnet"] as? String == "198.19.0.0/16")
        #expect((info["prices"] as? [String: Any])?["region"] as? String == "us-east-1")
        let platforms = ((info["prices"] as? [String: Any])?["platforms"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
        #expect(platforms == ["linux/arm64", "linux/x86_64", "linux/x86_64/spot"], "Spot's rates from the built-in discount: \(platforms)")
    }

    @Test func infoShowsTheGivenPriceFileAndRefusesAMissingOne() throws {
        let dir = try TemporaryDirectory("fr-info")
        defer { dir.remove() }
        let prices = dir.path + "/prices.json"
        try #"{"region": "eu-west-1", "platforms": {"linux/x86_64": {"vcpuHour": "0.04456", "gbHour": "0.004865"}}, "ephemeralStorageGBHour": "0.000122"}"#
            .write(toFile: prices, atomically: false, encoding: .utf8)
        let r = try run(fargateRunBinary, ["info", "--root", dir.path + "/root", "--prices", prices])
        #expect(r.stdout.contains("Prices: eu-west-1, \(prices)"), "\(r.stdout)")
        #expect(r.stdout.contains("linux/x86_64: $0.04456 per vCPU-hour, $0.004865 per GB-hour"))
        for section in ["Kernel: ", "Cgroups: ", "Firewall:", "Network (default): awsvpc", "State root: ", "Libraries:"] {
            #expect(r.stdout.contains(section), "no \(section) section")
        }
        let missing = try run(fargateRunBinary, ["info", "--prices", dir.path + "/none.json"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("cannot read price file \(dir.path)/none.json"), "\(missing.stderr)")
    }

    @Test func versionNamesTheVersionFileAndTheCommit() throws {
        let version = try String(contentsOfFile: repositoryRoot + "/VERSION", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let head = try Self.output("/usr/bin/git", ["-C", repositoryRoot, "rev-parse", "--short=12", "HEAD"])
        let printed = try Self.output(fargateRunBinary, ["--version"])
        #expect(printed == "\(version) (commit \(head))" || printed == "\(version) (commit \(head)-modified)", "\(printed)")
    }
}
