/// The load balancer's listeners, checked and put in a stable order, and the nft script that
/// makes them the whole of the table.
struct LoadBalancerTable {
    /// Each listener with its targets, sorted and without duplicates, so the same set of
    /// listeners always gives the same script.
    let listeners: [(LoadBalancerListener, [LoadBalancerTarget])]

    init(_ given: [LoadBalancerListener: [LoadBalancerTarget]]) throws {
        var out: [(LoadBalancerListener, [LoadBalancerTarget])] = []
        for (listener, targets) in given {
            guard let address = LoadBalancerTable.ipv4(listener.address) else {
                throw LoadBalancerError.config("listener \(listener): \(listener.address) is not an IPv4 address")
            }
            guard address != 0 else {
                throw LoadBalancerError.config("listener \(listener): 0.0.0.0 is not an address a connection is made to; name the address (127.0.0.1, the host's, the bridge's)")
            }
            guard (1...65535).contains(listener.port) else { throw LoadBalancerError.config("listener \(listener): port \(listener.port) is not 1-65535") }
            for t in targets {
                guard let ip = LoadBalancerTable.ipv4(t.ip) else { throw LoadBalancerError.config("listener \(listener): target \(t): \(t.ip) is not an IPv4 address") }
                guard ip >> 24 != 127, ip != 0 else { throw LoadBalancerError.config("listener \(listener): target \(t) is not a task's address") }
                guard (1...65535).contains(t.port) else { throw LoadBalancerError.config("listener \(listener): target \(t): port \(t.port) is not 1-65535") }
            }
            out.append((listener, Array(Set(targets)).sorted(by: LoadBalancerTable.order)))
        }
        listeners = out.sorted { LoadBalancerTable.order($0.0, $1.0) }
    }

    var hasLoopbackListener: Bool { listeners.contains { $0.0.address.hasPrefix("127.") } }

    /// Every target of every listener, once.
    var allTargets: [LoadBalancerTarget] { Array(Set(listeners.flatMap(\.1))).sorted(by: LoadBalancerTable.order) }

    /// The chain of one listener: `l_127_0_0_1_8080`, readable in `nft list`.
    static func chain(_ l: LoadBalancerListener) -> String { "l_" + l.address.replacingOccurrences(of: ".", with: "_") + "_\(l.port)" }

    /// The script: the table created (so the delete cannot fail), deleted and made again in one
    /// file, which nft commits as one transaction.
    ///
    /// - `listeners` maps address . port to the listener's chain; prerouting (connections from
    ///   tasks and other hosts) and output (from the host itself) look it up for TCP.
    /// - A listener's chain DNATs to `numgen random mod N` over its targets (kube-proxy's nft
    ///   mode does the same with a vmap of per-endpoint chains), or resets when it has none.
    /// - postrouting masquerades what the listeners DNATed: as an ALB's targets see the ALB's
    ///   address. Needed from loopback (the reply would go to the target's own 127.0.0.1) and
    ///   from a task on the target's own bridge (the reply would go to it directly, bypassing
    ///   the host's conntrack). Matched by the connection's original destination address (a
    ///   listener's) and its new destination (a target): conntrack's original tuple cannot be
    ///   matched as address . port in one set lookup (nft refuses ct proto-dst in a concatenation),
    ///   and a packet mark would collide with other software's use of the marks.
    func script(name: String) -> String {
        var s = "add table inet \(name)\ndelete table inet \(name)\ntable inet \(name) {\n"
        let entries = listeners.map { "\($0.0.address) . \($0.0.port) : goto \(LoadBalancerTable.chain($0.0))" }
        s += "  map listeners {\n    type ipv4_addr . inet_service : verdict\n"
        s += "    elements = { " + entries.joined(separator: ", ") + " }\n  }\n"
        let addresses = Set(listeners.map(\.0.address)).sorted { (LoadBalancerTable.ipv4($0) ?? 0) < (LoadBalancerTable.ipv4($1) ?? 0) }
        s += "  set listener_addresses {\n    type ipv4_addr\n    elements = { " + addresses.joined(separator: ", ") + " }\n  }\n"
        let targets = allTargets.map { "\($0.ip) . \($0.port)" }
        s += "  set targets {\n    type ipv4_addr . inet_service\n"
        if !targets.isEmpty { s += "    elements = { " + targets.joined(separator: ", ") + " }\n" }
        s += "  }\n"
        for (listener, targets) in listeners {
            s += "  chain \(LoadBalancerTable.chain(listener)) {\n"
            if targets.isEmpty {
                s += "    meta l4proto tcp reject with tcp reset comment \"no registered target\"\n"
            } else {
                let picks = targets.enumerated().map { "\($0.offset) : \($0.element.ip) . \($0.element.port)" }
                s += "    meta l4proto tcp dnat ip to numgen random mod \(targets.count) map { " + picks.joined(separator: ", ") + " }\n"
            }
            s += "  }\n"
        }
        s += "  chain prerouting {\n    type nat hook prerouting priority dstnat - 10; policy accept;\n"
        s += "    meta l4proto tcp ip daddr . tcp dport vmap @listeners\n  }\n"
        // nft 1.0 takes no "dstnat" keyword in the output hook: -100 is its value.
        s += "  chain output {\n    type nat hook output priority -110; policy accept;\n"
        s += "    meta l4proto tcp ip daddr . tcp dport vmap @listeners\n  }\n"
        s += "  chain postrouting {\n    type nat hook postrouting priority srcnat - 10; policy accept;\n"
        s += "    ct status dnat ct original ip daddr @listener_addresses meta l4proto tcp ip daddr . tcp dport @targets masquerade\n  }\n"
        s += "}\n"
        return s
    }

    static func order(_ a: LoadBalancerListener, _ b: LoadBalancerListener) -> Bool {
        (ipv4(a.address) ?? 0, a.port) < (ipv4(b.address) ?? 0, b.port)
    }

    static func order(_ a: LoadBalancerTarget, _ b: LoadBalancerTarget) -> Bool {
        (ipv4(a.ip) ?? 0, a.port) < (ipv4(b.ip) ?? 0, b.port)
    }

    /// A dotted quad as a number; nil for anything else (no leading zeros, no short forms:
    /// nft would read 010 as octal).
    static func ipv4(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for p in parts {
            guard !p.isEmpty, p.count <= 3, p.allSatisfy(\.isASCII), p.allSatisfy(\.isNumber), p == "0" || !p.hasPrefix("0"),
                  let byte = UInt8(p) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
