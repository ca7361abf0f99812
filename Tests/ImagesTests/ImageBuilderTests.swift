import Foundation
import TestSupport
import Testing

/// rootfs-tools/build-busybox-image.sh: same inputs, same digests.
struct ImageBuilderTests {
    @Test func buildingTwiceGivesTheSameDigestsAndBytes() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let script = repositoryRoot + "/rootfs-tools/build-busybox-image.sh"
        for out in ["a", "b"] {
            let r = try run("/bin/bash", [script, dir.path + "/" + out])
            try #require(r.status == 0, "\(r.stderr)")
        }
        let a = try String(contentsOfFile: dir.path + "/a/digests", encoding: .utf8)
        let b = try String(contentsOfFile: dir.path + "/b/digests", encoding: .utf8)
        #expect(a == b)
        #expect(a.split(separator: "\n").count == 4)
        #expect(try run("/usr/bin/cmp", [dir.path + "/a/busybox.tar", dir.path + "/b/busybox.tar"]).status == 0)
        // The OCI layout's index names the manifest the digests file lists, tagged latest.
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/a/oci/index.json"))) as! [String: Any]
        let m = (index["manifests"] as! [[String: Any]])[0]
        #expect(a.contains("manifest \(m["digest"] as! String)"))
        #expect((m["annotations"] as! [String: String])["org.opencontainers.image.ref.name"] == "latest")
        // The image config has what running it needs.
        let configHex = a.split(separator: "\n").first { $0.hasPrefix("config ") }!.split(separator: ":").last!
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir.path + "/a/oci/blobs/sha256/\(configHex)"))) as! [String: Any]
        let c = config["config"] as! [String: Any]
        #expect(c["Cmd"] as? [String] == ["sh"])
        #expect(c["WorkingDir"] as? String == "/")
        #expect((c["Env"] as? [String])?.contains { $0.hasPrefix("PATH=") } == true)
        // The applets the tests and examples use are linked.
        let layerHex = a.split(separator: "\n").first { $0.hasPrefix("layer ") }!.split(separator: ":").last!
        let list = try run("/bin/tar", ["-tzf", dir.path + "/a/oci/blobs/sha256/\(layerHex)"]).stdout
        for applet in ["./bin/sh", "./usr/sbin/httpd", "./usr/bin/wget", "./usr/bin/nc", "./bin/ps", "./sbin/ip", "./bin/sleep"] {
            #expect(list.contains(applet + "\n"), "\(applet) missing")
        }
    }
}
