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
    /// Where reading stops (`stopAtCurrentEnd`), else nowhere: a log that is not followed ends
    /// where it was when `logs` began, however fast its container writes.
    var end: off_t?

    public init(path: String, prefix: String) {
        self.path = path
        self.prefix = prefix
    }

    /// Starts the reading at the file's last `lines` lines (`logs --tail`); an unfinished
    /// last line counts as one. A file with fewer is read whole, a missing one from its start.
    public func startAtLast(_ lines: Int) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return }
        offset = LogReader.startOfLast(lines, fd: fd, size: st.st_size)
    }

    /// Reading stops at the file's present size.
    public func stopAtCurrentEnd() {
        var st = stat()
        end = stat(path, &st) == 0 ? st.st_size : 0
    }

    /// The offset where the last `lines` lines of the `size` bytes of `fd` begin.
    static func startOfLast(_ lines: Int, fd: Int32, size: off_t) -> off_t {
        guard lines > 0 else { return size }
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        var end = size, wanted = lines, first = true
        while end > 0 {
            let start = max(0, end - off_t(buf.count))
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, Int(end - start), start) }
            guard n == Int(end - start) else { return 0 }
            var i = n - 1
            // A newline ending the file ends the last line; it does not start another.
            if first, buf[i] == UInt8(ascii: "\n") { i -= 1 }
            first = false
            while i >= 0 {
                if buf[i] == UInt8(ascii: "\n") {
                    wanted -= 1
                    if wanted == 0 { return start + off_t(i) + 1 }
                }
                i -= 1
            }
            end = start
        }
        return 0
    }

    /// The new complete lines, prefixed; with `untilEnd`, an unfinished last line too. At
    /// most about `limit` bytes at a time (a long log is not read into memory whole): an
    /// empty answer means there is nothing more for now. A line longer than `limit` comes in
    /// pieces of about that size, each ended by a newline.
    public func readNew(untilEnd: Bool, limit: Int = 1 << 20) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return [] }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64 << 10)
        var out: [UInt8] = []
        let head = Array(prefix.utf8)
        var atEnd = false
        while out.count < limit {
            let room = end.map { Int(min(off_t(buf.count), max(0, $0 - offset))) } ?? buf.count
            let n = room == 0 ? 0 : buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, room, offset) }
            if n <= 0 {
                atEnd = true
                break
            }
            offset += off_t(n)
            var i = 0
            while i < n {
                guard let nl = buf[i..<n].firstIndex(of: UInt8(ascii: "\n")) else {
                    partial += buf[i..<n]
                    break
                }
                out += head
                out += partial
                out += buf[i...nl]
                partial.removeAll(keepingCapacity: true)
                i = nl + 1
            }
            if partial.count >= limit {
                out += head + partial + [UInt8(ascii: "\n")]
                partial.removeAll(keepingCapacity: true)
            }
        }
        if atEnd && untilEnd && !partial.isEmpty {
            out += head + partial + [UInt8(ascii: "\n")]
            partial.removeAll()
        }
        return out
    }
}
