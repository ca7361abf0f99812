#if canImport(Glibc)
import Glibc
#endif
import CShim
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
}
