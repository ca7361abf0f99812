#if canImport(Glibc)
import Glibc
#endif

/// A kernel counter file (a cgroup's cpu.stat, /proc/PID/net/dev) kept open and read again
/// with pread at offset 0: one syscall per read, no path lookup, no allocation. What samples
/// many cgroups each second uses; the kernel regenerates such files at every read from 0.
public final class CounterFile {
    public let path: String
    private let fd: Int32
    /// Reused for every read; grows when a file does not fit. A raw allocation rather than an
    /// array: the sampler reads thousands of these a second, and an array's uniqueness check
    /// and retain/release around each read showed in its profile.
    private var buffer: UnsafeMutableRawBufferPointer
    /// Bytes of the last read.
    public private(set) var count = 0

    /// Opens `path` read-only; nil when it cannot be opened (absent, or the cgroup gone).
    public init?(_ path: String, capacity: Int = 4096) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        self.path = path
        self.fd = fd
        buffer = .allocate(byteCount: max(16, capacity), alignment: 8)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// Reads the whole file again; false when it can no longer be read (its cgroup was
    /// removed: the kernel answers ENODEV).
    public func refresh() -> Bool {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, 0)
            if n < 0 {
                if errno == EINTR { continue }
                count = 0
                return false
            }
            // A full buffer may have been cut short: read again with room to spare.
            if n == buffer.count {
                let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 8)
                buffer.deallocate()
                buffer = bigger
                continue
            }
            count = n
            return true
        }
    }

    /// The file as one number ("12345\n"); nil for "max" or anything else.
    public var number: UInt64? {
        withBytes { CounterText.number(in: $0) }
    }

    /// The value of a "key value" line (cpu.stat, memory.stat, memory.events).
    public func value(of key: String) -> UInt64? {
        withBytes { CounterText.value(of: key, in: $0) }
    }

    /// Runs `body` over the bytes of the last read.
    public func withBytes<T>(_ body: (UnsafeBufferPointer<UInt8>) -> T) -> T {
        body(UnsafeBufferPointer(start: buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), count: count))
    }
}

/// Parsers for the kernel's counter text, over bytes (no String made per line).
public enum CounterText {
    /// Leading decimal digits (after blanks) as a number; nil when there are none.
    public static func number(in b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var i = 0
        while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 }
        return digits(b, from: &i)
    }

    /// The number after `key ` at the start of a line.
    public static func value(of key: String, in b: UnsafeBufferPointer<UInt8>) -> UInt64? {
        var key = key
        return key.withUTF8 { k -> UInt64? in
            var lineStart = 0
            while lineStart < b.count {
                if lineStart + k.count < b.count, b[lineStart + k.count] == 0x20,
                   memcmp(b.baseAddress! + lineStart, k.baseAddress!, k.count) == 0 {
                    var i = lineStart + k.count + 1
                    return digits(b, from: &i)
                }
                while lineStart < b.count, b[lineStart] != 0x0A { lineStart += 1 }
                lineStart += 1
            }
            return nil
        }
    }

    /// Decimal digits at `i`, moving `i` past them.
    public static func digits(_ b: UnsafeBufferPointer<UInt8>, from i: inout Int) -> UInt64? {
        var v: UInt64 = 0
        let start = i
        while i < b.count, b[i] >= 0x30, b[i] <= 0x39 {
            v = v &* 10 &+ UInt64(b[i] - 0x30)
            i += 1
        }
        return i > start ? v : nil
    }

    /// Sums of `read=`-style fields over every line: v2 io.stat ("8:0 rbytes=1 wbytes=2 ...").
    public static func sumFields(_ names: [String], in b: UnsafeBufferPointer<UInt8>) -> [UInt64] {
        var sums = [UInt64](repeating: 0, count: names.count)
        let keys = names.map { Array(($0 + "=").utf8) }
        var i = 0
        while i < b.count {
            // At a word start: compare against each key.
            var matched = false
            for (n, k) in keys.enumerated() where i + k.count <= b.count {
                var same = true
                for j in 0..<k.count where b[i + j] != k[j] { same = false; break }
                if same {
                    i += k.count
                    sums[n] &+= digits(b, from: &i) ?? 0
                    matched = true
                    break
                }
            }
            if !matched {
                while i < b.count, b[i] != 0x20, b[i] != 0x0A { i += 1 }
            }
            i += 1
        }
        return sums
    }

    /// v1 blkio's io_service_bytes: lines "8:0 Read 123"; the Read and Write sums of every
    /// device (its "Total" lines are left out).
    public static func blkioReadWrite(in b: UnsafeBufferPointer<UInt8>) -> (read: UInt64, write: UInt64) {
        var read: UInt64 = 0, write: UInt64 = 0
        var i = 0
        while i < b.count {
            let lineStart = i
            while i < b.count, b[i] != 0x0A { i += 1 }
            let line = UnsafeBufferPointer(rebasing: b[lineStart..<i])
            i += 1
            let fields = line.split(separator: 0x20)
            guard fields.count == 3 else { continue }
            var j = fields[2].startIndex
            guard let v = digits(line, from: &j) else { continue }
            if fields[1].elementsEqual("Read".utf8) { read &+= v } else if fields[1].elementsEqual("Write".utf8) { write &+= v }
        }
        return (read, write)
    }

    /// /proc/net/dev: received and transmitted bytes summed over every interface but `lo`
    /// (traffic between a task's containers stays on it).
    public static func netDevTotals(in b: UnsafeBufferPointer<UInt8>) -> (rx: UInt64, tx: UInt64) {
        var rx: UInt64 = 0, tx: UInt64 = 0
        var i = 0
        while i < b.count {
            let lineStart = i
            while i < b.count, b[i] != 0x0A { i += 1 }
            let line = UnsafeBufferPointer(rebasing: b[lineStart..<i])
            i += 1
            guard let colon = line.firstIndex(of: 0x3A) else { continue }
            let name = line[line.startIndex..<colon].drop { $0 == 0x20 }
            if name.elementsEqual("lo".utf8) { continue }
            // After "name:": rx bytes packets errs drop fifo frame compressed multicast, then tx bytes.
            var fields: [UInt64] = []
            var j = colon + 1
            while j < line.endIndex, fields.count < 9 {
                while j < line.endIndex, line[j] == 0x20 { j += 1 }
                guard let v = digits(line, from: &j) else { break }
                fields.append(v)
            }
            guard fields.count == 9 else { continue }
            rx &+= fields[0]
            tx &+= fields[8]
        }
        return (rx, tx)
    }
}
