import Foundation

/// Writes ustar archives entry by entry, including ones no well-behaved tool would produce
/// (absolute names, "..", links out of the tree, duplicates): the hostile layers of the tests.
public struct TarWriter {
    public enum Kind: UInt8 {
        case file = 48, hardlink = 49, symlink = 50, char = 51, block = 52, directory = 53, fifo = 54
    }

    public private(set) var bytes: [UInt8] = []

    public init() {}

    public mutating func add(_ name: String, kind: Kind = .file, content: [UInt8] = [], mode: Int = 0o644, uid: Int = 0, gid: Int = 0,
                             link: String = "", mtime: Int = 1_700_000_000, devMajor: Int = 0, devMinor: Int = 0) {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ s: String, _ off: Int, _ len: Int) {
            let b = Array(s.utf8.prefix(len))
            for (i, c) in b.enumerated() { h[off + i] = c }
        }
        func octal(_ v: Int, _ off: Int, _ len: Int) {
            put(String(String(v, radix: 8).suffix(len - 1)).leftPadded(to: len - 1), off, len - 1)
        }
        var prefix = "", shortName = name
        if name.utf8.count > 100, let slash = name.utf8.prefix(155).lastIndex(of: UInt8(ascii: "/")) {
            prefix = String(name[..<slash])
            shortName = String(name[name.index(after: slash)...])
        }
        put(shortName, 0, 100)
        octal(mode, 100, 8)
        octal(uid, 108, 8)
        octal(gid, 116, 8)
        octal(kind == .file ? content.count : 0, 124, 12)
        octal(mtime, 136, 12)
        for i in 148..<156 { h[i] = 32 }
        h[156] = kind.rawValue
        put(link, 157, 100)
        put("ustar", 257, 6)
        put("00", 263, 2)
        octal(devMajor, 329, 8)
        octal(devMinor, 337, 8)
        put(prefix, 345, 155)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(String(String(sum, radix: 8)).leftPadded(to: 6), 148, 6)
        h[154] = 0
        h[155] = 32
        bytes += h
        if kind == .file {
            bytes += content
            bytes += [UInt8](repeating: 0, count: (512 - content.count % 512) % 512)
        }
    }

    /// The archive with its end marker.
    public func finished() -> [UInt8] { bytes + [UInt8](repeating: 0, count: 1024) }
}

extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
