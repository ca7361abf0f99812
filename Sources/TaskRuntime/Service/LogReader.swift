#if canImport(Glibc)
import Glibc
#endif

/// Reads the lines appended to a container's log file since the last read, each with a
/// prefix; a line still being written (no newline yet) waits unless the end is reached.
public final class LogReader {
    public let path: String
    public let prefix: String
    var offset: off_t = 0
    var partial: [UInt8] = []

    public init(path: String, prefix: String) {
        self.path = path
        self.prefix = prefix
    }

    /// The new complete lines, prefixed; with `untilEnd`, an unfinished last line too.
    public func readNew(untilEnd: Bool) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        var out: [UInt8] = []
        while true {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, $0.count, offset) }
            if n <= 0 { break }
            offset += off_t(n)
            for b in buf[0..<n] {
                partial.append(b)
                if b == UInt8(ascii: "\n") {
                    out += Array(prefix.utf8) + partial
                    partial.removeAll(keepingCapacity: true)
                }
            }
        }
        if untilEnd && !partial.isEmpty {
            out += Array(prefix.utf8) + partial + [UInt8(ascii: "\n")]
            partial.removeAll()
        }
        return out
    }
}
