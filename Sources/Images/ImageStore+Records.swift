#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The image records of a store (one file per reference, its mtime the last use) and what
/// `prune` removes when no record needs it.
extension ImageStore {
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
