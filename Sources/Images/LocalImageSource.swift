import Foundation

/// A local image source: resolves to a verified manifest and config and hands out layer blobs.
protocol LocalImageSource {
    func resolve(platform: Platform) throws(ImageError) -> (Digest, ImageManifest, [UInt8])
    /// A file holding the layer blob (its content is verified through the diffID on unpack).
    func layerPath(_ layer: Descriptor) throws(ImageError) -> String
}

/// Reads a blob file fully and checks it against its descriptor.
func readVerified(_ path: String, _ desc: Descriptor, what: String, limit: Int64 = 16 << 20) throws(ImageError) -> [UInt8] {
    guard desc.size <= limit else { throw .malformed(what: what, detail: "\(desc.size) bytes is too large for a \(desc.mediaType)") }
    guard let data = FileManager.default.contents(atPath: path) else {
        throw .notFound(reference: what, detail: "blob \(desc.digest) missing at \(path)")
    }
    let bytes = Array(data)
    if Int64(bytes.count) != desc.size { throw .sizeMismatch(what: what, expected: desc.size, actual: Int64(bytes.count)) }
    let actual = Digest.of(bytes)
    if actual != desc.digest { throw .digestMismatch(what: what, expected: desc.digest.description, actual: actual.description) }
    return bytes
}

func decodeJSON<T: Decodable>(_ type: T.Type, _ bytes: [UInt8], what: String) throws(ImageError) -> T {
    do { return try JSONDecoder().decode(T.self, from: Data(bytes)) } catch {
        throw .malformed(what: what, detail: "not a valid \(T.self): \(error)")
    }
}

/// Picks the manifest for `platform` from an index; the error lists what the index offers.
func selectManifest(_ index: ImageIndex, platform: Platform, reference: String) throws(ImageError) -> Descriptor {
    let manifests = index.manifests.filter { MediaType.isManifest($0.mediaType) }
    if let m = manifests.first(where: { $0.platform.map(platform.matches) ?? false }) { return m }
    if manifests.count == 1, manifests[0].platform == nil { return manifests[0] }
    throw .noMatchingPlatform(reference: reference, wanted: platform.description,
                              available: manifests.compactMap { $0.platform?.description })
}
