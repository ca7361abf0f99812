import ECSModel

/// The members of a valid task definition that cannot mean here what they mean on Fargate, and
/// what the user is told about each (Docs/TASK-DEFINITION.md has the whole table). Members that
/// only concern AWS's side (executionRoleArn, tags, dockerLabels...) change nothing a
/// container sees and are not warned about.
public enum LocalBehaviour {
    /// Each warning at the definition's path of the member it is about.
    public static func warnings(_ d: ECS.TaskDefinition, hostArchitecture: String) -> [ValidationIssue] {
        var w: [ValidationIssue] = []
        func warn(_ path: String, _ message: String) { w.append(ValidationIssue(path, message, severity: .warning)) }
        if let role = d.taskRoleArn {
            // Containers do get credentials (the metadata endpoint's), but not the role's own.
            w.append(ValidationIssue("taskRoleArn", "\(role) is not assumed: the containers' task-role credentials are fargate-run's own AWS credentials (or those of the profile --task-role maps the role to; --no-task-credentials gives none)", severity: .note))
        }
        if let p = d.proxyConfiguration {
            warn("proxyConfiguration", "\(p.type?.rawValue ?? "APPMESH") proxy of container \(p.containerName ?? "?") is not applied: traffic is not redirected through the proxy")
        }
        if d.enableFaultInjection == true {
            warn("enableFaultInjection", "the fault injection endpoints are not provided")
        }
        if let arch = d.runtimePlatform?.cpuArchitecture?.rawValue {
            let host = hostArchitecture == "arm64" ? "ARM64" : "X86_64"
            if arch != host {
                warn("runtimePlatform.cpuArchitecture", "\(arch), but this host is \(host): images are pulled for \(arch) and run only if the kernel can execute them (binfmt_misc with qemu-user)")
            }
        }
        for (i, v) in (d.volumes ?? []).enumerated() {
            let p = "volumes[\(i)]"
            if let efs = v.efsVolumeConfiguration, let ap = efs.authorizationConfig?.accessPointId {
                warn(p + ".efsVolumeConfiguration.authorizationConfig.accessPointId", "EFS access point \(ap) of volume \(v.name ?? "?") is not known here: the file system's directory is mounted without the access point's POSIX user or root directory")
            }
            if let s3 = v.s3filesVolumeConfiguration, let ap = s3.accessPointArn {
                warn(p + ".s3filesVolumeConfiguration.accessPointArn", "S3 Files access point \(ap) of volume \(v.name ?? "?") is not known here: the file system's directory is mounted without it")
            }
            if v.configuredAtLaunch == true {
                warn(p + ".configuredAtLaunch", "volume \(v.name ?? "?") is configured at launch (EBS): it is an empty directory of the task here")
            }
        }
        for (i, c) in (d.containerDefinitions ?? []).enumerated() {
            let p = "containerDefinitions[\(i)]"
            let name = c.name ?? "?"
            if c.interactive == true || c.pseudoTerminal == true {
                warn(p, "\(name) gets no terminal or standard input (interactive and pseudoTerminal are for ECS Exec)")
            }
            if c.firelensConfiguration != nil {
                warn(p + ".firelensConfiguration", "\(name) runs, but no container's logs are routed to it")
            }
            if let log = c.logConfiguration, let driver = log.logDriver?.rawValue {
                switch driver {
                case "awslogs":
                    let ignored = (log.options ?? [:]).keys.filter { !["awslogs-group", "awslogs-region", "awslogs-stream-prefix", "awslogs-create-group", "mode", "max-buffer-size"].contains($0) }.sorted()
                    if !ignored.isEmpty {
                        warn(p + ".logConfiguration.options", "\(ignored.joined(separator: ", ")) not applied: each output line is one event")
                    }
                default:
                    warn(p + ".logConfiguration", "the \(driver) driver is not used: \(name)'s output goes to the terminal and the task's log files only")
                }
            }
        }
        return w
    }
}
