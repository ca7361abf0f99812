#if canImport(Glibc)
import Glibc
#endif

/// Finds a record by its task ARN as SQLite hands it over (bytes), without making a String of
/// it: what joins 100,000 tags and sampled tasks to their billing records in a report. A
/// String per row and a Dictionary keyed by ARNs (80 bytes, their first 47 alike) took a
/// fifth of a report's time (Docs/PERFORMANCE.md).
struct TaskArnIndex {
    /// Every ARN's bytes, one after another, and where each starts (one more at the end).
    private var storage: [UInt8] = []
    private var starts: [Int] = [0]
    /// Open addressing: position + 1 of the ARN, 0 for an empty slot.
    private var slots: [Int32]
    private let mask: Int

    /// Indexes `arns`; a repeated ARN finds its first position.
    init(_ arns: [String]) {
        var size = 16
        while size < arns.count * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        storage.reserveCapacity(arns.count * 80)
        starts.reserveCapacity(arns.count + 1)
        for arn in arns {
            var arn = arn
            arn.withUTF8 { storage.append(contentsOf: $0) }
            starts.append(storage.count)
        }
        storage.withUnsafeBufferPointer { all in
            for i in arns.indices {
                let bytes = UnsafeBufferPointer(rebasing: all[starts[i]..<starts[i + 1]])
                var slot = TaskArnIndex.hash(bytes) & mask
                while slots[slot] != 0 {
                    if equal(Int(slots[slot]) - 1, bytes, in: all) { break }
                    slot = (slot + 1) & mask
                }
                if slots[slot] == 0 { slots[slot] = Int32(i + 1) }
            }
        }
    }

    /// The position of the ARN `bytes` spell; nil when it is not indexed.
    func position(of bytes: UnsafeBufferPointer<UInt8>) -> Int? {
        storage.withUnsafeBufferPointer { all in
            var slot = TaskArnIndex.hash(bytes) & mask
            while slots[slot] != 0 {
                let i = Int(slots[slot]) - 1
                if equal(i, bytes, in: all) { return i }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    private func equal(_ i: Int, _ bytes: UnsafeBufferPointer<UInt8>, in all: UnsafeBufferPointer<UInt8>) -> Bool {
        let a = starts[i], n = starts[i + 1] - a
        guard n == bytes.count else { return false }
        return n == 0 || memcmp(all.baseAddress! + a, bytes.baseAddress!, n) == 0
    }

    /// FNV-1a over eight bytes at a time, mixed at the end: ARNs differ in their last bytes.
    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        var i = 0
        let raw = UnsafeRawBufferPointer(b)
        while i + 8 <= b.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01B3
            i += 8
        }
        while i < b.count {
            h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01B3
            i += 1
        }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }
}
