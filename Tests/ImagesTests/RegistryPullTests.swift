#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import Images
import LinuxSupport
import TestSupport
import Testing

/// Pulls from Debian's docker-registry on 127.0.0.1, with images pushed by skopeo. Unpacking
/// sets owners and device nodes, so root.
@Suite(.enabled(if: Prerequisites.rootOrCI, Prerequisites.rootReason))
struct RegistryPullTests {
    func store() throws -> (TemporaryDirectory, ImageStore) {
        let d = try TemporaryDirectory()
        return (d, try ImageStore(root: d.path))
    }

    @Test func aSinglePlatformImageIsPulledVerifiedAndUnpacked() async throws {
        let reg = try TestRegistry()
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "team/busybox:1")
        let (dir, store) = try store()
        defer { dir.remove() }
        let client = RegistryClient()
        let events = EventLog()
        let image = try await store.prepare("\(reg.host)/team/busybox:1", registry: client) { events.add($0) }
        await client.shutdown()
        let local = try TestImages.digest("manifest", in: try TestImages.busybox())
        #expect(image.manifestDigest.description == local, "the registry serves the manifest skopeo pushed")
        #expect(image.config.config?.Cmd == ["sh"])
        #expect(FileSystem.exists(image.layers[0] + "/bin/busybox"))
        #expect(events.fetched > 0, "progress was reported while streaming")
        // The blob is in the content store under its digest, and a second pull fetches nothing.
        let layer = try TestImages.digest("layer", in: try TestImages.busybox())
        #expect(store.content.contains(try Digest(parsing: layer)))
        let again = EventLog()
        let client2 = RegistryClient()
        _ = try await store.prepare("\(reg.host)/team/busybox:1", registry: client2) { again.add($0) }
        await client2.shutdown()
        #expect(again.fetched == 0 && again.cached == 1)
        #expect(store.records().first?.reference == "\(reg.host)/team/busybox:1")
        // --pull missing: what the record says is used without a registry, and the use
        // only touches the record.
        let ref = "\(reg.host)/team/busybox:1"
        let path = store.recordPath(ref)
        var before = stat(), after = stat()
        #expect(stat(path, &before) == 0)
        var old = [timespec(tv_sec: before.st_mtim.tv_sec - 3600, tv_nsec: 0), timespec(tv_sec: before.st_mtim.tv_sec - 3600, tv_nsec: 0)]
        #expect(utimensat(AT_FDCWD, path, &old, 0) == 0)
        let cached = try await store.prepare(ref, registry: nil, pull: .missing)
        #expect(cached.manifestDigest == image.manifestDigest && cached.layers == image.layers)
        #expect(stat(path, &after) == 0 && after.st_ino == before.st_ino)
        #expect(Date().timeIntervalSince(try #require(store.records().first).lastUsed) < 600, "the use is its last use")
    }

    @Test func anIndexGivesThePlatformAskedForAndNamesTheOthers() async throws {
        let reg = try TestRegistry()
        defer { reg.stop() }
        let multi = try TestImages.multiPlatform()
        try reg.push("oci:\(multi)/oci:latest", "multi:1", extra: ["--all"])
        let (dir, store) = try store()
        defer { dir.remove() }
        let client = RegistryClient()
        defer { Task { await client.shutdown() } }
        let amd = try await store.prepare("\(reg.host)/multi:1", platform: Platform(architecture: "amd64"), registry: client)
        #expect(amd.manifestDigest.description == (try TestImages.digest("amd64", in: multi)))
        let arm = try await store.prepare("\(reg.host)/multi:1", platform: Platform(architecture: "arm64"), registry: client)
        #expect(arm.manifestDigest.description == (try TestImages.digest("arm64", in: multi)))
        #expect(arm.config.architecture == "arm64")
        await #expect { _ = try await store.prepare("\(reg.host)/multi:1", platform: Platform(architecture: "riscv64"), registry: client) } throws: {
            "\($0)".contains("has no linux/riscv64 variant; it offers: linux/amd64, linux/arm64")
        }
    }

    @Test func aZstdLayerUnpacksToTheSameSnapshotAsItsGzipTwin() async throws {
        let reg = try TestRegistry()
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "bb:gzip")
        try reg.push("oci:" + (try TestImages.busyboxZstd()) + "/oci:latest", "bb:zstd")
        let (dir, store) = try store()
        defer { dir.remove() }
        let client = RegistryClient()
        let z = try await store.prepare("\(reg.host)/bb:zstd", registry: client)
        let g = try await store.prepare("\(reg.host)/bb:gzip", registry: client)
        await client.shutdown()
        #expect(z.manifestDigest != g.manifestDigest, "zstd made a different manifest")
        #expect(z.layers == g.layers, "the same diffID: one snapshot")
        let rec = store.records().first { $0.reference.hasSuffix("bb:zstd") }
        let layerBlob = try #require(rec?.layerDigests?.first)
        let magic = try Array(Data(contentsOf: URL(fileURLWithPath: store.content.path(for: layerBlob))).prefix(4))
        #expect(magic == [0x28, 0xb5, 0x2f, 0xfd], "the layer really is zstd")
    }

    @Test func basicAuthWithTheRightAndTheWrongPassword() async throws {
        let reg = try TestRegistry(auth: .basic(user: "alice", password: "s3cret"))
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "private:1")
        let (dir, store) = try store()
        defer { dir.remove() }
        let good = RegistryClient(credentials: CredentialStore(explicit: [reg.host: .init(username: "alice", password: "s3cret")], configPath: nil))
        _ = try await store.prepare("\(reg.host)/private:1", registry: good)
        await good.shutdown()
        let bad = RegistryClient(credentials: CredentialStore(explicit: [reg.host: .init(username: "alice", password: "wrong")], configPath: nil))
        await #expect { _ = try await store.prepare("\(reg.host)/private:1", registry: bad, pull: .always) } throws: {
            "\($0)".contains("authentication with registry \(reg.host) failed") && "\($0)".contains("401")
        }
        await bad.shutdown()
        let none = RegistryClient(credentials: CredentialStore(explicit: [:], configPath: nil))
        await #expect { _ = try await store.prepare("\(reg.host)/private:1", registry: none) } throws: {
            "\($0)".contains("none is configured")
        }
        await none.shutdown()
    }

    @Test func bearerTokensFromTheRealm() async throws {
        let reg = try TestRegistry(auth: .token(user: "bob", password: "hunter2"))
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "team/app:2")
        let (dir, store) = try store()
        defer { dir.remove() }
        // Credentials from a docker config.json, as `docker login` writes it.
        let config = dir.path + "/docker-config.json"
        try writeFile(config, Array(#"{"auths": {"\#(reg.host)": {"auth": "\#(Data("bob:hunter2".utf8).base64EncodedString())"}}}"#.utf8))
        let good = RegistryClient(credentials: CredentialStore(explicit: [:], configPath: config))
        let image = try await store.prepare("\(reg.host)/team/app:2", registry: good)
        await good.shutdown()
        #expect(FileSystem.exists(image.layers[0] + "/bin/sh"))
        let bad = RegistryClient(credentials: CredentialStore(explicit: [reg.host: .init(username: "bob", password: "nope")], configPath: nil))
        await #expect { _ = try await store.prepare("\(reg.host)/team/app:2", registry: bad) } throws: {
            "\($0)".contains("token service") && "\($0)".contains("answered 401")
        }
        await bad.shutdown()
    }

    @Test func aWrongTagAndACorruptedBlobFailWithTheRegistrysAnswer() async throws {
        let reg = try TestRegistry()
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "bb:1")
        let (dir, store) = try store()
        defer { dir.remove() }
        let client = RegistryClient()
        await #expect { _ = try await store.prepare("\(reg.host)/bb:nope", registry: client) } throws: {
            "\($0)".contains("answered 404") && "\($0)".contains("MANIFEST_UNKNOWN")
        }
        let layer = try TestImages.digest("layer", in: try TestImages.busybox()).dropFirst(7)
        var data = try Data(contentsOf: URL(fileURLWithPath: reg.blobPath(String(layer))))
        data[data.count / 2] ^= 0xff
        try writeFile(reg.blobPath(String(layer)), data)
        await #expect { _ = try await store.prepare("\(reg.host)/bb:1", registry: client) } throws: {
            "\($0)".contains("digest mismatch")
        }
        await client.shutdown()
        #expect(!store.content.contains(try Digest(parsing: "sha256:" + layer)), "a bad blob is never stored")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.content.root + "/ingest")
        #expect(leftovers.isEmpty, "\(leftovers)")
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: store.snapshotRoot)
        #expect(snapshots.isEmpty, "no snapshot, finished or not, from a blob that failed its digest: \(snapshots)")
    }

    /// The first download of the layer breaks after 64 KiB; the client retries. The unpacker
    /// that was reading the broken download gives up, and the retried blob is unpacked after.
    @Test func aDownloadBrokenMidLayerIsRetriedAndUnpackedWhole() async throws {
        let reg = try TestRegistry()
        defer { reg.stop() }
        try reg.push(try TestImages.busyboxOCI(), "bb:1")
        let layer = try TestImages.digest("layer", in: try TestImages.busybox())
        let port = try #require(Int(reg.host.split(separator: ":").last ?? ""))
        let proxy = try FlakyProxy(upstreamPort: port, cutWhen: "/blobs/" + layer, cutAfter: 64 << 10)
        defer { proxy.stop() }
        let (dir, store) = try store()
        defer { dir.remove() }
        let client = RegistryClient()
        let image = try await store.prepare("127.0.0.1:\(proxy.port)/bb:1", registry: client)
        await client.shutdown()
        #expect(proxy.cuts == 1, "the first layer download was broken")
        #expect(FileSystem.exists(image.layers[0] + "/bin/busybox"))
        #expect(store.content.contains(try Digest(parsing: layer)))
        let snapshots = try FileManager.default.contentsOfDirectory(atPath: store.snapshotRoot)
        #expect(snapshots.allSatisfy { !$0.hasPrefix(".tmp") }, "the abandoned unpack left nothing: \(snapshots)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.content.root + "/ingest").isEmpty)
    }

    @Test func plainHTTPOnlyForLoopbackOrWhenAsked() {
        let c = RegistryClient(insecureRegistries: ["registry.lan:5000"])
        defer { Task { await c.shutdown() } }
        #expect(c.scheme("127.0.0.1:5000") == "http")
        #expect(c.scheme("localhost:5000") == "http")
        #expect(c.scheme("registry.lan:5000") == "http")
        #expect(c.scheme("registry.lan:5001") == "https")
        #expect(c.scheme("public.ecr.aws") == "https")
        #expect(c.scheme("123456789012.dkr.ecr.us-east-1.amazonaws.com") == "https")
    }
}

struct RegistryProtocolTests {
    @Test func challengesAreParsed() {
        let (s, p) = RegistryClient.parseChallenge(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(s == "Bearer")
        #expect(p["realm"] == "https://auth.docker.io/token")
        #expect(p["service"] == "registry.docker.io")
        #expect(p["scope"] == "repository:library/busybox:pull")
        let (b, bp) = RegistryClient.parseChallenge(#"Basic realm="fargate-run-test""#)
        #expect(b == "Basic" && bp["realm"] == "fargate-run-test")
    }

    @Test func credentialsFromFlagsAndDockerConfig() throws {
        #expect(try CredentialStore.parseFlag("r.example:5000=u:p:w").1 == RegistryCredentials(username: "u", password: "p:w"))
        #expect(throws: ImageError.self) { try CredentialStore.parseFlag("nouser") }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        try writeFile(dir.path + "/c.json", Array(#"{"auths": {"https://index.docker.io/v1/": {"auth": "\#(Data("hub:pw".utf8).base64EncodedString())"}, "r.example": {"username": "x", "password": "y"}}}"#.utf8))
        let store = CredentialStore(explicit: [:], configPath: dir.path + "/c.json")
        #expect(store.credentials(for: "docker.io") == RegistryCredentials(username: "hub", password: "pw"))
        #expect(store.credentials(for: "r.example") == RegistryCredentials(username: "x", password: "y"))
        #expect(store.credentials(for: "other") == nil)
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var fetched = 0
    private(set) var cached = 0
    func add(_ e: ImageProgress) {
        lock.lock()
        defer { lock.unlock() }
        switch e {
        case .fetching: fetched += 1
        case .layerReady(_, _, let c): if c { cached += 1 }
        default: break
        }
    }
}
