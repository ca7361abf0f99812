#if canImport(Glibc)
import Glibc
#endif
import CShim
import LinuxSupport

/// rtnetlink requests, built by hand: the few fargate-run's own network needs (a bridge, a veth
/// pair with one end in the task's namespace, an address, a route), each acknowledged by the
/// kernel. Constants are the kernel's (<linux/netlink.h>, <linux/rtnetlink.h>, <linux/if_link.h>,
/// <linux/veth.h>); Swift's Glibc module exports none of them.
enum Netlink {
    static let RTM_NEWLINK: UInt16 = 16, RTM_DELLINK: UInt16 = 17, RTM_GETLINK: UInt16 = 18
    static let RTM_NEWADDR: UInt16 = 20, RTM_NEWROUTE: UInt16 = 24
    static let NLM_F_REQUEST: UInt16 = 0x1, NLM_F_ACK: UInt16 = 0x4, NLM_F_EXCL: UInt16 = 0x200, NLM_F_CREATE: UInt16 = 0x400
    static let NLMSG_ERROR: UInt16 = 2
    static let IFLA_ADDRESS: UInt16 = 1, IFLA_IFNAME: UInt16 = 3, IFLA_MASTER: UInt16 = 10, IFLA_LINKINFO: UInt16 = 18
    static let IFLA_NET_NS_FD: UInt16 = 28, IFLA_INFO_KIND: UInt16 = 1, IFLA_INFO_DATA: UInt16 = 2, VETH_INFO_PEER: UInt16 = 1
    static let IFA_ADDRESS: UInt16 = 1, IFA_LOCAL: UInt16 = 2, IFA_BROADCAST: UInt16 = 4
    static let RTA_GATEWAY: UInt16 = 5, RTA_OIF: UInt16 = 4
    static let IFF_UP: UInt32 = 1
    static let NETLINK_ROUTE: Int32 = 0

    /// A message body: the fixed header of its family, then attributes, each padded to 4 bytes.
    struct Message {
        var bytes: [UInt8] = []

        mutating func append<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { bytes += $0 }
        }

        /// struct ifinfomsg: family, pad, type, index, flags, change.
        mutating func ifinfo(index: Int32 = 0, up: Bool = false) {
            bytes += [0, 0]
            append(UInt16(0))
            append(index)
            append(up ? IFF_UP : 0)
            append(up ? IFF_UP : 0)
        }

        /// struct ifaddrmsg: family, prefixlen, flags, scope, index.
        mutating func ifaddr(prefixLength: Int, index: Int32) {
            bytes += [UInt8(AF_INET), UInt8(prefixLength), 0, 0]
            append(UInt32(bitPattern: index))
        }

        /// struct rtmsg for a unicast IPv4 route in the main table, added by the admin (boot).
        mutating func route(destinationLength: Int) {
            bytes += [UInt8(AF_INET), UInt8(destinationLength), 0, 0, 254 /* main */, 3 /* boot */, 0 /* universe */, 1 /* unicast */]
            append(UInt32(0))
        }

        mutating func attribute(_ type: UInt16, _ payload: [UInt8]) {
            let length = 4 + payload.count
            append(UInt16(length))
            append(type)
            bytes += payload
            bytes += [UInt8](repeating: 0, count: (4 - length % 4) % 4)
        }

        mutating func attribute(_ type: UInt16, string: String) { attribute(type, Array(string.utf8) + [0]) }
        mutating func attribute(_ type: UInt16, u32: UInt32) { withUnsafeBytes(of: u32.littleEndian) { attribute(type, Array($0)) } }

        /// A nested attribute whose content `body` appends (without NLA_F_NESTED, as iproute2
        /// sends them; the kernel parses these attributes either way).
        mutating func nested(_ type: UInt16, _ body: (inout Message) -> Void) {
            let start = bytes.count
            append(UInt16(0))
            append(type)
            body(&self)
            let length = UInt16(bytes.count - start)
            bytes[start] = UInt8(length & 0xff)
            bytes[start + 1] = UInt8(length >> 8)
        }
    }

    /// A NETLINK_ROUTE socket of the caller's network namespace, or of another one.
    final class Socket {
        let fd: Int32
        private var sequence: UInt32 = 0

        /// In this process's namespace.
        init() throws(SystemError) {
            fd = socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Netlink.NETLINK_ROUTE)
            guard fd >= 0 else { throw SystemError("netlink socket") }
        }

        /// In the namespace pinned at `namespacePath`.
        init(namespace namespacePath: String) throws(SystemError) {
            fd = fr_netns_socket(namespacePath, Netlink.NETLINK_ROUTE)
            guard fd >= 0 else { throw SystemError("netlink socket in", path: namespacePath) }
        }

        deinit { close(fd) }

        /// Sends one request and waits for the kernel's answer. Returns the reply messages
        /// before the acknowledgement (for a GET); throws the kernel's errno, named `what`.
        @discardableResult
        func request(_ type: UInt16, flags: UInt16 = 0, _ body: Message, what: String) throws(SystemError) -> [[UInt8]] {
            sequence &+= 1
            var m = Message()
            m.append(UInt32(16 + body.bytes.count))
            m.append(type)
            m.append(NLM_F_REQUEST | NLM_F_ACK | flags)
            m.append(sequence)
            m.append(UInt32(0))
            m.bytes += body.bytes
            let sent = m.bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            guard sent == m.bytes.count else { throw SystemError("netlink send: " + what) }
            var replies: [[UInt8]] = []
            var buffer = [UInt8](repeating: 0, count: 32 * 1024)
            while true {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { throw SystemError("netlink receive: " + what) }
                var offset = 0
                while offset + 16 <= n {
                    let length = Int(Netlink.u32(buffer, offset))
                    let kind = UInt16(buffer[offset + 4]) | UInt16(buffer[offset + 5]) << 8
                    let seq = Netlink.u32(buffer, offset + 8)
                    guard length >= 16, offset + length <= n else { break }
                    if seq == sequence {
                        if kind == Netlink.NLMSG_ERROR {
                            let code = Int32(bitPattern: Netlink.u32(buffer, offset + 16))
                            if code == 0 { return replies }
                            throw SystemError(what, errno: -code)
                        }
                        replies.append(Array(buffer[(offset + 16)..<(offset + length)]))
                    }
                    offset += (length + 3) & ~3
                }
            }
        }

        /// Interface `name` in this socket's namespace: its index, and its kind ("bridge",
        /// "veth"; nil for a device without one, such as a physical NIC). Throws ENODEV when
        /// there is none. The kind is the kernel's own, set before the device can be found by
        /// name, where sysfs's per-kind directories appear a moment after the device does.
        func link(named name: String) throws(SystemError) -> (index: Int32, kind: String?) {
            var m = Message()
            m.ifinfo()
            m.attribute(IFLA_IFNAME, string: name)
            let replies = try request(RTM_GETLINK, m, what: "find interface \(name)")
            guard let reply = replies.first, reply.count >= 16 else { throw SystemError("find interface \(name)", errno: ENODEV) }
            let index = Int32(bitPattern: Netlink.u32(reply, 4))
            guard let info = Netlink.attribute(IFLA_LINKINFO, in: reply, from: 16),
                  let kind = Netlink.attribute(IFLA_INFO_KIND, in: info, from: 0) else { return (index, nil) }
            return (index, String(decoding: kind.prefix { $0 != 0 }, as: UTF8.self))
        }

        /// The index of interface `name` in this socket's namespace.
        func index(of name: String) throws(SystemError) -> Int32 {
            try link(named: name).index
        }
    }

    /// The payload of the first attribute of `type` in `bytes` from `start` on.
    static func attribute(_ type: UInt16, in bytes: [UInt8], from start: Int) -> [UInt8]? {
        var offset = start
        while offset + 4 <= bytes.count {
            let length = Int(UInt16(bytes[offset]) | UInt16(bytes[offset + 1]) << 8)
            let kind = (UInt16(bytes[offset + 2]) | UInt16(bytes[offset + 3]) << 8) & 0x3fff  // without NESTED, BYTEORDER
            guard length >= 4, offset + length <= bytes.count else { return nil }
            if kind == type { return Array(bytes[(offset + 4)..<(offset + length)]) }
            offset += (length + 3) & ~3
        }
        return nil
    }

    static func u32(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
}
