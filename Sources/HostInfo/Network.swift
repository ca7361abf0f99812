#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LinuxSupport
import TaskNetwork

extension HostReport {
    /// The network tasks get unless told otherwise (`NetworkOptions`' defaults), and the CNI
    /// plugins a `--network-config` conflist could use.
    public struct Network: Codable, Sendable, Equatable {
        public var mode: String
        public var bridge: String
        /// Whether the bridge exists now (it is made with the first task).
        public var bridgeExists: Bool
        public var subnet: String
        public var publishAddress: String
        /// Leases and port reservations shared by every state root.
        public var hostStateDirectory: String
        public var cniPluginDirectories: [String]
        /// Plugin programs found in those directories, sorted.
        public var cniPlugins: [String]

        public init(mode: String, bridge: String, bridgeExists: Bool, subnet: String, publishAddress: String, hostStateDirectory: String,
                    cniPluginDirectories: [String], cniPlugins: [String]) {
            self.mode = mode
            self.bridge = bridge
            self.bridgeExists = bridgeExists
            self.subnet = subnet
            self.publishAddress = publishAddress
            self.hostStateDirectory = hostStateDirectory
            self.cniPluginDirectories = cniPluginDirectories
            self.cniPlugins = cniPlugins
        }

        public static func probe(_ options: NetworkOptions) -> Network {
            let plugins: [String] = options.pluginDirectories.flatMap { dir in
                ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { access(dir + "/" + $0, X_OK) == 0 }
            }
            return Network(mode: options.mode.rawValue, bridge: options.bridge, bridgeExists: FileSystem.exists("/sys/class/net/" + options.bridge),
                           subnet: options.subnet, publishAddress: options.publishAddress, hostStateDirectory: options.hostStateDirectory,
                           cniPluginDirectories: options.pluginDirectories, cniPlugins: Set(plugins).sorted())
        }

        var problems: [Problem] {
            guard cniPlugins.isEmpty else { return [] }
            return [Problem(.warning, "no CNI plugins in \(cniPluginDirectories.joined(separator: ", ")): fargate-run's own network works, a --network-config conflist cannot",
                            fix: "apt-get install containernetworking-plugins")]
        }
    }
}
