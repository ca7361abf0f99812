#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport

/// The kernel settings the table needs: br_netfilter for security groups, route_localnet for
/// ports published on 127.0.0.1.
extension HostPolicy {
    /// Present where br_netfilter is loaded.
    static let bridgeFilteringKnob = "/proc/sys/net/bridge/bridge-nf-call-iptables"

    /// Bridged traffic between tasks passes the inet hooks only through br_netfilter.
    static func enableBridgeFiltering() throws {
        let knob = bridgeFilteringKnob
        guard FileSystem.exists(knob) else {
            throw NetworkError.config("security groups need br_netfilter (modprobe br_netfilter): without it tasks on one bridge reach each other unfiltered")
        }
        if (try? FileSystem.readString(knob))?.hasPrefix("1") != true { try FileSystem.writeString(knob, "1") }
    }

    /// DNAT of 127.0.0.1 to a task needs the kernel to route loopback-sourced packets out of
    /// the bridge (as the portmap plugin does).
    static func routeLocalnet(bridge: String) throws {
        let knob = "/proc/sys/net/ipv4/conf/\(bridge)/route_localnet"
        if FileSystem.exists(knob), (try? FileSystem.readString(knob))?.hasPrefix("1") != true { try FileSystem.writeString(knob, "1") }
    }
}
