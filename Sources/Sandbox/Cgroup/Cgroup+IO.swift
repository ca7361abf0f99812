import LinuxSupport

extension Cgroup {
    /// Bytes read from and written to block devices by the cgroup's processes (io.stat on
    /// v2; blkio's recursive service bytes on v1), summed over devices. Zero where the
    /// controller is not the cgroup's: on v1 fargate-run makes no blkio cgroups unless blkio
    /// shares a hierarchy it manages; on v2 when io is not enabled.
    public func blockIO() -> (read: UInt64, written: UInt64) {
        var read: UInt64 = 0, written: UInt64 = 0
        switch host.version {
        case .v2:
            guard let text = try? FileSystem.readString(directories[0] + "/io.stat") else { return (0, 0) }
            for line in text.split(separator: "\n") {
                for field in line.split(separator: " ").dropFirst() {
                    let kv = field.split(separator: "=")
                    guard kv.count == 2, let v = UInt64(kv[1]) else { continue }
                    if kv[0] == "rbytes" { read += v } else if kv[0] == "wbytes" { written += v }
                }
            }
        case .v1:
            guard let dir = directory(for: "blkio"), host.hierarchies.contains(where: { $0.controllers.contains("blkio") }),
                  let text = (try? FileSystem.readString(dir + "/blkio.throttle.io_service_bytes_recursive"))
                    ?? (try? FileSystem.readString(dir + "/blkio.throttle.io_service_bytes")) else { return (0, 0) }
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ")
                guard f.count == 3, let v = UInt64(f[2]) else { continue }
                if f[1] == "Read" { read += v } else if f[1] == "Write" { written += v }
            }
        }
        return (read, written)
    }
}
