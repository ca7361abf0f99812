import ECSModel

/// The members of a valid task definition that cannot mean here what they mean on Fargate, and
/// what the user is told about each (Docs/TASK-DEFINITION.md has the whole table). Members that
/// only concern AWS's side (executionRoleArn, tags, dockerLabels...) change nothing a
/// container sees and are not warned about.
public enum LocalBehaviour {
    public static func warnings(_ d: ECS.TaskDefinition, hostArchitecture: String) -> [String] {
        var w: [String] = []
        if let role = d.taskRoleArn {
            w.append("taskRoleArn \(role) is not assumed: containers get no AWS credentials from a task role here")
        }
        if let p = d.proxyConfiguration {
            w.append("proxyConfiguration (\(p.type?.rawValue ?? "APPMESH"), container \(p.containerName ?? "?")) is not applied: traffic is not redirected through the proxy")
        }
        if d.enableFaultInjection == true {
            w.append("enableFaultInjection: the fault injection endpoints are not provided")
        }
        if let arch = d.runtimePlatform?.cpuArchitecture?.rawValue {
            let host = hostArchitecture == "arm64" ? "ARM64" : "X86_64"
            if arch != host {
                w.append("runtimePlatform.cpuArchitecture is \(arch) but this host is \(host): images are pulled for \(arch) and run only if the kernel can execute them (binfmt_misc with qemu-user)")
            }
        }
        for v in d.volumes ?? [] {
            if let efs = v.efsVolumeConfiguration, let ap = efs.authorizationConfig?.accessPointId {
                w.append("volume \(v.name ?? "?"): EFS access point \(ap) is not known here: the file system's directory is mounted without the access point's POSIX user or root directory")
            }
            if let s3 = v.s3filesVolumeConfiguration, let ap = s3.accessPointArn {
                w.append("volume \(v.name ?? "?"): S3 Files access point \(ap) is not known here: the file system's directory is mounted without it")
            }
            if v.configuredAtLaunch == true {
                w.append("volume \(v.name ?? "?") is configured at launch (EBS): it is an empty directory of the task here")
            }
        }
        for (i, c) in (d.containerDefinitions ?? []).enumerated() {
            let p = "containerDefinitions[\(i)]"
            let name = c.name ?? "?"
            if c.interactive == true || c.pseudoTerminal == true {
                w.append("\(p): \(name) gets no terminal or standard input (interactive and pseudoTerminal are for ECS Exec)")
            }
            if c.firelensConfiguration != nil {
                w.append("\(p).firelensConfiguration: \(name) runs, but no container's logs are routed to it")
            }
            if let log = c.logConfiguration, let driver = log.logDriver?.rawValue {
                switch driver {
                case "awslogs":
                    let ignored = (log.options ?? [:]).keys.filter { !["awslogs-group", "awslogs-region", "awslogs-stream-prefix", "awslogs-create-group", "mode", "max-buffer-size"].contains($0) }.sorted()
                    if !ignored.isEmpty {
                        w.append("\(p).logConfiguration.options: \(ignored.joined(separator: ", ")) not applied: each output line is one event")
                    }
                default:
                    w.append("\(p).logConfiguration: the \(driver) driver is not used: \(name)'s output goes to the terminal and the task's log files only")
                }
            }
        }
        return w
    }
}
