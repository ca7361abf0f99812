import Foundation

/// Terraform's two shapes of a task definition:
///
/// - a `container_definitions` file: the JSON list of containers the `aws_ecs_task_definition`
///   resource's attribute takes (`file("containers.json")`, `jsonencode([...])`), with the task's
///   own members (family, cpu, memory, network mode, roles) given as flags;
/// - `terraform show -json` output (state or plan), whose `aws_ecs_task_definition` resources
///   (in `values.root_module.resources[]` and its `child_modules`, or `planned_values`) hold
///   the task's attributes in snake_case and the containers as a JSON string.
///
/// Containers are read as the AWS provider reads them (Go's encoding/json): member names
/// match without regard to case, nulls are absent, an unknown member is dropped (a warning
/// here, since ECS never sees it), types are strict. Task attributes follow the provider too:
/// an empty string, a zero, `false` or an empty block list means "not set".
enum TerraformInput {
    static let resourceType = "aws_ecs_task_definition"

    /// `terraform show -json` output: `format_version` and state or plan values.
    static func isShowOutput(_ root: JSONValue) -> Bool {
        root["format_version"] != nil && (root["values"] != nil || root["planned_values"] != nil)
    }

    /// A task member's Terraform attribute (for a member the resource does not have).
    static func attribute(for member: String) -> String {
        switch member {
        case "volumes": return "volume"
        case "inferenceAccelerators": return "inference_accelerator"
        case "sizeInGiB": return "size_in_gib"
        case "configuredAtLaunch": return "configure_at_launch"
        default:
            var out = ""
            for c in member {
                if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
            }
            return out
        }
    }

    // MARK: container_definitions on its own

    static func containerDefinitions(_ root: JSONValue, options: TaskDefinitionLoader.Options) -> ConvertedDocument {
        var paths = SourcePaths()
        paths.record("containerDefinitions", "")
        var mapper = ShapeMapper(style: .terraform, paths: paths)
        let containers = mapper.map(root, shape: "ContainerDefinitions", api: "containerDefinitions", source: "")
        var issues = mapper.issues
        // The task's members are the resource's other attributes, so flags here.
        for (member, flag, value) in options.taskMembers.prefix(4) where value == nil {
            let example = ["--family": "NAME", "--cpu": "256", "--memory": "512", "--network-mode": "awsvpc"][flag] ?? "VALUE"
            issues.append(ValidationIssue(member, "required: a container_definitions file holds only the containers: pass \(flag) \(example)"))
        }
        return ConvertedDocument(document: .object([("containerDefinitions", containers ?? .array([]))]), paths: mapper.paths,
                                 issues: issues, format: .terraformContainerDefinitions)
    }

    // MARK: terraform show -json

    /// Every managed aws_ecs_task_definition: its address and path in the document.
    static func resources(in root: JSONValue) -> [(address: String, path: String, values: JSONValue)] {
        var found: [(String, String, JSONValue)] = []
        func walk(_ module: JSONValue, _ path: String) {
            if case .array(let resources)? = module["resources"] {
                for (i, r) in resources.enumerated() where r["type"] == .string(resourceType) && r["mode"] != .string("data") {
                    guard case .string(let address)? = r["address"], let values = r["values"] else { continue }
                    found.append((address, "\(path).resources[\(i)]", values))
                }
            }
            if case .array(let children)? = module["child_modules"] {
                for (i, c) in children.enumerated() { walk(c, "\(path).child_modules[\(i)]") }
            }
        }
        for section in ["values", "planned_values"] {
            if let module = root[section]?["root_module"] { walk(module, "\(section).root_module") }
        }
        return found
    }

    static func show(_ root: JSONValue, options: TaskDefinitionLoader.Options) throws(TaskDefinitionError) -> ConvertedDocument {
        let all = resources(in: root)
        let chosen: (address: String, path: String, values: JSONValue)
        if let address = options.resource {
            guard let r = all.first(where: { $0.address == address }) else {
                let hint = SchemaChecker.suggestion(for: address, among: all.map(\.address)).map { ": did you mean \"\($0)\"?" }
                    ?? ": its \(resourceType) resources are \(all.isEmpty ? "none" : all.map(\.address).joined(separator: ", "))"
                throw TaskDefinitionError(issues: [ValidationIssue("values", "--resource \(address): no such resource\(hint)")])
            }
            chosen = r
        } else {
            switch all.count {
            case 0: throw TaskDefinitionError(issues: [ValidationIssue("values", "no \(resourceType) resource in this state or plan")])
            case 1: chosen = all[0]
            default:
                throw TaskDefinitionError(issues: [ValidationIssue("values", "\(all.count) task definitions: choose one with --resource: \(all.map(\.address).joined(separator: ", "))")])
            }
        }
        let base = chosen.path + ".values"
        var paths = SourcePaths(root: base, spelling: .terraform)
        var issues: [ValidationIssue] = []
        var out: [(String, JSONValue)] = []
        /// - Parameter block: the attribute is a list of one block (`runtime_platform[0]`).
        func set(_ member: String, _ attribute: String, _ value: JSONValue?, block: Bool = false) {
            guard let value, present(value) else { return }
            out.append((member, value))
            paths.record(member, base + "." + attribute + (block ? "[0]" : ""))
        }
        let values = chosen.values
        for (attribute, member) in [("family", "family"), ("cpu", "cpu"), ("memory", "memory"), ("network_mode", "networkMode"),
                                    ("execution_role_arn", "executionRoleArn"), ("task_role_arn", "taskRoleArn"), ("pid_mode", "pidMode"),
                                    ("ipc_mode", "ipcMode"), ("arn", "taskDefinitionArn"), ("revision", "revision"),
                                    ("requires_compatibilities", "requiresCompatibilities"), ("enable_fault_injection", "enableFaultInjection")] {
            set(member, attribute, values[attribute])
        }
        if let text = values["container_definitions"] {
            let p = base + ".container_definitions"
            if case .string(let json) = text {
                do {
                    let parsed = try JSONParser.parse(Array(json.utf8))
                    var mapper = ShapeMapper(style: .terraform, paths: paths)
                    if let c = mapper.map(parsed, shape: "ContainerDefinitions", api: "containerDefinitions", source: p) { out.append(("containerDefinitions", c)) }
                    paths = mapper.paths
                    issues += mapper.issues
                } catch {
                    issues.append(ValidationIssue(p, error.description))
                }
            } else if text != .null {
                issues.append(ValidationIssue(p, "expected the containers as a JSON string, found \(text.kind)"))
            }
        } else {
            issues.append(ValidationIssue(base + ".container_definitions", "absent (a plan knows it only after apply when it depends on other resources)"))
        }
        set("volumes", "volume", blocks(values["volume"], api: "volumes", source: base + ".volume", &paths, volume))
        set("placementConstraints", "placement_constraints", blocks(values["placement_constraints"], api: "placementConstraints",
                                                                    source: base + ".placement_constraints", &paths) { v, _, _, _ in
            fields(v, [("type", "type"), ("expression", "expression")])
        })
        set("inferenceAccelerators", "inference_accelerator", blocks(values["inference_accelerator"], api: "inferenceAccelerators",
                                                                     source: base + ".inference_accelerator", &paths) { v, _, _, _ in
            fields(v, [("device_name", "deviceName"), ("device_type", "deviceType")])
        })
        set("proxyConfiguration", "proxy_configuration", single(values["proxy_configuration"]).map { v in
            var m = fields(v, [("container_name", "containerName"), ("type", "type")])
            if case .object(let properties)? = v["properties"], !properties.isEmpty {
                // A map in Terraform, a list of name/value pairs in the API.
                m = merged(m, [("properties", .array(properties.sorted { $0.0 < $1.0 }.map { .object([("name", .string($0.0)), ("value", $0.1)]) }))])
            }
            return m
        }, block: true)
        set("ephemeralStorage", "ephemeral_storage", single(values["ephemeral_storage"]).map { fields($0, [("size_in_gib", "sizeInGiB")]) }, block: true)
        set("runtimePlatform", "runtime_platform", single(values["runtime_platform"]).map {
            fields($0, [("cpu_architecture", "cpuArchitecture"), ("operating_system_family", "operatingSystemFamily")])
        }, block: true)
        if case .object(let tags)? = values["tags"], !tags.isEmpty {
            set("tags", "tags", .array(tags.map { .object([("key", .string($0.0)), ("value", $0.1)]) }))
        }
        let known: Set<String> = ["family", "cpu", "memory", "network_mode", "execution_role_arn", "task_role_arn", "pid_mode", "ipc_mode", "arn",
                                  "revision", "requires_compatibilities", "enable_fault_injection", "container_definitions", "volume",
                                  "placement_constraints", "inference_accelerator", "proxy_configuration", "ephemeral_storage",
                                  "runtime_platform", "tags", "tags_all", "id", "arn_without_revision", "skip_destroy", "track_latest", "region"]
        if case .object(let attributes) = values {
            for (name, v) in attributes where !known.contains(name) && present(v) {
                issues.append(ValidationIssue(base + "." + name, "not an attribute fargate-run knows: ignored", severity: .note))
            }
        }
        return ConvertedDocument(document: .object(out), paths: paths, issues: issues, format: .terraformShow,
                                 origin: "resource \(chosen.address)")
    }

    /// Whether the provider would send an attribute (`d.GetOk`): not null, "", 0, false or empty.
    static func present(_ v: JSONValue) -> Bool {
        switch v {
        case .null: return false
        case .string(let s): return !s.isEmpty
        case .number(let n): return Double(n) != 0
        case .bool(let b): return b
        case .array(let a): return !a.isEmpty
        case .object(let m): return !m.isEmpty
        }
    }

    /// The block of a `MaxItems: 1` block list.
    static func single(_ v: JSONValue?) -> JSONValue? {
        guard case .array(let a)? = v, let first = a.first else { return nil }
        return first
    }

    /// `attribute` → `member` pairs of a block, those present.
    static func fields(_ block: JSONValue, _ names: [(String, String)]) -> JSONValue {
        .object(names.compactMap { attribute, member in block[attribute].flatMap { present($0) ? (member, $0) : nil } })
    }

    static func merged(_ a: JSONValue, _ more: [(String, JSONValue)]) -> JSONValue {
        guard case .object(let m) = a else { return a }
        return .object(m + more)
    }

    /// A list of blocks converted one by one, each recorded at its path.
    static func blocks(_ v: JSONValue?, api: String, source: String, _ paths: inout SourcePaths,
                       _ convert: (JSONValue, String, String, inout SourcePaths) -> JSONValue) -> JSONValue? {
        guard case .array(let items)? = v, !items.isEmpty else { return nil }
        return .array(items.enumerated().map { i, item in
            paths.record(api + "[\(i)]", source + "[\(i)]")
            return convert(item, api + "[\(i)]", source + "[\(i)]", &paths)
        })
    }

    /// A `volume` block as the API's Volume.
    static func volume(_ v: JSONValue, _ api: String, _ source: String, _ paths: inout SourcePaths) -> JSONValue {
        var m: [(String, JSONValue)] = []
        if let name = v["name"], present(name) { m.append(("name", name)) }
        if let hostPath = v["host_path"], present(hostPath) {
            m.append(("host", .object([("sourcePath", hostPath)])))
            paths.record(api + ".host.sourcePath", source + ".host_path")
        }
        if v["configure_at_launch"] == .bool(true) { m.append(("configuredAtLaunch", .bool(true))) }
        if let d = single(v["docker_volume_configuration"]) {
            paths.record(api + ".dockerVolumeConfiguration", source + ".docker_volume_configuration[0]")
            m.append(("dockerVolumeConfiguration", fields(d, [("scope", "scope"), ("autoprovision", "autoprovision"), ("driver", "driver"),
                                                             ("driver_opts", "driverOpts"), ("labels", "labels")])))
        }
        if let e = single(v["efs_volume_configuration"]) {
            var efs = fields(e, [("file_system_id", "fileSystemId"), ("root_directory", "rootDirectory"), ("transit_encryption", "transitEncryption"),
                                 ("transit_encryption_port", "transitEncryptionPort")])
            if let a = single(e["authorization_config"]) {
                efs = merged(efs, [("authorizationConfig", fields(a, [("access_point_id", "accessPointId"), ("iam", "iam")]))])
                paths.record(api + ".efsVolumeConfiguration.authorizationConfig", source + ".efs_volume_configuration[0].authorization_config[0]")
            }
            paths.record(api + ".efsVolumeConfiguration", source + ".efs_volume_configuration[0]")
            m.append(("efsVolumeConfiguration", efs))
        }
        if let f = single(v["fsx_windows_file_server_volume_configuration"]) {
            var fsx = fields(f, [("file_system_id", "fileSystemId"), ("root_directory", "rootDirectory")])
            if let a = single(f["authorization_config"]) {
                fsx = merged(fsx, [("authorizationConfig", fields(a, [("credentials_parameter", "credentialsParameter"), ("domain", "domain")]))])
            }
            paths.record(api + ".fsxWindowsFileServerVolumeConfiguration", source + ".fsx_windows_file_server_volume_configuration[0]")
            m.append(("fsxWindowsFileServerVolumeConfiguration", fsx))
        }
        return .object(m)
    }
}
