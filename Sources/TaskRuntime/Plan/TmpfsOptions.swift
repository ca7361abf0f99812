#if canImport(Glibc)
import Glibc
#endif

/// ECS tmpfs `mountOptions` to mount(2) flags and tmpfs data. Defaults are Docker's for
/// `--tmpfs`: nosuid, nodev, noexec (unless "exec" is asked for), mode 1777.
public enum TmpfsOptions {
    /// - Returns: flags, data options (besides size), and the options not applied.
    public static func parse(_ options: [String]) -> (flags: UInt, data: [String], ignored: [String]) {
        var flags = UInt(MS_NOSUID | MS_NODEV | MS_NOEXEC)
        var data: [String] = []
        var ignored: [String] = []
        let set: [String: UInt] = ["ro": UInt(MS_RDONLY), "sync": UInt(MS_SYNCHRONOUS), "dirsync": UInt(MS_DIRSYNC),
                                   "noatime": UInt(MS_NOATIME), "nodiratime": UInt(MS_NODIRATIME),
                                   "relatime": UInt(MS_RELATIME), "strictatime": UInt(MS_STRICTATIME)]
        let clear: [String: UInt] = ["rw": UInt(MS_RDONLY), "exec": UInt(MS_NOEXEC), "async": UInt(MS_SYNCHRONOUS),
                                     "atime": UInt(MS_NOATIME), "diratime": UInt(MS_NODIRATIME),
                                     "norelatime": UInt(MS_RELATIME), "nostrictatime": UInt(MS_STRICTATIME)]
        for o in options {
            let name = o.split(separator: "=", maxSplits: 1).first.map(String.init) ?? o
            if let f = set[o] {
                flags |= f
            } else if let f = clear[o] {
                flags &= ~f
            } else if ["mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"].contains(name), o.contains("="),
                      !o.contains(",") {
                data.append(o)
            } else if ["defaults", "nosuid", "nodev", "noexec", "mand", "nomand"].contains(o) {
                if o == "noexec" { flags |= UInt(MS_NOEXEC) }
            } else {
                // suid and dev would weaken the sandbox; bind, remount and propagation flags mean
                // nothing for a fresh tmpfs in a private mount namespace.
                ignored.append(o)
            }
        }
        if !data.contains(where: { $0.hasPrefix("mode=") }) { data.insert("mode=1777", at: 0) }
        return (flags, data, ignored)
    }
}
