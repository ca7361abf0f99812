#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// An OCI image layout directory (or an oci-archive unpacked into a scratch directory).
final class OCILayoutSource: LocalImageSource {
    let directory: String
    let tag: String?
    let reference: String
    private var scratch: String?

    init(directory: String, tag: String?, reference: String) throws(ImageError) {
        self.directory = directory
        self.tag = tag
        self.reference = reference
        guard FileSystem.isDirectory(directory) else { throw .notFound(reference: reference, detail: "no directory \(directory)") }
        guard FileSystem.exists(directory + "/index.json") else {
            throw .notFound(reference: reference, detail: "\(directory) is not an OCI image layout (no index.json)")
        }
    }

    /// oci-archive: the tar is unpacked (safely, with the layer writer) into a scratch directory.
    convenience init(archive: String, tag: String?, reference: String, scratch: String) throws(ImageError) {
        guard FileSystem.exists(archive) else { throw .notFound(reference: reference, detail: "no file \(archive)") }
        let dir = scratch + "/oci-archive-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(dir, 0o700) == 0 else { throw .io(SystemError("mkdir", path: dir)) }
        do {
            _ = try LayerUnpacker.unpack(source: archive, diffID: nil, into: dir, name: archive)
            try self.init(directory: dir, tag: tag, reference: reference)
        } catch {
            try? FileSystem.removeTree(dir)
            throw error
        }
        self.scratch = dir
    }

    deinit {
        if let scratch { try? FileSystem.removeTree(scratch) }
    }

    func blobPath(_ d: Digest) -> String { directory + "/blobs/sha256/" + d.hex }

    func resolve(platform: Platform) throws(ImageError) -> (Digest, ImageManifest, [UInt8]) {
        guard let data = FileManager.default.contents(atPath: directory + "/index.json") else {
            throw .io(SystemError("read", path: directory + "/index.json"))
        }
        let index = try decodeJSON(ImageIndex.self, Array(data), what: directory + "/index.json")
        let refName = "org.opencontainers.image.ref.name"
        var desc: Descriptor
        if let tag {
            let named = index.manifests.filter { $0.annotations?[refName] == tag }
            guard let first = named.first else {
                let tags = index.manifests.compactMap { $0.annotations?[refName] }
                throw .notFound(reference: reference, detail: "no tag \"\(tag)\" in \(directory) (tags: \(tags.isEmpty ? "none" : tags.joined(separator: ", ")))")
            }
            desc = named.count == 1 ? first : try selectManifest(ImageIndex(schemaVersion: 2, manifests: named), platform: platform, reference: reference)
        } else if index.manifests.count == 1 {
            desc = index.manifests[0]
        } else {
            desc = try selectManifest(index, platform: platform, reference: reference)
        }
        // A tag may name a nested index (a multi-platform image).
        var depth = 0
        while MediaType.isIndex(desc.mediaType) {
            depth += 1
            if depth > 4 { throw .malformed(what: reference, detail: "indexes nested too deep") }
            let bytes = try readVerified(blobPath(desc.digest), desc, what: "index \(desc.digest) of \(reference)")
            desc = try selectManifest(try decodeJSON(ImageIndex.self, bytes, what: "index \(desc.digest)"), platform: platform, reference: reference)
        }
        guard MediaType.isManifest(desc.mediaType) else {
            throw .unsupported(what: reference, detail: "\(desc.mediaType) is not an image manifest")
        }
        let mbytes = try readVerified(blobPath(desc.digest), desc, what: "manifest \(desc.digest) of \(reference)")
        let manifest = try decodeJSON(ImageManifest.self, mbytes, what: "manifest \(desc.digest)")
        let cbytes = try readVerified(blobPath(manifest.config.digest), manifest.config, what: "config of \(reference)")
        return (desc.digest, manifest, cbytes)
    }

    func layerPath(_ layer: Descriptor) throws(ImageError) -> String {
        let p = blobPath(layer.digest)
        guard FileSystem.exists(p) else { throw .notFound(reference: reference, detail: "layer blob \(layer.digest) missing from \(directory)") }
        return p
    }
}
