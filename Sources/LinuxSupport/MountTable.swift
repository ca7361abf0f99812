/// The mounts a process sees, from /proc/PID/mountinfo (proc(5)).
public struct MountEntry: Sendable, Equatable {
    /// The path inside the mounted filesystem that is mounted here ("/" for a whole one, a
    /// subtree for a bind mount or a v1 cgroup hierarchy's part).
    public var root: String
    /// Where it is mounted, seen from the reading process's root.
    public var mountPoint: String
    /// "major:minor" of the filesystem's device (st_dev), as /sys/dev/block names it.
    public var device: String
    public var fstype: String
    /// The mount source, e.g. /dev/vda, or a name such as "cgroup2" or "overlay".
    public var source: String
    /// Per-superblock options: the cgroup v1 controllers, an ext4's "data=ordered", ...
    public var superOptions: [String]

    public init(root: String, mountPoint: String, device: String, fstype: String, source: String, superOptions: [String]) {
        self.root = root
        self.mountPoint = mountPoint
        self.device = device
        self.fstype = fstype
        self.source = source
        self.superOptions = superOptions
    }
}

public enum MountTable {
    /// The entries of a mountinfo file's text, in its order (a later mount on the same point
    /// covers an earlier one).
    public static func parse(_ text: String) -> [MountEntry] {
        var out: [MountEntry] = []
        for line in text.split(separator: "\n") {
            // id parent major:minor root mountpoint options [optional fields] - fstype source superopts
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard let dash = fields.firstIndex(of: "-"), dash >= 6, fields.count > dash + 3 else { continue }
            out.append(MountEntry(root: unescape(fields[3]), mountPoint: unescape(fields[4]), device: fields[2], fstype: fields[dash + 1],
                                  source: unescape(fields[dash + 2]), superOptions: fields[dash + 3].split(separator: ",").map(String.init)))
        }
        return out
    }

    /// The mount holding `path` (absolute, with no symlinks or "..": the caller resolves it):
    /// the last entry whose mount point is the path or one of its parents.
    public static func mount(holding path: String, in entries: [MountEntry]) -> MountEntry? {
        entries.last { m in
            m.mountPoint == "/" || path == m.mountPoint || path.hasPrefix(m.mountPoint + "/")
        }
    }

    /// mountinfo escapes space, tab, newline and backslash as \ooo.
    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "\\"), it.count >= 3, let v = UInt8(String(decoding: it.prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(v)
                it = it.dropFirst(3)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
