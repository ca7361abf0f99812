/// How the `AWS::ECS::TaskDefinition` resource spec spells the API's members: the API name
/// with its first letter in upper case (`portMappings` → `PortMappings`), except for the few
/// the spec names otherwise.
enum CloudFormationNames {
    /// (parent member, API member) → property, where the spec departs from the rule.
    static let exceptions: [String: String] = [
        "volumes.efsVolumeConfiguration": "EFSVolumeConfiguration",
        "efsVolumeConfiguration.fileSystemId": "FilesystemId",
        "authorizationConfig.iam": "IAM",
        "volumes.fsxWindowsFileServerVolumeConfiguration": "FSxWindowsFileServerVolumeConfiguration",
        "proxyConfiguration.properties": "ProxyConfigurationProperties",
    ]

    static func property(for member: String, parent: String) -> String {
        if let e = exceptions[parent + "." + member] { return e }
        guard let first = member.first else { return member }
        return first.uppercased() + member.dropFirst()
    }

    /// A shape's name as the CloudFormation documentation calls the property type.
    static func typeName(_ shape: String) -> String {
        shape == "RegisterTaskDefinitionRequest" ? "AWS::ECS::TaskDefinition" : shape
    }
}

/// A CloudFormation template, as written or as CDK synthesizes it (`cdk.out/Stack.template.json`),
/// JSON or YAML: its `AWS::ECS::TaskDefinition` resource's properties mapped onto the API's
/// shape, with intrinsic functions resolved (`IntrinsicResolver`).
enum CloudFormationTemplate {
    static let resourceType = "AWS::ECS::TaskDefinition"

    /// A template has a `Resources` object (and usually `AWSTemplateFormatVersion`).
    static func isTemplate(_ root: JSONValue) -> Bool {
        if root["AWSTemplateFormatVersion"] != nil { return true }
        guard case .object(let resources)? = root["Resources"] else { return false }
        return resources.contains { $0.1["Type"] != nil }
    }

    /// CDK's synthesized image assets: `ACCOUNT.dkr.ecr.REGION.SUFFIX/cdk-QUALIFIER-container-assets-ACCOUNT-REGION:HASH`.
    static func cdkImageAsset(_ image: String) -> String? {
        guard let slash = image.firstIndex(of: "/") else { return nil }
        let repository = image[image.index(after: slash)...]
        guard repository.hasPrefix("cdk-"), repository.contains("-container-assets-"), let colon = repository.lastIndex(of: ":") else { return nil }
        return String(repository[repository.index(after: colon)...])
    }

    static func convert(_ root: JSONValue, options: TaskDefinitionLoader.Options) throws(TaskDefinitionError) -> ConvertedDocument {
        guard case .object(let resources)? = root["Resources"] else {
            throw TaskDefinitionError(issues: [ValidationIssue("Resources", "a template needs a Resources object")])
        }
        let candidates = resources.filter { $0.1["Type"] == .string(resourceType) }.map(\.0)
        func cdkPath(_ id: String) -> String {
            guard case .string(let p)? = resources.first(where: { $0.0 == id })?.1["Metadata"]?["aws:cdk:path"] else { return "" }
            return " (\(p))"
        }
        let id: String
        if let chosen = options.resource {
            guard let r = resources.first(where: { $0.0 == chosen }) else {
                let hint = SchemaChecker.suggestion(for: chosen, among: candidates).map { ": did you mean \"\($0)\"?" }
                    ?? ": its \(resourceType) resources are \(candidates.isEmpty ? "none" : candidates.joined(separator: ", "))"
                throw TaskDefinitionError(issues: [ValidationIssue("Resources", "--resource \(chosen): no such resource\(hint)")])
            }
            guard r.1["Type"] == .string(resourceType) else {
                let type = if case .string(let t)? = r.1["Type"] { "an \(t)" } else { "untyped" }
                throw TaskDefinitionError(issues: [ValidationIssue("Resources.\(chosen).Type", "--resource \(chosen) is \(type), not an \(resourceType)")])
            }
            id = chosen
        } else {
            switch candidates.count {
            case 0:
                let types = Set(resources.compactMap { if case .string(let t)? = $0.1["Type"] { return t } else { return nil } }).sorted()
                throw TaskDefinitionError(issues: [ValidationIssue("Resources", "no \(resourceType) in this template (its resources are \(types.isEmpty ? "none" : types.joined(separator: ", ")))")])
            case 1:
                id = candidates[0]
            default:
                throw TaskDefinitionError(issues: [ValidationIssue("Resources", "\(candidates.count) task definitions: choose one with --resource: \(candidates.map { $0 + cdkPath($0) }.joined(separator: ", "))")])
            }
        }
        let base = "Resources.\(id)"
        let resource = resources.first { $0.0 == id }!.1
        var resolver = IntrinsicResolver(template: root, given: options.parameters, region: options.region)
        var issues: [ValidationIssue] = []
        if case .string(let condition)? = resource["Condition"] {
            do {
                if try !resolver.condition(condition) {
                    issues.append(ValidationIssue(base + ".Condition", "\(condition) is false: CloudFormation does not create this resource", severity: .warning))
                }
            } catch {
                issues.append(ValidationIssue(base + ".Condition", error.message, severity: error.isUnresolved ? .warning : .error))
            }
        }
        let properties = resource["Properties"] ?? .object([])
        guard case .object = properties else {
            throw TaskDefinitionError(issues: [ValidationIssue(base + ".Properties", "expected an object, found \(properties.kind)")])
        }
        var mapper = ShapeMapper(style: .cloudFormation, resolver: resolver, paths: SourcePaths(root: base + ".Properties", spelling: .cloudFormation))
        let document = mapper.map(properties, shape: "RegisterTaskDefinitionRequest", api: "", source: base + ".Properties") ?? .object([])
        resolver = mapper.resolver!
        issues += mapper.issues
        if document["family"] == nil, options.family == nil, !issues.contains(where: { $0.path == base + ".Properties.Family" }) {
            issues.append(ValidationIssue(base + ".Properties.Family", "absent: CloudFormation names the family after the stack and the resource when it deploys: pass --family NAME"))
        }
        if case .array(let containers)? = document["containerDefinitions"] {
            for (i, c) in containers.enumerated() {
                guard case .string(let image)? = c["image"], let hash = cdkImageAsset(image) else { continue }
                issues.append(ValidationIssue(mapper.paths.locate("containerDefinitions[\(i)].image"),
                    "a CDK image asset (cdk.out/asset.\(hash)): fargate-run does not build images. `run` pulls it from the ECR repository `cdk deploy` pushes it to (pass --parameter AWS::AccountId=ID and log in to that registry), or build it from that directory and change the image",
                    severity: .warning))
            }
        }
        for (name, note) in resolver.notes.sorted(by: { $0.key < $1.key }) {
            issues.append(ValidationIssue("--parameter \(name)", note, severity: .note))
        }
        for name in options.parameters.keys.sorted() where !resolver.used.contains(name) {
            let known = resolver.knownNames
            let base = name.split(separator: ".").first.map(String.init) ?? name
            if known.contains(name) || known.contains(base) { continue }
            let hint = SchemaChecker.suggestion(for: name, among: known).map { ": did you mean \"\($0)\"?" } ?? ""
            issues.append(ValidationIssue("--parameter \(name)", "not a parameter, resource or pseudo-parameter of this template\(hint)", severity: .warning))
        }
        return ConvertedDocument(document: document, paths: mapper.paths, issues: issues, format: .cloudFormation, origin: "resource \(id)\(cdkPath(id))")
    }
}

extension IntrinsicFailure {
    var isUnresolved: Bool {
        if case .unresolved = self { return true }
        return false
    }
}
