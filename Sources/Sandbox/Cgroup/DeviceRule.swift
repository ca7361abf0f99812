import CShim

/// Access to device nodes a cgroup allows (everything else is denied).
public struct DeviceRule: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: Character, Sendable, Codable { case all = "a", block = "b", char = "c" }

    public var kind: Kind
    /// nil for any.
    public var major: Int32?
    public var minor: Int32?
    /// A subset of "rwm".
    public var access: String

    public init(_ kind: Kind, _ major: Int32?, _ minor: Int32?, _ access: String) {
        self.kind = kind
        self.major = major
        self.minor = minor
        self.access = access
    }

    /// v1's devices.allow syntax: "c 1:3 rwm".
    public var description: String {
        "\(kind.rawValue) \(major.map(String.init) ?? "*"):\(minor.map(String.init) ?? "*") \(access)"
    }

    var bits: UInt32 {
        (access.contains("m") ? 1 : 0) | (access.contains("r") ? 2 : 0) | (access.contains("w") ? 4 : 0)
    }

    var cRule: fr_device_rule {
        fr_device_rule(type: CChar(kind.rawValue.asciiValue!), major: major ?? -1, minor: minor ?? -1, access: bits)
    }

    /// runc's and Docker's default: creating any node is allowed (CAP_MKNOD is in the default
    /// set), but only the standard character devices can be opened. A block device made with
    /// mknod cannot be read or written.
    public static let containerDefault: [DeviceRule] = [
        DeviceRule(.char, nil, nil, "m"), DeviceRule(.block, nil, nil, "m"),
        DeviceRule(.char, 1, 3, "rwm"), DeviceRule(.char, 1, 5, "rwm"), DeviceRule(.char, 1, 7, "rwm"),
        DeviceRule(.char, 1, 8, "rwm"), DeviceRule(.char, 1, 9, "rwm"),
        DeviceRule(.char, 5, 0, "rwm"), DeviceRule(.char, 5, 2, "rwm"), DeviceRule(.char, 136, nil, "rwm"),
    ]
}
