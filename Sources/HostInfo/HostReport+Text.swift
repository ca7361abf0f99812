import Foundation

extension HostReport {
    /// The report for people, in sections as `docker info` prints them, problems last.
    public var text: String {
        var out = "fargate-run: \(build.version) (commit \(build.commit))\n"
        func line(_ key: String, _ value: String) { out += " \(key): \(value)\n" }

        out += "Kernel: \(kernel.release)\n"
        line("overlayfs", [
            kernel.overlay == .available ? "yes" : (kernel.overlay == .module ? "as a module, loaded on first use" : "no"),
            kernel.overlayVolatile ? "volatile" : "not volatile (Linux 5.10)",
        ].joined(separator: ", "))
        line("openat2", kernel.openat2.rawValue)
        line("pidfd", kernel.pidfd.rawValue)
        line("clone3", kernel.clone3.rawValue + (kernel.clone3 == .yes ? "" : " (clone and a move into the cgroup instead)"))
        line("user namespaces", (kernel.maxUserNamespaces.map { $0 > 0 ? "up to \($0)" : "disabled" } ?? "unknown") + " (not used by fargate-run)")

        out += "Cgroups: \(cgroups.layout.rawValue) layout, driver \(cgroups.driver?.rawValue ?? "none")\n"
        if let e = cgroups.probeError { line("error", e) }
        if let p = cgroups.parent { line("parent", p) }
        line("controllers", cgroups.controllers.isEmpty ? "none" : cgroups.controllers.joined(separator: " "))
        if !cgroups.missing.isEmpty { line("missing", cgroups.missing.joined(separator: " ")) }

        out += "Firewall:\n"
        switch firewall.nftables {
        case .library: line("nftables", "libnftables, in process")
        case .program: line("nftables", "the nft program (libnftables does not load)")
        case .missing: line("nftables", "not installed")
        }
        line("iptables", firewall.iptables.map { "\($0) (\(firewall.iptablesBackend ?? "?"))" } ?? "not installed (only needed where another firewall drops forwarded traffic)")
        line("br_netfilter", firewall.bridgeFiltering ? "loaded" : "not loaded")

        out += "Network (default): \(network.mode)\n"
        line("bridge", network.bridge + (network.bridgeExists ? "" : " (made with the first task)"))
        line("subnet", network.subnet)
        line("published ports on", network.publishAddress)
        line("host state", network.hostStateDirectory)
        line("CNI plugins", (network.cniPlugins.isEmpty ? "none" : network.cniPlugins.joined(separator: " "))
             + " (in \(network.cniPluginDirectories.joined(separator: ", ")))")

        out += "State root: \(stateRoot.path)\(stateRoot.exists ? "" : " (made on first use)")\n"
        if let fs = stateRoot.filesystem {
            let journal = stateRoot.journal.map { $0 ? ", journaled" : ", no journal" } ?? ""
            line("filesystem", "\(fs) on \(stateRoot.device ?? "?"), mounted at \(stateRoot.mountPoint ?? "?")\(journal)")
        }
        if let free = stateRoot.freeBytes, let total = stateRoot.totalBytes {
            line("free", "\(HostReport.size(free)) of \(HostReport.size(total))")
        }

        out += "Libraries:\n"
        line("libarchive", libraries.archiveError ?? "loads")

        out += "Prices: \(prices.region), \(prices.file ?? "built in")\(prices.source.map { " (\($0))" } ?? "")\n"
        for p in prices.platforms { line(p.name, "\(p.vcpuHour) per vCPU-hour, \(p.gbHour) per GB-hour") }
        line("ephemeral storage", "\(prices.ephemeralStorageGBHour) per GB-hour above 20 GB")

        if problems.isEmpty {
            out += "\nNo problems found.\n"
        } else {
            out += "\nProblems:\n"
            for p in problems { out += " \(p.severity.rawValue): \(p.message)\n   fix: \(p.fix)\n" }
        }
        return out
    }

    /// The report as JSON (sorted keys; money as decimal strings, as `report --format json`).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    /// "78.0 GiB", "512 MiB".
    static func size(_ bytes: UInt64) -> String {
        bytes >= 1 << 30 ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) : "\(bytes >> 20) MiB"
    }
}
