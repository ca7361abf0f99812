/// Which interface the host's main routing table sends an IPv4 address out of, read from
/// /proc/net/route's text: longest prefix first, then lowest metric, as the kernel picks among
/// the main table's routes. (Policy routing rules and other tables are not consulted: the
/// load balancer only needs the bridge a task is on, which a connected route names.)
enum RouteLookup {
    struct Route: Equatable {
        var interface: String
        /// The next hop, nil for a directly connected network.
        var gateway: String?
    }

    static func route(to ip: String, table: String) throws -> Route {
        guard let address = LoadBalancerTable.ipv4(ip) else { throw LoadBalancerError.config("\(ip) is not an IPv4 address") }
        var best: (mask: UInt32, metric: Int, route: Route)?
        for line in table.split(separator: "\n").dropFirst() {
            let f = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            // Iface Destination Gateway Flags RefCnt Use Metric Mask ...
            guard f.count >= 8, let dest = UInt32(f[1], radix: 16), let gw = UInt32(f[2], radix: 16),
                  let flags = UInt32(f[3], radix: 16), let metric = Int(f[6]), let mask = UInt32(f[7], radix: 16) else { continue }
            // The kernel prints each __be32 as a number: host byte order turns it around.
            let (d, m, g) = (UInt32(bigEndian: dest), UInt32(bigEndian: mask), UInt32(bigEndian: gw))
            // RTF_UP set, RTF_REJECT (0x200) not.
            guard flags & 0x1 != 0, flags & 0x200 == 0, address & m == d else { continue }
            if let b = best, b.mask > m || (b.mask == m && b.metric <= metric) { continue }
            let gateway = flags & 0x2 != 0 ? [24, 16, 8, 0].map { String(g >> UInt32($0) & 0xff) }.joined(separator: ".") : nil
            best = (m, metric, Route(interface: String(f[0]), gateway: gateway))
        }
        guard let best else { throw LoadBalancerError.config("no route to \(ip) in the main routing table") }
        return best.route
    }
}
