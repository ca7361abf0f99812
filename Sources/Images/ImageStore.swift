#if canImport(Glibc)
import Glibc
#endif
import CShim
import Crypto
import Foundation
import LinuxSupport

/// An image ready to run: its verified config and its layers unpacked, bottom layer first.
public struct PreparedImage: Sendable {
    /// The reference as the user wrote it.
    public var reference: String
    /// The manifest digest (what ECS reports as `imageDigest`).
    public var manifestDigest: Digest
    public var config: ImageConfig
    /// Snapshot directories, bottom layer first.
    public var layers: [String]
    public var platform: Platform
    /// The config's digest: the image's id (Docker's `ImageID`).
    public var configDigest: Digest?

    public init(reference: String, manifestDigest: Digest, config: ImageConfig, layers: [String], platform: Platform,
                configDigest: Digest? = nil) {
        self.reference = reference
        self.manifestDigest = manifestDigest
        self.config = config
        self.layers = layers
        self.platform = platform
        self.configDigest = configDigest
    }
}

/// Progress of a pull or unpack, for the terminal.
public enum ImageProgress: Sendable {
    case resolving(reference: String)
    /// `done` of `total` bytes of layer `digest` fetched (total may be unknown: 0).
    case fetching(reference: String, layer: Digest, done: Int64, total: Int64)
    case unpacking(reference: String, layer: Digest, done: Int64, total: Int64)
    case layerReady(reference: String, layer: Digest, cached: Bool)
    case ready(reference: String, digest: Digest)
}

/// What `images ls` shows. Its file holds everything but `lastUsed`, which is the file's
/// modification time: a use that changes nothing else touches the file instead of writing a
/// new one (`ImageStore.saveRecord`).
public struct ImageRecord: Codable, Sendable, Equatable {
    public var reference: String
    public var manifestDigest: Digest
    public var configDigest: Digest
    public var platform: String
    public var diffIDs: [Digest]
    /// Compressed size of the layers in bytes.
    public var size: Int64
    public var lastUsed: Date
    /// The layer blobs, where they were downloaded into the content store.
    public var layerDigests: [Digest]?
}

/// Images and layer snapshots under one state root:
/// `<root>/images` (content store and records) and `<root>/snapshots/<diffID hex>` (one
/// directory per unpacked layer, shared by every container and task of this root).
public final class ImageStore: Sendable {
    public let content: ContentStore
    public let snapshotRoot: String
    let recordRoot: String

    public init(root: String) throws {
        content = try ContentStore(root: root + "/images")
        snapshotRoot = root + "/snapshots"
        recordRoot = root + "/images/records"
        try FileSystem.makeDirectories(snapshotRoot, mode: 0o711)
        try FileSystem.makeDirectories(recordRoot, mode: 0o700)
    }

    public func snapshotPath(_ diffID: Digest) -> String { snapshotRoot + "/" + diffID.hex }

    /// When to ask the registry again for an image it already has.
    public enum PullPolicy: String, Sendable, CaseIterable {
        /// Resolve the tag every time (Fargate does); blobs and layers already here are reused.
        case always
        /// Use what an earlier pull of the same reference left, without asking the registry.
        case missing
        /// Never contact a registry; fail if the image is not here.
        case never
    }

    /// Resolves, verifies and unpacks `raw` for `platform`.
    public func prepare(_ raw: String, platform: Platform = .host, cwd: String = FileManager.default.currentDirectoryPath,
                        registry: RegistryClient? = nil, pull: PullPolicy = .always,
                        progress: @escaping @Sendable (ImageProgress) -> Void = { _ in }) async throws(ImageError) -> PreparedImage {
        let reference = try ImageReference(parsing: raw, relativeTo: cwd)
        progress(.resolving(reference: raw))
        guard case .registry(let r) = reference else {
            return try prepareLocal(raw, reference, platform: platform, progress: progress)
        }
        if pull != .always, let cached = cachedImage(raw, platform: platform) {
            progress(.ready(reference: raw, digest: cached.manifestDigest))
            return cached
        }
        if pull == .never { throw .notFound(reference: raw, detail: "not in the local store and --pull never forbids asking \(r.registry)") }
        guard let registry else { throw .unsupported(what: raw, detail: "no registry client") }
        let (manifestDigest, manifest, configBytes) = try await registry.resolve(r, platform: platform)
        let config = try checkedConfig(raw, manifest, configBytes, platform: platform)
        try content.put(configBytes)
        let work: [(Int, Descriptor, Digest)] = Array(zip(manifest.layers, config.rootfs.diff_ids)).enumerated().map { ($0.offset, $0.element.0, $0.element.1) }
        var paths = [String](repeating: "", count: work.count)
        // Up to three layers at a time, each unpacked while it downloads.
        var next = 0
        let results = await withTaskGroup(of: (Int, Result<String, ImageError>).self) { group in
            var out: [(Int, Result<String, ImageError>)] = []
            func launch(_ item: (Int, Descriptor, Digest)) {
                let (i, desc, diffID) = item
                group.addTask {
                    let outcome: Result<String, ImageError>
                    do throws(ImageError) {
                        outcome = .success(try await self.fetchAndUnpack(diffID: diffID, layer: desc, reference: raw, from: r,
                                                                         registry: registry, progress: progress))
                    } catch {
                        outcome = .failure(error)
                    }
                    return (i, outcome)
                }
            }
            while next < min(3, work.count) { launch(work[next]); next += 1 }
            while let done = await group.next() {
                out.append(done)
                if next < work.count { launch(work[next]); next += 1 }
            }
            return out
        }
        for (i, r) in results {
            switch r {
            case .success(let p): paths[i] = p
            case .failure(let e): throw e
            }
        }
        progress(.ready(reference: raw, digest: manifestDigest))
        let configDigest = Digest.of(configBytes)
        saveRecord(StoredRecord(reference: raw, manifestDigest: manifestDigest, configDigest: configDigest,
                                platform: platform.description, diffIDs: config.rootfs.diff_ids,
                                size: manifest.layers.reduce(0) { $0 + $1.size }, layerDigests: manifest.layers.map(\.digest)))
        return PreparedImage(reference: raw, manifestDigest: manifestDigest, config: config, layers: paths, platform: platform,
                             configDigest: configDigest)
    }

    /// Whether preparing `raw` under `pull` would ask a registry: a registry reference that
    /// what is here does not satisfy. Local sources (oci:, oci-archive:, docker-archive:) never
    /// do; an unparsable reference is left to `prepare` to report.
    public func needsRegistry(_ raw: String, platform: Platform = .host, cwd: String = FileManager.default.currentDirectoryPath,
                              pull: PullPolicy = .always) -> Bool {
        guard let reference = try? ImageReference(parsing: raw, relativeTo: cwd), case .registry = reference else { return false }
        switch pull {
        case .always: return true
        case .never: return false
        case .missing: return cachedRecord(raw, platform: platform) == nil
        }
    }

    /// The record an earlier pull of `raw` left, if every layer of it is still unpacked here.
    func cachedRecord(_ raw: String, platform: Platform) -> ImageRecord? {
        guard let rec = records().first(where: { $0.reference == raw && $0.platform == platform.description }),
              rec.diffIDs.map(snapshotPath).allSatisfy(FileSystem.isDirectory) else { return nil }
        return rec
    }

    /// The image an earlier pull of `raw` left, if its config and every layer are still here.
    func cachedImage(_ raw: String, platform: Platform) -> PreparedImage? {
        guard let rec = cachedRecord(raw, platform: platform),
              let bytes = try? content.read(rec.configDigest),
              let config = try? JSONDecoder().decode(ImageConfig.self, from: Data(bytes)) else { return nil }
        let paths = rec.diffIDs.map(snapshotPath)
        // What the record says is what was just read: only its time of use changes.
        _ = utimensat(AT_FDCWD, recordPath(raw), nil, 0)
        return PreparedImage(reference: raw, manifestDigest: rec.manifestDigest, config: config, layers: paths, platform: platform,
                             configDigest: rec.configDigest)
    }

    func checkedConfig(_ raw: String, _ manifest: ImageManifest, _ configBytes: [UInt8], platform: Platform) throws(ImageError) -> ImageConfig {
        let config: ImageConfig
        do { config = try JSONDecoder().decode(ImageConfig.self, from: Data(configBytes)) } catch {
            throw .malformed(what: "config of \(raw)", detail: "\(error)")
        }
        if let arch = config.architecture, arch != platform.architecture {
            throw .noMatchingPlatform(reference: raw, wanted: platform.description, available: ["\(config.os ?? "linux")/\(arch)"])
        }
        guard config.rootfs.diff_ids.count == manifest.layers.count else {
            throw .malformed(what: raw, detail: "the manifest lists \(manifest.layers.count) layers but the config \(config.rootfs.diff_ids.count) diff_ids")
        }
        for desc in manifest.layers where !MediaType.layerTypes.contains(desc.mediaType) {
            throw .unsupported(what: "layer \(desc.digest) of \(raw)", detail: "media type \(desc.mediaType) is not a layer type this runtime can unpack")
        }
        return config
    }

    func prepareLocal(_ raw: String, _ reference: ImageReference, platform: Platform,
                      progress: @escaping @Sendable (ImageProgress) -> Void) throws(ImageError) -> PreparedImage {
        let source: LocalImageSource
        switch reference {
        case .oci(let dir, let tag):
            source = try OCILayoutSource(directory: dir, tag: tag, reference: raw)
        case .ociArchive(let file, let tag):
            source = try OCILayoutSource(archive: file, tag: tag, reference: raw, scratch: content.root + "/ingest")
        case .dockerArchive(let file, let ref):
            source = try DockerArchiveSource(file: file, reference: ref, display: raw, store: content)
        case .registry:
            throw .unsupported(what: raw, detail: "not a local source")
        }
        let (manifestDigest, manifest, configBytes) = try source.resolve(platform: platform)
        let config = try checkedConfig(raw, manifest, configBytes, platform: platform)
        try content.put(configBytes)
        var layers: [String] = []
        var size: Int64 = 0
        for (desc, diffID) in zip(manifest.layers, config.rootfs.diff_ids) {
            let path = try ensureSnapshotSync(diffID: diffID, layer: desc, reference: raw, progress: progress) { () throws(ImageError) in
                try source.layerPath(desc)
            }
            layers.append(path)
            size += desc.size
        }
        progress(.ready(reference: raw, digest: manifestDigest))
        let configDigest = Digest.of(configBytes)
        saveRecord(StoredRecord(reference: raw, manifestDigest: manifestDigest, configDigest: configDigest,
                                platform: platform.description, diffIDs: config.rootfs.diff_ids, size: size))
        return PreparedImage(reference: raw, manifestDigest: manifestDigest, config: config, layers: layers, platform: platform,
                             configDigest: configDigest)
    }

    /// Unpacks a layer into its snapshot unless it is there already. Concurrent callers for the
    /// same layer wait for the first; the snapshot appears only when complete (renamed into place).
    func ensureSnapshotSync(diffID: Digest, layer: Descriptor, reference: String, progress: @escaping @Sendable (ImageProgress) -> Void,
                            blob: () throws(ImageError) -> String) throws(ImageError) -> String {
        let dest = snapshotPath(diffID)
        if FileSystem.isDirectory(dest) {
            progress(.layerReady(reference: reference, layer: layer.digest, cached: true))
            return dest
        }
        let lock = try content.lock("snapshot-" + diffID.hex)
        defer { lock.unlock() }
        if FileSystem.isDirectory(dest) {
            progress(.layerReady(reference: reference, layer: layer.digest, cached: true))
            return dest
        }
        try unpack(source: try blob(), diffID: diffID, layer: layer, reference: reference, into: dest, progress: progress)
        return dest
    }

    /// Downloads a layer and unpacks it at the same time: the unpacker reads the blob as it
    /// arrives, on a thread of its own because it blocks while it waits for bytes. When the
    /// first download attempt fails and a retry succeeds, the stored blob is unpacked after.
    func fetchAndUnpack(diffID: Digest, layer desc: Descriptor, reference raw: String, from r: RegistryReference,
                        registry: RegistryClient, progress: @escaping @Sendable (ImageProgress) -> Void) async throws(ImageError) -> String {
        let dest = snapshotPath(diffID)
        if FileSystem.isDirectory(dest) {
            progress(.layerReady(reference: raw, layer: desc.digest, cached: true))
            return dest
        }
        // Blob before snapshot, always in this order: a twin layer (same diffID, another
        // compression) takes another blob lock and then waits here.
        let blobLock = try content.lock("blob-" + desc.digest.hex)
        defer { blobLock.unlock() }
        let snapshotLock = try content.lock("snapshot-" + diffID.hex)
        defer { snapshotLock.unlock() }
        if FileSystem.isDirectory(dest) {
            progress(.layerReady(reference: raw, layer: desc.digest, cached: true))
            return dest
        }
        if content.contains(desc.digest) {
            try unpack(source: content.path(for: desc.digest), diffID: diffID, layer: desc, reference: raw, into: dest, progress: progress)
            return dest
        }
        let growing = GrowingBlob()
        async let unpacked = onOwnThread {
            Result { () throws(ImageError) in
                let fd = try growing.waitForDescriptor()
                try self.unpack(fd: fd, diffID: diffID, layer: desc, reference: raw, into: dest, waitForMore: growing.waitForMore,
                                beforeRename: growing.waitUntilFinished, progress: progress)
            }
        }
        let fetched: Result<Void, ImageError>
        do throws(ImageError) {
            try await registry.fetchBlob(r, desc, into: content, what: "layer \(desc.digest.short) of \(raw)", tee: growing) { done in
                progress(.fetching(reference: raw, layer: desc.digest, done: done, total: desc.size))
            }
            fetched = .success(())
        } catch {
            growing.fail(error)
            fetched = .failure(error)
        }
        let streamed = await unpacked
        try fetched.get()
        if case .failure = streamed, growing.abandoned {
            try unpack(source: content.path(for: desc.digest), diffID: diffID, layer: desc, reference: raw, into: dest, progress: progress)
        } else {
            try streamed.get()
        }
        return dest
    }

    private func unpack(source: String, diffID: Digest, layer: Descriptor, reference: String, into dest: String,
                        progress: @escaping @Sendable (ImageProgress) -> Void) throws(ImageError) {
        let fd = open(source, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(SystemError("open", path: source)) }
        defer { close(fd) }
        try unpack(fd: fd, diffID: diffID, layer: layer, reference: reference, into: dest, progress: progress)
    }

    /// Unpacks into a temporary directory renamed to `dest` once complete and verified.
    private func unpack(fd: Int32, diffID: Digest, layer: Descriptor, reference: String, into dest: String,
                        waitForMore: ((Int64) throws(ImageError) -> Bool)? = nil,
                        beforeRename: (() throws(ImageError) -> Void)? = nil,
                        progress: @escaping @Sendable (ImageProgress) -> Void) throws(ImageError) {
        let tmp = snapshotRoot + "/.tmp-\(diffID.short)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(tmp, 0o755) == 0 else { throw .io(SystemError("mkdir", path: tmp)) }
        do throws(ImageError) {
            let total = layer.size
            _ = try LayerUnpacker.unpack(fd: fd, diffID: diffID, into: tmp, name: "\(layer.digest.short) of \(reference)",
                                         waitForMore: waitForMore) { done in
                progress(.unpacking(reference: reference, layer: layer.digest, done: done, total: total))
            }
            try beforeRename?()
            // On disk before it is published: a snapshot is never unpacked again once in place,
            // so after a crash it must not be a complete-looking tree of empty files. syncfs
            // rather than an fsync per file (thousands in a real image); it also writes back
            // the unpack's data now, at the pull, rather than in the first tasks' starts: an
            // fsync there (the ledger's) waited for all of it (ext4's ordered mode), 20-25 ms
            // a start while the kernel had it still to write.
            do {
                let dir = try syscallRetrying("open", path: tmp) { open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                defer { close(dir) }
                _ = try syscallRetrying("syncfs", path: tmp) { fr_syncfs(dir) }
            } catch { throw ImageError.io(error) }
            guard rename(tmp, dest) == 0 else { throw ImageError.io(SystemError("rename", path: dest)) }
            do { try FileSystem.syncDirectory(snapshotRoot) } catch { throw ImageError.io(error) }
        } catch {
            try? FileSystem.removeTree(tmp)
            throw error
        }
        progress(.layerReady(reference: reference, layer: layer.digest, cached: false))
    }

    /// Forgets `reference` (its content stays until `prune`). False when it was not known.
    @discardableResult
    public func remove(reference: String) -> Bool {
        let path = recordRoot + "/" + Digest.of(Array(reference.utf8)).hex + ".json"
        return unlink(path) == 0
    }

    public struct PruneResult: Sendable, Equatable {
        public var blobs: Int
        public var snapshots: Int
        public var bytes: Int64
    }

    /// Removes blobs and layer snapshots no image record references and no running task uses
    /// (`inUse`: snapshot directories of running tasks), and leftovers of interrupted imports.
    public func prune(inUse: Set<String>) -> PruneResult {
        var result = PruneResult(blobs: 0, snapshots: 0, bytes: 0)
        let records = records()
        var blobs = Set<String>(), snapshots = Set<String>()
        for r in records {
            blobs.insert(r.manifestDigest.hex)
            blobs.insert(r.configDigest.hex)
            for d in r.layerDigests ?? [] { blobs.insert(d.hex) }
            for d in r.diffIDs { snapshots.insert(d.hex) }
        }
        let fm = FileManager.default
        for name in (try? fm.contentsOfDirectory(atPath: content.root + "/blobs/sha256")) ?? [] where !blobs.contains(name) {
            let p = content.root + "/blobs/sha256/" + name
            var st = stat()
            if stat(p, &st) == 0 { result.bytes += Int64(st.st_size) }
            if unlink(p) == 0 { result.blobs += 1 }
        }
        for name in (try? fm.contentsOfDirectory(atPath: snapshotRoot)) ?? [] {
            let p = snapshotRoot + "/" + name
            if snapshots.contains(name) || inUse.contains(p) { continue }
            // An unpack in progress holds the snapshot's lock.
            if name.hasPrefix(".tmp-") {
                guard let attrs = try? fm.attributesOfItem(atPath: p), let m = attrs[.modificationDate] as? Date,
                      Date().timeIntervalSince(m) > 3600 else { continue }
            }
            if (try? FileSystem.removeTree(p)) != nil { result.snapshots += 1 }
        }
        for name in (try? fm.contentsOfDirectory(atPath: content.root + "/ingest")) ?? [] {
            let p = content.root + "/ingest/" + name
            if let attrs = try? fm.attributesOfItem(atPath: p), let m = attrs[.modificationDate] as? Date, Date().timeIntervalSince(m) > 3600 {
                try? FileSystem.removeTree(p)
            }
        }
        return result
    }

    /// A record as its file holds it: `ImageRecord` but for `lastUsed`, the file's mtime.
    struct StoredRecord: Codable {
        var reference: String
        var manifestDigest: Digest
        var configDigest: Digest
        var platform: String
        var diffIDs: [Digest]
        var size: Int64
        var layerDigests: [Digest]? = nil
    }

    /// Records a use of an image: a new file when what the record says changed, else only its
    /// mtime. Every start of a task records its images, and on a start's path a new file (a
    /// new inode, a rename, the old inode freed) took 0.5-1 ms; a touch is one system call.
    func saveRecord(_ stored: StoredRecord) {
        let enc = JSONEncoder()
        enc.outputFormatting = [.sortedKeys]
        guard let data = try? enc.encode(stored) else { return }
        let path = recordPath(stored.reference)
        if let old = try? FileSystem.readString(path), Array(old.utf8) == Array(data), utimensat(AT_FDCWD, path, nil, 0) == 0 { return }
        try? FileSystem.writeAtomically(path, Array(data), durable: false)
    }

    func recordPath(_ reference: String) -> String {
        recordRoot + "/" + Digest.of(Array(reference.utf8)).hex + ".json"
    }

    /// Every image prepared in this root, most recently used first.
    public func records() -> [ImageRecord] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: recordRoot) else { return [] }
        let dec = JSONDecoder()
        return names.filter { $0.hasSuffix(".json") }.compactMap { n in
            let path = recordRoot + "/" + n
            var st = stat()
            guard let d = FileManager.default.contents(atPath: path), stat(path, &st) == 0,
                  let r = try? dec.decode(StoredRecord.self, from: d) else { return nil }
            let used = Date(timeIntervalSince1970: Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9)
            return ImageRecord(reference: r.reference, manifestDigest: r.manifestDigest, configDigest: r.configDigest, platform: r.platform,
                               diffIDs: r.diffIDs, size: r.size, lastUsed: used, layerDigests: r.layerDigests)
        }.sorted { $0.lastUsed > $1.lastUsed }
    }
}

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
