#if canImport(Glibc)
import Glibc
#endif
import Crypto
import Foundation
import LinuxSupport

/// A `docker save` archive: manifest.json, a config and one tar per layer (old `<id>/layer.tar`
/// or the OCI-style `blobs/sha256/<hex>` Docker 25 writes). Unpacked safely into a scratch
/// directory; layers are then read from there.
final class DockerArchiveSource: LocalImageSource {
    struct Entry: Decodable {
        var Config: String
        var RepoTags: [String]?
        var Layers: [String]
    }

    let file: String
    let wanted: String?
    let display: String
    let store: ContentStore
    let scratch: String
    private var layerFiles: [Digest: String] = [:]

    init(file: String, reference: String?, display: String, store: ContentStore) throws(ImageError) {
        self.file = file
        wanted = reference
        self.display = display
        self.store = store
        guard FileSystem.exists(file) else { throw .notFound(reference: display, detail: "no file \(file)") }
        scratch = store.root + "/ingest/docker-archive-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(scratch, 0o700) == 0 else { throw .io(SystemError("mkdir", path: scratch)) }
        do {
            _ = try LayerUnpacker.unpack(source: file, diffID: nil, into: scratch, name: file)
        } catch {
            try? FileSystem.removeTree(scratch)
            throw error
        }
    }

    deinit { try? FileSystem.removeTree(scratch) }

    func resolve(platform: Platform) throws(ImageError) -> (Digest, ImageManifest, [UInt8]) {
        guard let data = FileManager.default.contents(atPath: scratch + "/manifest.json") else {
            throw .malformed(what: display, detail: "no manifest.json: not a docker save archive")
        }
        let entries = try decodeJSON([Entry].self, Array(data), what: "manifest.json of \(file)")
        let entry: Entry
        if let wanted {
            let normalized = [wanted, wanted.contains(":") ? wanted : wanted + ":latest"]
            guard let e = entries.first(where: { ($0.RepoTags ?? []).contains(where: normalized.contains) }) else {
                let tags = entries.flatMap { $0.RepoTags ?? [] }
                throw .notFound(reference: display, detail: "no image tagged \(wanted) in \(file) (tags: \(tags.joined(separator: ", ")))")
            }
            entry = e
        } else {
            guard entries.count == 1 else {
                throw .malformed(what: display, detail: "\(file) holds \(entries.count) images; name one as docker-archive:FILE:NAME:TAG")
            }
            entry = entries[0]
        }
        let configBytes = try readMember(entry.Config)
        var layers: [Descriptor] = []
        for name in entry.Layers {
            let path = try memberPath(name)
            let (digest, size, mediaType) = try hashFile(path)
            layerFiles[digest] = path
            layers.append(Descriptor(mediaType: mediaType, digest: digest, size: size))
        }
        // docker-archive has no manifest; build the OCI manifest skopeo would, so the image has
        // a stable digest to report.
        let configDesc = Descriptor(mediaType: MediaType.ociConfig, digest: Digest.of(configBytes), size: Int64(configBytes.count))
        let manifest = ImageManifest(schemaVersion: 2, mediaType: MediaType.ociManifest, config: configDesc, layers: layers)
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let mbytes: [UInt8]
        do { mbytes = Array(try enc.encode(manifest)) } catch { throw .malformed(what: display, detail: "\(error)") }
        let digest = try store.put(mbytes)
        return (digest, manifest, configBytes)
    }

    func layerPath(_ layer: Descriptor) throws(ImageError) -> String {
        guard let p = layerFiles[layer.digest] else { throw .notFound(reference: display, detail: "layer \(layer.digest)") }
        return p
    }

    private func memberPath(_ name: String) throws(ImageError) -> String {
        guard !name.split(separator: "/").contains(".."), !name.hasPrefix("/") else {
            throw .malformed(what: display, detail: "manifest.json names \(name) outside the archive")
        }
        let p = scratch + "/" + name
        guard FileSystem.exists(p) else { throw .malformed(what: display, detail: "manifest.json names \(name), which the archive lacks") }
        return p
    }

    private func readMember(_ name: String) throws(ImageError) -> [UInt8] {
        let p = try memberPath(name)
        guard let d = FileManager.default.contents(atPath: p) else { throw .io(SystemError("read", path: p)) }
        return Array(d)
    }

    /// Digest, size and layer media type (from the magic bytes) of a layer file.
    private func hashFile(_ path: String) throws(ImageError) -> (Digest, Int64, String) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(SystemError("open", path: path)) }
        defer { close(fd) }
        var hasher = SHA256()
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        var total: Int64 = 0
        var magic: [UInt8] = []
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { if errno == EINTR { continue }; throw .io(SystemError("read", path: path)) }
            if n == 0 { break }
            if magic.count < 4 { magic += buf[0..<min(n, 4 - magic.count)] }
            buf.withUnsafeBytes { hasher.update(bufferPointer: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
            total += Int64(n)
        }
        let type: String
        if magic.starts(with: [0x1f, 0x8b]) { type = MediaType.ociLayerGzip }
        else if magic.starts(with: [0x28, 0xb5, 0x2f, 0xfd]) { type = MediaType.ociLayerZstd }
        else { type = MediaType.ociLayer }
        return (Digest(hasher: hasher), total, type)
    }
}
