#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// Task addresses of fargate-run's own network, kept exactly as the host-local CNI plugin keeps
/// them (its disk store, `plugins/ipam/host-local/backend/disk`): a directory per network, one
/// file per leased address holding "<container id>\r\n<interface>", `last_reserved_ip.0`, and
/// a `lock` file held with flock around every change. So host-local (which ran this network
/// before, and still runs users' conflists) and this pool see the same leases, and CNI DEL
/// with host-local releases a lease made here.
///
/// Allocation is host-local's too: the address after the last one reserved, wrapping, from
/// the subnet's second address to its second-to-last, never the gateway (the first).
struct AddressPool {
    let directory: String
    let subnet: ClosedRange<UInt32>
    let prefixLength: Int

    /// The network's pool: `dataDirectory/networkName`, as host-local names it.
    init(dataDirectory: String, networkName: String, subnet: String) throws {
        guard let range = HostPolicy.cidr(subnet), let bits = Int(subnet.split(separator: "/").last ?? ""), bits <= 30 else {
            throw NetworkError.config("subnet \(subnet): not an IPv4 CIDR with room for tasks (at most /30)")
        }
        directory = dataDirectory + "/" + networkName
        self.subnet = range
        prefixLength = bits
    }

    var gateway: UInt32 { subnet.lowerBound + 1 }

    static func text(_ a: UInt32) -> String { "\(a >> 24).\(a >> 16 & 0xff).\(a >> 8 & 0xff).\(a & 0xff)" }

    /// Leases an address to `id` (interface `interface`). Throws when the subnet is full.
    func reserve(id: String, interface: String = "eth0") throws -> UInt32 {
        try FileSystem.makeDirectories(directory)
        let lock = try FileLock(directory + "/lock")
        defer { lock.unlock() }
        let first = subnet.lowerBound + 1, last = subnet.upperBound - 1
        var candidate = first
        if let text = try? FileSystem.readString(directory + "/last_reserved_ip.0"),
           let previous = HostPolicy.cidr(text.trimmingCharacters(in: .whitespacesAndNewlines) + "/32")?.lowerBound,
           (first...last).contains(previous) {
            candidate = previous == last ? first : previous + 1
        }
        for _ in first...last {
            defer { candidate = candidate == last ? first : candidate + 1 }
            if candidate == gateway { continue }
            let ip = AddressPool.text(candidate)
            let path = directory + "/" + ip
            let fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            if fd < 0 {
                if errno == EEXIST { continue }
                throw SystemError("lease", path: path)
            }
            let content = Array((id.trimmingCharacters(in: .whitespaces) + "\r\n" + interface).utf8)
            let written = content.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
            guard written == content.count else {
                let e = SystemError("write lease", path: path)
                unlink(path)
                throw e
            }
            // In place, under the lock, as host-local writes it (os.WriteFile): a hint whose
            // loss costs only a longer search, not worth a new file per lease.
            try FileSystem.rewrite(directory + "/last_reserved_ip.0", Array(ip.utf8), creating: 0o600)
            return candidate
        }
        throw NetworkError.config("no free address left in \(AddressPool.text(subnet.lowerBound))/\(prefixLength)")
    }

    /// Releases every lease of `id` on `interface` (host-local's ReleaseByID). Returns how many.
    @discardableResult
    func release(id: String, interface: String = "eth0") throws -> Int {
        try AddressPool.release(id: id, interface: interface, directory: directory).count
    }

    /// Releases `id`'s leases in the pool at `directory`; returns their addresses.
    static func release(id: String, interface: String = "eth0", directory: String) throws -> [String] {
        guard FileSystem.isDirectory(directory) else { return [] }
        let lock = try FileLock(directory + "/lock")
        defer { lock.unlock() }
        // host-local's older leases hold the id alone.
        return leases(of: id, interface: interface, orBareId: true, directory: directory).filter { unlink(directory + "/" + $0) == 0 }
    }

    /// Releases `id`'s leases in every pool under `dataDirectory` (one per network); returns
    /// their addresses. For a task whose attachment was never recorded, so whose network is
    /// not known.
    static func releaseEverywhere(id: String, dataDirectory: String) throws -> [String] {
        let pools = (try? FileManager.default.contentsOfDirectory(atPath: dataDirectory)) ?? []
        return try pools.sorted().flatMap { try release(id: id, directory: dataDirectory + "/" + $0) }
    }

    /// The address leased to `id`, if any.
    func lease(of id: String, interface: String = "eth0") -> String? {
        AddressPool.leases(of: id, interface: interface, directory: directory).first
    }

    /// The addresses whose lease file names `id` on `interface` (or, with `orBareId`, `id` alone).
    private static func leases(of id: String, interface: String, orBareId: Bool = false, directory: String) -> [String] {
        let bare = id.trimmingCharacters(in: .whitespaces)
        let match = bare + "\r\n" + interface
        return ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { name in
            guard HostPolicy.cidr(name + "/32") != nil, let content = try? FileSystem.readString(directory + "/" + name) else { return false }
            let trimmed = content.trimmingCharacters(in: .whitespacesAndNewlines)
            return trimmed == match || (orBareId && trimmed == bare)
        }
    }

    /// An address's four bytes, in network order.
    static func bytes(_ a: UInt32) -> [UInt8] { [UInt8(a >> 24), UInt8(a >> 16 & 0xff), UInt8(a >> 8 & 0xff), UInt8(a & 0xff)] }
}
