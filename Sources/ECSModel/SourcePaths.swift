/// Where each member of the API-shaped definition came from in the file that was read, so
/// that every issue names the file's own path: `taskDefinition.cpu` in describe output,
/// `Resources.TaskDef.Properties.ContainerDefinitions[0].Image` in a CloudFormation template,
/// `[0].image` in a Terraform container_definitions file.
///
/// Converters record the source path of each node they make; a path with no record of its own
/// (a required member that is missing) is placed under its nearest recorded ancestor, its own
/// members spelled as the file's format spells them.
public struct SourcePaths: Sendable, Codable {
    /// How a member the file does not have would be spelled in it.
    public enum Spelling: String, Sendable, Codable {
        /// The API's camelCase.
        case api
        /// CloudFormation's PascalCase (with its few other names).
        case cloudFormation
        /// Terraform's snake_case attributes.
        case terraform
    }

    /// API path to source path. Empty: the file has the API's shape and paths.
    var nodes: [String: String] = [:]
    var spelling: Spelling = .api

    public init() {}

    init(root: String, spelling: Spelling) {
        nodes[""] = root
        self.spelling = spelling
    }

    mutating func record(_ apiPath: String, _ sourcePath: String) {
        nodes[apiPath] = sourcePath
    }

    /// The source path of the API path `path`.
    public func locate(_ path: String) -> String {
        if nodes.isEmpty { return path }
        if let s = nodes[path] { return s }
        var head = Substring(path)
        var tail: [Substring] = []
        while let cut = SourcePaths.lastSegment(of: head) {
            tail.insert(head[cut...], at: 0)
            head = head[..<cut]
            if let s = nodes[String(head)] {
                // Terraform's containers are API JSON inside a snake_case resource.
                let spelling = self.spelling == .terraform && head.hasPrefix("containerDefinitions") ? .api : self.spelling
                var out = s
                var parent = SourcePaths.memberName(String(head))
                for segment in tail {
                    if segment.hasPrefix("[") {
                        out += segment
                    } else {
                        let name = String(segment.hasPrefix(".") ? segment.dropFirst() : segment)
                        out += (out.isEmpty ? "" : ".") + SourcePaths.spell(name, parent: parent, spelling)
                        parent = name
                    }
                }
                return out
            }
        }
        return path
    }

    /// Where the last segment (`.name` or `[i]`) of `path` starts; nil for a single name.
    static func lastSegment(of path: Substring) -> Substring.Index? {
        guard !path.isEmpty else { return nil }
        if path.last == "]", let open = path.lastIndex(of: "[") { return open }
        if let dot = path.lastIndex(of: ".") { return dot }
        return path.startIndex
    }

    /// The last member name in `path` (`efsVolumeConfiguration` of `volumes[0].efsVolumeConfiguration`).
    static func memberName(_ path: String) -> String {
        var p = Substring(path)
        while p.last == "]", let open = p.lastIndex(of: "[") { p = p[..<open] }
        return String(p.split(separator: ".").last ?? "")
    }

    static func spell(_ name: String, parent: String, _ spelling: Spelling) -> String {
        switch spelling {
        case .api: return name
        case .cloudFormation: return CloudFormationNames.property(for: name, parent: parent)
        case .terraform: return TerraformInput.attribute(for: name)
        }
    }
}
