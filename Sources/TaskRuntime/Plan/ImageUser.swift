#if canImport(Glibc)
import Glibc
#endif
import CShim
import Sandbox

/// Resolves a container's `user` ("uid", "uid:gid", "name", "name:group") against the image's
/// /etc/passwd and /etc/group, as Docker does, with supplementary groups from /etc/group.
public enum ImageUser {
    public struct ResolutionError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// - Parameter layers: snapshot directories, bottom first.
    public static func resolve(_ spec: String?, layers: [String]) throws -> ContainerSpec.User {
        let s = spec ?? ""
        if s.isEmpty { return ContainerSpec.User(uid: 0, gid: 0, additionalGids: groups(forUser: "root", gid: 0, layers: layers)) }
        let parts = s.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        var passwd = parsePasswd(readFile("etc/passwd", layers: layers) ?? "")
        var uid: UInt32
        var gid: UInt32 = 0
        var userName: String?
        if let n = UInt32(parts[0]) {
            uid = n
            if let entry = passwd.first(where: { $0.uid == n }) {
                gid = entry.gid
                userName = entry.name
            }
        } else {
            if parts[0] == "root", !passwd.contains(where: { $0.name == "root" }) {
                // Images without /etc/passwd still know root.
                passwd.append(PasswdEntry(name: "root", uid: 0, gid: 0))
            }
            guard let entry = passwd.first(where: { $0.name == parts[0] }) else {
                throw ResolutionError(description: "user \"\(parts[0])\" not found in the image's /etc/passwd")
            }
            uid = entry.uid
            gid = entry.gid
            userName = entry.name
        }
        if parts.count == 2 {
            if let n = UInt32(parts[1]) {
                gid = n
            } else {
                let groupFile = parseGroup(readFile("etc/group", layers: layers) ?? "")
                guard let g = groupFile.first(where: { $0.name == parts[1] }) else {
                    throw ResolutionError(description: "group \"\(parts[1])\" not found in the image's /etc/group")
                }
                gid = g.gid
            }
        }
        let extra = userName.map { groups(forUser: $0, gid: gid, layers: layers) } ?? [gid]
        return ContainerSpec.User(uid: uid, gid: gid, additionalGids: extra)
    }

    /// The primary group first (as runc sets it), then the groups listing the user as a member.
    static func groups(forUser name: String, gid: UInt32, layers: [String]) -> [UInt32] {
        let g = parseGroup(readFile("etc/group", layers: layers) ?? "")
        var out: [UInt32] = [gid]
        for entry in g where entry.members.contains(name) && entry.gid != gid && !out.contains(entry.gid) { out.append(entry.gid) }
        return out
    }

    struct PasswdEntry { var name: String; var uid: UInt32; var gid: UInt32 }
    struct GroupEntry { var name: String; var gid: UInt32; var members: [String] }

    static func parsePasswd(_ text: String) -> [PasswdEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 4, let u = UInt32(f[2]), let g = UInt32(f[3]) else { return nil }
            return PasswdEntry(name: String(f[0]), uid: u, gid: g)
        }
    }

    static func parseGroup(_ text: String) -> [GroupEntry] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: ":", omittingEmptySubsequences: false)
            guard f.count >= 3, let g = UInt32(f[2]) else { return nil }
            let members = f.count > 3 ? f[3].split(separator: ",").map(String.init) : []
            return GroupEntry(name: String(f[0]), gid: g, members: members)
        }
    }

    /// Reads a small file as the merged image would show it: the topmost layer that has it
    /// wins; a whiteout or an opaque parent directory hides lower layers. Lookups stay inside
    /// each layer (RESOLVE_IN_ROOT), so a symlinked /etc/passwd cannot point at the host.
    static func readFile(_ relative: String, layers: [String]) -> String? {
        for layer in layers.reversed() {
            let root = open(layer, Int32(FR_O_PATH) | O_DIRECTORY | O_CLOEXEC)
            guard root >= 0 else { continue }
            defer { close(root) }
            var st = stat()
            if fstatat(root, relative, &st, AT_SYMLINK_NOFOLLOW) == 0, (st.st_mode & S_IFMT) == S_IFCHR, st.st_rdev == 0 {
                return nil  // whited out
            }
            let fd = fr_openat2(root, relative, O_RDONLY | O_CLOEXEC, 0, UInt64(FR_RESOLVE_IN_ROOT | FR_RESOLVE_NO_MAGICLINKS))
            if fd >= 0 {
                defer { close(fd) }
                var out: [UInt8] = []
                var buf = [UInt8](repeating: 0, count: 65536)
                while out.count < 4 << 20 {
                    let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if n <= 0 { break }
                    out += buf[0..<n]
                }
                return String(decoding: out, as: UTF8.self)
            }
            // An opaque directory in this layer hides the same directory below.
            let dir = relative.split(separator: "/").dropLast().joined(separator: "/")
            var v: UInt8 = 0
            if !dir.isEmpty, getxattr(layer + "/" + dir, "trusted.overlay.opaque", &v, 1) == 1, v == UInt8(ascii: "y") {
                return nil
            }
        }
        return nil
    }
}
