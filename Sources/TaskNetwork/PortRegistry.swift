#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// A host port published by a task.
public struct PublishedPort: Codable, Sendable, Equatable, Hashable {
    public var hostIP: String
    public var hostPort: Int
    public var containerPort: Int
    /// "tcp" or "udp".
    public var proto: String

    public init(hostIP: String, hostPort: Int, containerPort: Int, proto: String) {
        self.hostIP = hostIP
        self.hostPort = hostPort
        self.containerPort = containerPort
        self.proto = proto
    }

    public var description: String { "\(hostIP):\(hostPort)/\(proto)" }
}

/// Host ports are a host-wide resource, so reservations live in /run/fargate-run/ports (not in
/// a state root): one file per address, port and protocol, created with O_EXCL and naming the
/// task that holds it. A reservation whose owner process is gone is stale and taken over.
public struct PortRegistry: Sendable {
    public struct Holder: Codable, Sendable {
        public var root: String
        public var taskId: String
        public var family: String
        public var owner: ProcessIdentity

        public init(root: String, taskId: String, family: String, owner: ProcessIdentity) {
            self.root = root
            self.taskId = taskId
            self.family = family
            self.owner = owner
        }
    }

    public let directory: String

    public init(directory: String = "/run/fargate-run/ports") {
        self.directory = directory
    }

    func path(_ p: PublishedPort) -> String { directory + "/\(p.proto)-\(p.hostIP)-\(p.hostPort)" }

    /// Reserves every port or none; the error names the port and who holds it.
    public func reserve(_ ports: [PublishedPort], holder: Holder) throws {
        try FileSystem.makeDirectories(directory, mode: 0o700)
        var done: [PublishedPort] = []
        do {
            for p in ports {
                try reserveOne(p, holder: holder)
                done.append(p)
            }
        } catch {
            release(done, taskId: holder.taskId)
            throw error
        }
    }

    private func reserveOne(_ p: PublishedPort, holder: Holder) throws {
        let file = path(p)
        let data = Array(try JSONEncoder().encode(holder))
        for attempt in 0..<2 {
            let fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd >= 0 {
                _ = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                close(fd)
                // The DNAT rule would hide a local listener; refuse a port something else has.
                if let other = PortRegistry.bound(p) {
                    unlink(file)
                    throw NetworkError.portInUse("host port \(p.description) is in use by another process on this host (\(other))")
                }
                return
            }
            guard errno == EEXIST else { throw NetworkError.system(SystemError("create", path: file)) }
            if let d = FileManager.default.contents(atPath: file), let h = try? JSONDecoder().decode(Holder.self, from: d) {
                if h.owner.isAlive {
                    throw NetworkError.portInUse("host port \(p.description) is already published by task \(h.taskId) (\(h.family)) in \(h.root)")
                }
            }
            if attempt == 0 { unlink(file) }  // stale: its task's fargate-run is gone
        }
        throw NetworkError.portInUse("host port \(p.description) is reserved and could not be taken over")
    }

    /// Frees the reservations `taskId` holds among `ports`.
    public func release(_ ports: [PublishedPort], taskId: String) {
        for p in ports {
            let file = path(p)
            if let d = FileManager.default.contents(atPath: file), let h = try? JSONDecoder().decode(Holder.self, from: d), h.taskId == taskId {
                unlink(file)
            }
        }
    }

    /// Every reservation held by a task of `root`.
    public func held(root: String) -> [(PublishedPort, Holder)] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return names.compactMap { n in
            let parts = n.split(separator: "-")
            guard parts.count >= 3, let port = Int(parts.last!),
                  let d = FileManager.default.contents(atPath: directory + "/" + n),
                  let h = try? JSONDecoder().decode(Holder.self, from: d), h.root == root else { return nil }
            let ip = parts.dropFirst().dropLast().joined(separator: "-")
            return (PublishedPort(hostIP: ip, hostPort: port, containerPort: 0, proto: String(parts[0])), h)
        }
    }

    /// Whether a socket is bound on the port already; returns a description if so.
    static func bound(_ p: PublishedPort) -> String? {
        let fd = socket(AF_INET, Int32(p.proto == "udp" ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(p.hostPort).bigEndian)
        guard inet_pton(AF_INET, p.hostIP, &addr.sin_addr) == 1 else { return nil }
        let r = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        return r != 0 && errno == EADDRINUSE ? "bind: address in use" : nil
    }
}
