import ECSModel
import Foundation
import LinuxSupport

/// Network errors name the plugin, the operation and what the plugin said.
public enum NetworkError: Error, CustomStringConvertible, Sendable {
    case plugin(plugin: String, command: String, message: String)
    case config(String)
    case portInUse(String)
    case system(SystemError)

    public var description: String {
        switch self {
        case .plugin(let p, let c, let m): return "CNI \(p) \(c): \(m)"
        case .config(let m): return "network configuration: \(m)"
        case .portInUse(let m): return m
        case .system(let e): return e.description
        }
    }
}

/// A CNI network configuration list (the `.conflist` format), kept as JSON.
public struct CNIConfigList: Sendable {
    public let name: String
    public let cniVersion: String
    /// Each plugin's configuration object, serialized.
    public let plugins: [Data]
    /// The list as given, for the cache (DEL must use the configuration ADD used).
    public let raw: Data

    public init(data: Data) throws {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NetworkError.config("not a JSON object")
        }
        guard let name = obj["name"] as? String, !name.isEmpty else { throw NetworkError.config("\"name\" is required") }
        guard let version = obj["cniVersion"] as? String else { throw NetworkError.config("\"cniVersion\" is required") }
        guard let plugins = obj["plugins"] as? [[String: Any]], !plugins.isEmpty else {
            throw NetworkError.config("\"plugins\" must be a non-empty list of plugin configurations")
        }
        for (i, p) in plugins.enumerated() where (p["type"] as? String)?.isEmpty ?? true {
            throw NetworkError.config("plugins[\(i)].type is required")
        }
        self.name = name
        cniVersion = version
        self.plugins = try plugins.map { try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]) }
        raw = data
    }

    /// A list fargate-run writes itself, from its parts: nothing to parse or check. Written
    /// through JSONValue, not JSONSerialization, which bridges every value to a Foundation
    /// object (about a millisecond of runtime type lookups on a task's start).
    init(name: String, cniVersion: String, plugins: [JSONValue]) {
        self.name = name
        self.cniVersion = cniVersion
        self.plugins = plugins.map { Data($0.text.utf8) }
        raw = Data(JSONValue.object([("cniVersion", .string(cniVersion)), ("name", .string(name)), ("plugins", .array(plugins))]).text.utf8)
    }

    public func pluginType(_ i: Int) -> String {
        ((try? JSONSerialization.jsonObject(with: plugins[i])) as? [String: Any])?["type"] as? String ?? "?"
    }
}

/// What the plugins say about the interface they made (CNI result, spec 0.4/1.0).
public struct CNIResult: Sendable, Equatable {
    public var address: String      // "198.19.0.5"
    public var prefixLength: Int
    public var gateway: String?
    public var mac: String?
    public var interface: String?
    public var raw: Data

    /// A result fargate-run made itself, with the JSON it records.
    init(address: String, prefixLength: Int, gateway: String?, mac: String?, interface: String?, raw: Data) {
        (self.address, self.prefixLength, self.gateway, self.mac, self.interface, self.raw) = (address, prefixLength, gateway, mac, interface, raw)
    }

    public init(data: Data) throws {
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw NetworkError.config("CNI result is not JSON: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        let ips = obj["ips"] as? [[String: Any]] ?? []
        guard let first = ips.first(where: { ($0["address"] as? String)?.contains(".") ?? false }) ?? ips.first,
              let cidr = first["address"] as? String else {
            throw NetworkError.config("the CNI result has no IP address")
        }
        let parts = cidr.split(separator: "/")
        address = String(parts[0])
        prefixLength = parts.count > 1 ? Int(parts[1]) ?? 32 : 32
        gateway = first["gateway"] as? String
        let interfaces = obj["interfaces"] as? [[String: Any]] ?? []
        if let idx = first["interface"] as? Int, idx < interfaces.count {
            mac = interfaces[idx]["mac"] as? String
            interface = interfaces[idx]["name"] as? String
        }
        raw = data
    }
}

/// Executes CNI plugins as the spec says: one process per plugin, the command in CNI_COMMAND,
/// the configuration on stdin (with name, cniVersion, prevResult and runtimeConfig added),
/// the result on stdout, an error object and a non-zero status on failure.
public struct CNIRunner: Sendable {
    public var pluginDirectories: [String]

    public init(pluginDirectories: [String] = ["/usr/lib/cni", "/opt/cni/bin"]) {
        self.pluginDirectories = pluginDirectories
    }

    /// Where a plugin binary is.
    func plugin(_ type: String) throws -> String {
        guard !type.contains("/") else { throw NetworkError.config("plugin type \"\(type)\" must be a plain name") }
        for d in pluginDirectories where FileSystem.exists(d + "/" + type) { return d + "/" + type }
        throw NetworkError.config("CNI plugin \"\(type)\" not found in \(pluginDirectories.joined(separator: ":")) (apt-get install containernetworking-plugins)")
    }

    /// ADD through every plugin; on failure, DEL what was added and rethrow.
    public func add(_ list: CNIConfigList, containerID: String, netns: String, ifname: String = "eth0",
                    runtimeConfig: [String: Any] = [:]) throws -> CNIResult {
        var prev: Data?
        do {
            for i in list.plugins.indices {
                prev = try invoke("ADD", list, i, containerID: containerID, netns: netns, ifname: ifname,
                                  prevResult: prev, runtimeConfig: runtimeConfig)
            }
        } catch {
            try? del(list, containerID: containerID, netns: netns, ifname: ifname, prevResult: prev, runtimeConfig: runtimeConfig)
            throw error
        }
        guard let prev else { throw NetworkError.config("the CNI plugins returned no result") }
        return try CNIResult(data: prev)
    }

    /// CHECK through every plugin (spec 0.4.0 and later).
    public func check(_ list: CNIConfigList, containerID: String, netns: String, ifname: String = "eth0",
                      prevResult: Data, runtimeConfig: [String: Any] = [:]) throws {
        for i in list.plugins.indices {
            _ = try invoke("CHECK", list, i, containerID: containerID, netns: netns, ifname: ifname,
                           prevResult: prevResult, runtimeConfig: runtimeConfig)
        }
    }

    /// DEL through every plugin, in reverse. Every plugin is asked even when one fails; the
    /// first failure is rethrown after.
    public func del(_ list: CNIConfigList, containerID: String, netns: String, ifname: String = "eth0",
                    prevResult: Data?, runtimeConfig: [String: Any] = [:]) throws {
        var firstError: Error?
        for i in list.plugins.indices.reversed() {
            do {
                _ = try invoke("DEL", list, i, containerID: containerID, netns: netns, ifname: ifname,
                               prevResult: prevResult, runtimeConfig: runtimeConfig)
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
    }

    func invoke(_ command: String, _ list: CNIConfigList, _ index: Int, containerID: String, netns: String, ifname: String,
                prevResult: Data?, runtimeConfig: [String: Any]) throws -> Data {
        guard var conf = try JSONSerialization.jsonObject(with: list.plugins[index]) as? [String: Any] else {
            throw NetworkError.config("plugins[\(index)] is not an object")
        }
        let type = conf["type"] as? String ?? "?"
        conf["name"] = list.name
        conf["cniVersion"] = list.cniVersion
        if let prevResult, let prev = try? JSONSerialization.jsonObject(with: prevResult) { conf["prevResult"] = prev }
        // runtimeConfig carries only what the plugin declares it can take (CNI conventions).
        if let caps = conf["capabilities"] as? [String: Bool] {
            var rc: [String: Any] = [:]
            for (k, v) in runtimeConfig where caps[k] == true { rc[k] = v }
            if !rc.isEmpty { conf["runtimeConfig"] = rc }
        }
        let stdin = try JSONSerialization.data(withJSONObject: conf, options: [.sortedKeys])
        let env = ["CNI_COMMAND=\(command)", "CNI_CONTAINERID=\(containerID)", "CNI_NETNS=\(netns)", "CNI_IFNAME=\(ifname)",
                   "CNI_PATH=\(pluginDirectories.joined(separator: ":"))", "PATH=/usr/sbin:/usr/bin:/sbin:/bin"]
        let r: Subprocess.Result
        do { r = try Subprocess.run(try plugin(type), [], environment: env, stdin: Array(stdin)) } catch let e as SystemError {
            throw NetworkError.system(e)
        }
        guard r.status == 0 else {
            var message = r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
            if let obj = try? JSONSerialization.jsonObject(with: Data(r.stdout)) as? [String: Any] {
                let msg = obj["msg"] as? String ?? ""
                let details = obj["details"] as? String ?? ""
                message = [msg, details].filter { !$0.isEmpty }.joined(separator: ": ")
            }
            throw NetworkError.plugin(plugin: type, command: command, message: message.isEmpty ? "exit status \(r.status)" : message)
        }
        return command == "ADD" ? Data(r.stdout) : (prevResult ?? Data())
    }
}
