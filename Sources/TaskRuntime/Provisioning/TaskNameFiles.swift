#if canImport(Glibc)
import Glibc
#endif
import LinuxSupport
import Sandbox
import TaskNetwork

/// A task's /etc/hosts, /etc/resolv.conf and /etc/hostname, bind-mounted read-only into every
/// container. Containers made ready while the network attaches mount them before the task's
/// address is known: a second write, once it is, rewrites hosts and hostname in place (the
/// same inodes) before any of those containers runs.
///
/// hosts ends with the service discovery names of the task's cluster (`ServiceNameRecords`),
/// read from `recordsFile` under the cluster's lock at every write, so neither write drops
/// them and a task started after they changed gets them from the start.
final class TaskNameFiles {
    let directory: String
    /// The cluster's service discovery records (`ServiceNameRecords.recordsFile`); nil: none.
    let recordsFile: String?
    /// The bind mounts, once the files exist.
    private(set) var mounts: [ContainerSpec.Mount] = []
    /// What hosts and hostname last had written.
    private var written: ([UInt8], [UInt8]) = ([], [])

    init(directory: String, recordsFile: String? = nil) {
        self.directory = directory
        self.recordsFile = recordsFile
    }

    /// The files another process wrote (a task resumed by a new host).
    init(existing directory: String) {
        self.directory = directory
        recordsFile = try? FileSystem.readString(directory + "/" + ServiceNameRecords.followsFile)
        written = (Array(((try? FileSystem.readString(directory + "/hosts")) ?? "").utf8),
                   Array(((try? FileSystem.readString(directory + "/hostname")) ?? "").utf8))
        mounts = TaskNameFiles.mounts(directory)
    }

    /// Writes the files for `ip` (nil while unknown) and `hostname`; returns a warning about
    /// the DNS servers, if any.
    func write(ip: String?, hostname: String, dnsServers: [String]) throws -> String? {
        // The cluster's lock orders this against ServiceNameRecords.publish (see there).
        let lock = try recordsFile.map { try ServiceNameRecords.lock($0) }
        defer { lock?.unlock() }
        let names = try recordsFile.map { try ServiceNameRecords.currentBlock($0) } ?? ""
        let hosts = Array((NameFiles.hosts(ip: ip, hostname: hostname) + names).utf8), name = Array((hostname + "\n").utf8)
        guard mounts.isEmpty else {
            guard (hosts, name) != written else { return nil }
            try FileSystem.rewrite(directory + "/hosts", hosts)
            try FileSystem.rewrite(directory + "/hostname", name)
            written = (hosts, name)
            return nil
        }
        written = (hosts, name)
        try FileSystem.makeDirectories(directory, mode: 0o755)
        let (resolv, warning) = NameFiles.resolvConf(servers: dnsServers)
        // A new directory that nothing reads until the containers mount these: no atomic writes.
        try FileSystem.createFile(directory + "/hosts", hosts)
        try FileSystem.createFile(directory + "/resolv.conf", Array(resolv.utf8))
        try FileSystem.createFile(directory + "/hostname", name)
        // Names the records this task follows, for publish to find it (not mounted anywhere).
        if let recordsFile { try FileSystem.createFile(directory + "/" + ServiceNameRecords.followsFile, Array(recordsFile.utf8), mode: 0o600) }
        mounts = TaskNameFiles.mounts(directory)
        return warning
    }

    /// Each file bind-mounted read-only over the container's own.
    static func mounts(_ directory: String) -> [ContainerSpec.Mount] {
        let ro = UInt(MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
        return ["hosts", "resolv.conf", "hostname"].map {
            ContainerSpec.Mount(source: directory + "/" + $0, target: "/etc/" + $0, fstype: nil, flags: ro, kind: .file)
        }
    }
}
