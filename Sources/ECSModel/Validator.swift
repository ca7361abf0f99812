/// The sysctls a Fargate task may set: those namespaced by the IPC or network namespace.
public enum SystemControls {
    /// A dotted sysctl name that maps to a path under /proc/sys and nowhere else.
    public static func isName(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count >= 2 && parts.allSatisfy { p in
            !p.isEmpty && p.utf8.allSatisfy { c in (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45 }
        }
    }

    public static func allowedOnFargate(_ name: String) -> Bool {
        let ipc = ["kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
                   "kernel.shmmni", "kernel.shm_rmid_forced"]
        return ipc.contains(name) || name.hasPrefix("fs.mqueue.") || name.hasPrefix("net.")
    }
}

/// Checks a task definition the way ECS does when it is registered for Fargate, collecting every
/// problem with its JSON path instead of stopping at the first.
public enum TaskDefinitionValidator {
    /// Containers a Fargate task may have.
    public static let maxContainers = 10

    /// Mount options ECS passes to a tmpfs mount (ContainerDefinition linuxParameters.tmpfs).
    static let tmpfsOptions = ["defaults", "ro", "rw", "suid", "nosuid", "dev", "nodev", "exec", "noexec", "sync", "async",
                               "dirsync", "remount", "mand", "nomand", "atime", "noatime", "diratime", "nodiratime", "bind",
                               "rbind", "unbindable", "runbindable", "private", "rprivate", "shared", "rshared", "slave",
                               "rslave", "relatime", "norelatime", "strictatime", "nostrictatime", "mode", "uid", "gid",
                               "nr_inodes", "nr_blocks", "mpol"]
    static let tmpfsValueOptions: Set<String> = ["mode", "uid", "gid", "nr_inodes", "nr_blocks", "mpol"]

    /// Errors, and warnings (severity `.warning`) for what ECS accepts but does not do what
    /// the definition seems to ask.
    public static func validate(_ d: ECS.TaskDefinition) -> [ValidationIssue] {
        var v = Collector()
        validateTask(d, &v)
        let containers = d.containerDefinitions ?? []
        for (i, c) in containers.enumerated() { validateContainer(c, path: "containerDefinitions[\(i)]", task: d, &v) }
        validateContainerSet(d, containers, &v)
        return v.issues
    }

    /// The task size, when cpu and memory are valid.
    public static func size(of d: ECS.TaskDefinition) -> FargateSize? {
        guard let c = d.cpu.flatMap(FargateSize.parseCPU), let m = d.memory.flatMap(FargateSize.parseMemory) else { return nil }
        return FargateSize(cpu: c, memory: m)
    }

    struct Collector {
        var issues: [ValidationIssue] = []
        mutating func add(_ path: String, _ message: String) { issues.append(ValidationIssue(path, message)) }
        mutating func warn(_ path: String, _ message: String) { issues.append(ValidationIssue(path, message, severity: .warning)) }
    }

    static func isName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 255 && s.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 45 || c == 95
        }
    }

    static func validateTask(_ d: ECS.TaskDefinition, _ v: inout Collector) {
        if let f = d.family {
            if !isName(f) { v.add("family", "\"\(f)\" must be 1-255 letters, digits, hyphens or underscores") }
        } else {
            v.add("family", "required")
        }
        switch d.networkMode?.rawValue {
        case "awsvpc": break
        case nil: v.add("networkMode", "required on Fargate: must be \"awsvpc\"")
        case let m?: v.add("networkMode", "\"\(m)\" is not supported on Fargate: must be \"awsvpc\"")
        }
        var cpu: Int?, memory: Int?
        if let c = d.cpu {
            cpu = FargateSize.parseCPU(c)
            if cpu == nil { v.add("cpu", "\"\(c)\" is not a cpu value: use units (\"256\") or vCPU (\"0.25 vCPU\")") }
        } else {
            v.add("cpu", "required on Fargate (one of 256, 512, 1024, 2048, 4096, 8192, 16384)")
        }
        if let m = d.memory {
            memory = FargateSize.parseMemory(m)
            if memory == nil { v.add("memory", "\"\(m)\" is not a memory value: use MiB (\"512\") or GB (\"0.5 GB\")") }
        } else {
            v.add("memory", "required on Fargate")
        }
        if let cpu, let memory, !FargateSize(cpu: cpu, memory: memory).isAllowed {
            if let choices = FargateSize.memoryChoices(forCPU: cpu) {
                v.add("memory", "\(memory) MiB is not allowed with cpu \(cpu): allowed \(choices)")
            } else {
                v.add("cpu", "\(cpu) is not a Fargate cpu value: allowed 256, 512, 1024, 2048, 4096, 8192, 16384")
            }
        }
        if let pm = d.pidMode, pm.rawValue != "task" { v.add("pidMode", "\"\(pm)\" is not supported on Fargate: only \"task\"") }
        if d.ipcMode != nil { v.add("ipcMode", "not supported on Fargate") }
        if let pc = d.placementConstraints, !pc.isEmpty { v.add("placementConstraints", "not supported on Fargate") }
        if let ia = d.inferenceAccelerators, !ia.isEmpty { v.add("inferenceAccelerators", "not supported on Fargate") }
        if let size = d.ephemeralStorage?.sizeInGiB, !(21...200).contains(size) {
            v.add("ephemeralStorage.sizeInGiB", "\(size) is out of range: 21 to 200 (the default is 20)")
        }
        if let rp = d.runtimePlatform {
            if let a = rp.cpuArchitecture, !ECS.CPUArchitecture.allowedValues.contains(a.rawValue) {
                v.add("runtimePlatform.cpuArchitecture", "\"\(a)\" is not one of X86_64, ARM64")
            }
            if let os = rp.operatingSystemFamily, os.rawValue != "LINUX" {
                v.add("runtimePlatform.operatingSystemFamily", "\"\(os)\" is not supported here: only LINUX")
            }
        }
        if let rc = d.requiresCompatibilities, !rc.isEmpty, !rc.contains(where: { $0.rawValue == "FARGATE" }) {
            v.add("requiresCompatibilities", "\(rc.map(\.rawValue)) does not include FARGATE: this definition cannot run on Fargate")
        }
        if let pc = d.proxyConfiguration, let name = pc.containerName,
           !(d.containerDefinitions ?? []).contains(where: { $0.name == name }) {
            v.add("proxyConfiguration.containerName", "\"\(name)\" is not a container of this task")
        }
        var volumeNames: [String: Int] = [:]
        for (i, vol) in (d.volumes ?? []).enumerated() {
            let p = "volumes[\(i)]"
            if let n = vol.name {
                if !isName(n) { v.add(p + ".name", "\"\(n)\" must be 1-255 letters, digits, hyphens or underscores") }
                if let j = volumeNames[n] { v.add(p + ".name", "\"\(n)\" is already the name of volumes[\(j)]") } else { volumeNames[n] = i }
            } else {
                v.add(p + ".name", "required")
            }
            let kinds = [("host", vol.host != nil), ("dockerVolumeConfiguration", vol.dockerVolumeConfiguration != nil),
                         ("efsVolumeConfiguration", vol.efsVolumeConfiguration != nil),
                         ("fsxWindowsFileServerVolumeConfiguration", vol.fsxWindowsFileServerVolumeConfiguration != nil),
                         ("s3filesVolumeConfiguration", vol.s3filesVolumeConfiguration != nil),
                         ("configuredAtLaunch", vol.configuredAtLaunch == true)].filter(\.1).map(\.0)
            if kinds.count > 1 { v.add(p, "a volume has one type, found \(kinds.joined(separator: " and "))") }
            if let s3 = vol.s3filesVolumeConfiguration {
                if let port = s3.transitEncryptionPort, !(1...65535).contains(port) {
                    v.add(p + ".s3filesVolumeConfiguration.transitEncryptionPort", "\(port) is not a port (1 to 65535)")
                }
                if let root = s3.rootDirectory, s3.accessPointArn != nil, root != "/" {
                    v.add(p + ".s3filesVolumeConfiguration.rootDirectory", "must be omitted or \"/\" when an access point is used")
                }
                if d.taskRoleArn == nil { v.add("taskRoleArn", "required with an S3 Files volume (\(p))") }
            }
            if vol.host?.sourcePath != nil { v.add(p + ".host.sourcePath", "host paths are not supported on Fargate") }
            if vol.dockerVolumeConfiguration != nil { v.add(p + ".dockerVolumeConfiguration", "not supported on Fargate") }
            if vol.fsxWindowsFileServerVolumeConfiguration != nil {
                v.add(p + ".fsxWindowsFileServerVolumeConfiguration", "FSx for Windows File Server volumes are not supported on Linux Fargate tasks")
            }
            if let efs = vol.efsVolumeConfiguration {
                if let port = efs.transitEncryptionPort, !(1...65535).contains(port) {
                    v.add(p + ".efsVolumeConfiguration.transitEncryptionPort", "\(port) is not a port (1 to 65535)")
                }
                if efs.authorizationConfig?.iam?.rawValue == "ENABLED" || efs.authorizationConfig?.accessPointId != nil,
                   efs.transitEncryption?.rawValue != "ENABLED" {
                    v.add(p + ".efsVolumeConfiguration.transitEncryption", "must be ENABLED when IAM authorization or an access point is used")
                }
                if let root = efs.rootDirectory, efs.authorizationConfig?.accessPointId != nil, root != "/" {
                    v.add(p + ".efsVolumeConfiguration.rootDirectory", "must be omitted or \"/\" when an access point is used")
                }
            }
        }
        let atLaunch = (d.volumes ?? []).enumerated().filter { $0.element.configuredAtLaunch == true }
        if atLaunch.count > 1 {
            v.add("volumes[\(atLaunch[1].offset)].configuredAtLaunch", "only one volume of a task definition may be configured at launch")
        }
        let containers = d.containerDefinitions ?? []
        if containers.isEmpty { v.add("containerDefinitions", "at least one container is required") }
        if containers.count > maxContainers {
            v.add("containerDefinitions", "\(containers.count) containers: a task may have at most \(maxContainers)")
        }
    }

    static func validateContainer(_ c: ECS.ContainerDefinition, path p: String, task: ECS.TaskDefinition, _ v: inout Collector) {
        if let n = c.name {
            if !isName(n) { v.add(p + ".name", "\"\(n)\" must be 1-255 letters, digits, hyphens or underscores") }
        } else {
            v.add(p + ".name", "required")
        }
        if c.image?.isEmpty ?? true { v.add(p + ".image", "required") }
        if let cpu = c.cpu, cpu < 0 { v.add(p + ".cpu", "\(cpu) must not be negative") }
        if let m = c.memory, m < 6 { v.add(p + ".memory", "\(m) MiB is below the 6 MiB minimum") }
        if let r = c.memoryReservation, r < 6 { v.add(p + ".memoryReservation", "\(r) MiB is below the 6 MiB minimum") }
        if let m = c.memory, let r = c.memoryReservation, r > m {
            v.add(p + ".memoryReservation", "\(r) MiB exceeds memory (\(m) MiB)")
        }
        for (field, value) in [("startTimeout", c.startTimeout), ("stopTimeout", c.stopTimeout)] {
            if let t = value, !(2...120).contains(t) { v.add(p + "." + field, "\(t) is out of range: 2 to 120 seconds") }
        }
        if c.hostname != nil { v.add(p + ".hostname", "not allowed with the awsvpc network mode") }
        // What Fargate refuses is asking for something: an empty list or false asks for
        // nothing, and console exports are full of them.
        if c.privileged == true { v.add(p + ".privileged", "not supported on Fargate") }
        if !(c.links ?? []).isEmpty { v.add(p + ".links", "not supported on Fargate (containers share localhost under awsvpc)") }
        if c.disableNetworking == true { v.add(p + ".disableNetworking", "not supported on Fargate") }
        if !(c.dnsServers ?? []).isEmpty { v.add(p + ".dnsServers", "not supported on Fargate") }
        if !(c.dnsSearchDomains ?? []).isEmpty { v.add(p + ".dnsSearchDomains", "not supported on Fargate") }
        if !(c.extraHosts ?? []).isEmpty { v.add(p + ".extraHosts", "not supported on Fargate") }
        if !(c.dockerSecurityOptions ?? []).isEmpty { v.add(p + ".dockerSecurityOptions", "not supported on Fargate") }
        if let lp = c.linuxParameters {
            if lp.maxSwap != nil { v.add(p + ".linuxParameters.maxSwap", "not supported on Fargate") }
            if lp.swappiness != nil { v.add(p + ".linuxParameters.swappiness", "not supported on Fargate") }
            if !(lp.devices ?? []).isEmpty { v.add(p + ".linuxParameters.devices", "not supported on Fargate") }
            for (i, cap) in (lp.capabilities?.add ?? []).enumerated() where cap != "SYS_PTRACE" {
                v.add(p + ".linuxParameters.capabilities.add[\(i)]", "\"\(cap)\" cannot be added on Fargate: only SYS_PTRACE")
            }
        }
        for (i, r) in (c.resourceRequirements ?? []).enumerated() {
            switch r.type?.rawValue {
            case "GPU": v.add(p + ".resourceRequirements[\(i)]", "GPUs are not supported on Fargate")
            case "InferenceAccelerator": v.add(p + ".resourceRequirements[\(i)]", "inference accelerators are not supported on Fargate")
            default: break
            }
        }
        if let files = c.environmentFiles, files.count > 10 {
            v.add(p + ".environmentFiles", "\(files.count) files: at most 10")
        }
        for (i, pm) in (c.portMappings ?? []).enumerated() {
            let pp = p + ".portMappings[\(i)]"
            if let cp = pm.containerPort {
                if !(1...65535).contains(cp) { v.add(pp + ".containerPort", "\(cp) is not a port (1 to 65535)") }
                if let hp = pm.hostPort, hp != cp {
                    v.add(pp + ".hostPort", "\(hp) must be absent or equal to containerPort (\(cp)) with awsvpc")
                }
            } else if pm.containerPortRange == nil {
                v.add(pp + ".containerPort", "required (or containerPortRange)")
            }
            if let proto = pm.protocol, !ECS.TransportProtocol.allowedValues.contains(proto.rawValue) {
                v.add(pp + ".protocol", "\"\(proto)\" is not one of tcp, udp")
            }
        }
        for (i, e) in (c.environment ?? []).enumerated() where e.name?.isEmpty ?? true {
            v.add(p + ".environment[\(i)].name", "required")
        }
        if let log = c.logConfiguration {
            if let d = log.logDriver, !["awslogs", "splunk", "awsfirelens"].contains(d.rawValue) {
                v.add(p + ".logConfiguration.logDriver", "\"\(d)\" is not supported on Fargate: awslogs, splunk or awsfirelens")
            }
        }
        if let w = c.workingDirectory, !w.hasPrefix("/") {
            v.add(p + ".workingDirectory", "\"\(w)\" must be an absolute path")
        }
        if let hc = c.healthCheck {
            let hp = p + ".healthCheck"
            if let cmd = hc.command {
                if cmd.isEmpty {
                    v.add(hp + ".command", "an empty list: start it with \"CMD\" or \"CMD-SHELL\" and the command")
                } else if ["CMD", "CMD-SHELL"].contains(cmd[0]) {
                    if cmd.count < 2 { v.add(hp + ".command", "\"\(cmd[0])\" needs a command after it") }
                } else {
                    // ECS registers any list and hands it to the container runtime as is
                    // (Docker's HealthConfig.Test), which probes only CMD and CMD-SHELL.
                    let unknown = "the container's health stays UNKNOWN, and so does the task's (a HEALTHY dependency on it is never met)"
                    if cmd[0] == "NONE" {
                        v.warn(hp + ".command", "\"NONE\" disables the check: \(unknown)")
                    } else {
                        v.warn(hp + ".command", "without \"CMD\" or \"CMD-SHELL\" first, the check never runs: \(unknown); to run it, write [\"CMD-SHELL\", \"\(cmd.joined(separator: " "))\"]")
                    }
                }
            } else {
                v.add(hp + ".command", "required")
            }
            for (field, value, range) in [("interval", hc.interval, 5...300), ("timeout", hc.timeout, 2...60),
                                          ("retries", hc.retries, 1...10), ("startPeriod", hc.startPeriod, 0...300)] {
                if let x = value, !range.contains(x) { v.add(hp + "." + field, "\(x) is out of range: \(range.lowerBound) to \(range.upperBound)") }
            }
        }
        if let rp = c.restartPolicy {
            let rpp = p + ".restartPolicy"
            if rp.enabled == nil { v.add(rpp + ".enabled", "required") }
            if let codes = rp.ignoredExitCodes, codes.count > 50 { v.add(rpp + ".ignoredExitCodes", "\(codes.count) codes: at most 50") }
            if let period = rp.restartAttemptPeriod, !(60...1800).contains(period) {
                v.add(rpp + ".restartAttemptPeriod", "\(period) is out of range: 60 to 1800 seconds")
            }
        }
        for (i, m) in (c.mountPoints ?? []).enumerated() {
            let mp = p + ".mountPoints[\(i)]"
            if let name = m.sourceVolume {
                if !(task.volumes ?? []).contains(where: { $0.name == name }) {
                    v.add(mp + ".sourceVolume", "\"\(name)\" is not a volume of this task (declare it in volumes)")
                }
            } else {
                v.add(mp + ".sourceVolume", "required")
            }
            if let cp = m.containerPath {
                if !cp.hasPrefix("/") { v.add(mp + ".containerPath", "\"\(cp)\" must be an absolute path") }
            } else {
                v.add(mp + ".containerPath", "required")
            }
        }
        for (i, vf) in (c.volumesFrom ?? []).enumerated() {
            let vp = p + ".volumesFrom[\(i)].sourceContainer"
            guard let src = vf.sourceContainer else { v.add(vp, "required"); continue }
            if src == c.name { v.add(vp, "a container cannot take volumes from itself") }
            else if !(task.containerDefinitions ?? []).contains(where: { $0.name == src }) { v.add(vp, "\"\(src)\" is not a container of this task") }
        }
        for (i, u) in (c.ulimits ?? []).enumerated() {
            if let s = u.softLimit, let h = u.hardLimit, s > h {
                v.add(p + ".ulimits[\(i)].softLimit", "\(s) exceeds hardLimit (\(h))")
            }
        }
        if let log = c.logConfiguration, log.logDriver?.rawValue == "awslogs" {
            let opts = log.options ?? [:]
            if let g = opts["awslogs-group"], !g.isEmpty,
               g.count > 512 || !g.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-/#".contains($0)) }) {
                v.add(p + ".logConfiguration.options.awslogs-group", "\"\(g)\" is not a log group name: 1-512 of letters, digits and . _ - / #")
            }
            if let s = opts["awslogs-stream-prefix"], s.contains(":") || s.contains("*") {
                v.add(p + ".logConfiguration.options.awslogs-stream-prefix", "\"\(s)\" cannot contain ':' or '*' (log stream names cannot)")
            }
            for key in ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"] where opts[key]?.isEmpty ?? true {
                v.add(p + ".logConfiguration.options." + key, key == "awslogs-stream-prefix" ? "required on Fargate" : "required with the awslogs driver")
            }
        }
        for (i, pm) in (c.portMappings ?? []).enumerated() {
            guard let range = pm.containerPortRange else { continue }
            let pp = p + ".portMappings[\(i)]"
            if ECS.PortMapping.portRange(range) == nil {
                v.add(pp + ".containerPortRange", "\"\(range)\" must be FIRST-LAST with 1 <= FIRST < LAST <= 65535")
            }
            if pm.containerPort != nil { v.add(pp + ".containerPort", "cannot be given with containerPortRange") }
            if pm.hostPort != nil { v.add(pp + ".hostPort", "cannot be given with containerPortRange") }
        }
        if let lp = c.linuxParameters {
            for (i, t) in (lp.tmpfs ?? []).enumerated() {
                if let path = t.containerPath, !path.hasPrefix("/") {
                    v.add(p + ".linuxParameters.tmpfs[\(i)].containerPath", "\"\(path)\" must be an absolute path")
                }
                if let size = t.size, size <= 0 { v.add(p + ".linuxParameters.tmpfs[\(i)].size", "\(size) MiB: must be positive") }
                for (j, o) in (t.mountOptions ?? []).enumerated() {
                    let name = o.split(separator: "=", maxSplits: 1).first.map(String.init) ?? o
                    let takesValue = tmpfsValueOptions.contains(name)
                    if !tmpfsOptions.contains(name) || (o.contains("=") && !takesValue) {
                        let hint = SchemaChecker.suggestion(for: name, among: tmpfsOptions).map { " (did you mean \"\($0)\"?)" } ?? ""
                        v.add(p + ".linuxParameters.tmpfs[\(i)].mountOptions[\(j)]", "\"\(o)\" is not a tmpfs mount option ECS accepts\(hint)")
                    }
                }
            }
            if let shm = lp.sharedMemorySize, shm <= 0 { v.add(p + ".linuxParameters.sharedMemorySize", "\(shm) MiB: must be positive") }
        }
        for (i, sc) in (c.systemControls ?? []).enumerated() {
            guard let ns = sc.namespace else { v.add(p + ".systemControls[\(i)].namespace", "required"); continue }
            if !SystemControls.isName(ns) {
                v.add(p + ".systemControls[\(i)].namespace", "\"\(ns)\" is not a kernel parameter name (letters, digits, _ and - between dots)")
            } else if !SystemControls.allowedOnFargate(ns) {
                v.add(p + ".systemControls[\(i)].namespace", "\"\(ns)\" cannot be set on Fargate: only the namespaced kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.* ones")
            }
            if sc.value == nil { v.add(p + ".systemControls[\(i)].value", "required") }
        }
        if let specs = c.credentialSpecs, !specs.isEmpty {
            v.add(p + ".credentialSpecs", "not supported on Linux Fargate tasks")
        }
    }

    static func validateContainerSet(_ d: ECS.TaskDefinition, _ containers: [ECS.ContainerDefinition], _ v: inout Collector) {
        var firstIndex: [String: Int] = [:]
        for (i, c) in containers.enumerated() {
            guard let n = c.name else { continue }
            if let j = firstIndex[n] {
                v.add("containerDefinitions[\(i)].name", "\"\(n)\" is already the name of containerDefinitions[\(j)]")
            } else {
                firstIndex[n] = i
            }
        }
        if !containers.isEmpty && !containers.contains(where: { $0.essential ?? true }) {
            v.add("containerDefinitions", "at least one container must be essential")
        }
        if let size = size(of: d) {
            let cpuSum = containers.reduce(0) { $0 + ($1.cpu ?? 0) }
            if cpuSum > size.cpu { v.add("containerDefinitions", "container cpu adds up to \(cpuSum), more than the task's \(size.cpu)") }
            var oneTooBig = false
            for (i, c) in containers.enumerated() {
                if let m = c.memory, m > size.memory {
                    v.add("containerDefinitions[\(i)].memory", "\(m) MiB exceeds the task's \(size.memory) MiB")
                    oneTooBig = true
                }
            }
            // The sum says nothing new when one container alone is already too big.
            let memSum = containers.reduce(0) { $0 + ($1.memory ?? $1.memoryReservation ?? 0) }
            if memSum > size.memory && !oneTooBig {
                v.add("containerDefinitions", "container memory adds up to \(memSum) MiB, more than the task's \(size.memory) MiB")
            }
        }
        // The same port published twice in one task (they share one network namespace).
        var ports: [String: String] = [:]
        for (i, c) in containers.enumerated() {
            for (j, pm) in (c.portMappings ?? []).enumerated() {
                guard let cp = pm.containerPort else { continue }
                let key = "\(pm.protocol?.rawValue ?? "tcp")/\(cp)"
                let here = "containerDefinitions[\(i)].portMappings[\(j)]"
                if let other = ports[key] {
                    v.add(here + ".containerPort", "\(key) is already mapped by \(other)")
                } else {
                    ports[key] = here
                }
            }
        }
        validateDependencies(containers, firstIndex, &v)
    }

    static func validateDependencies(_ containers: [ECS.ContainerDefinition], _ index: [String: Int], _ v: inout Collector) {
        for (i, c) in containers.enumerated() {
            for (j, dep) in (c.dependsOn ?? []).enumerated() {
                let p = "containerDefinitions[\(i)].dependsOn[\(j)]"
                guard let target = dep.containerName else { v.add(p + ".containerName", "required"); continue }
                guard let t = index[target] else {
                    v.add(p + ".containerName", "\"\(target)\" is not a container of this task")
                    continue
                }
                if target == c.name { v.add(p + ".containerName", "a container cannot depend on itself") }
                guard let cond = dep.condition else { v.add(p + ".condition", "required"); continue }
                switch cond.rawValue {
                case "START": break
                case "COMPLETE", "SUCCESS":
                    if containers[t].essential ?? true {
                        v.add(p + ".condition", "\(cond) cannot be used on \"\(target)\", which is essential")
                    }
                case "HEALTHY":
                    if containers[t].healthCheck == nil {
                        v.add(p + ".condition", "HEALTHY needs a healthCheck on \"\(target)\"")
                    }
                default:
                    v.add(p + ".condition", "\"\(cond)\" is not one of START, COMPLETE, SUCCESS, HEALTHY")
                }
            }
        }
        // Cycles, reported once per cycle with its members.
        var state = [Int](repeating: 0, count: containers.count)  // 0 new, 1 on stack, 2 done
        var stack: [Int] = []
        var reported = Set<String>()
        func visit(_ i: Int) -> Void {
            state[i] = 1
            stack.append(i)
            for dep in containers[i].dependsOn ?? [] {
                guard let name = dep.containerName, let t = index[name], t != i else { continue }
                if state[t] == 1, let start = stack.firstIndex(of: t) {
                    let cycle = stack[start...].map { containers[$0].name ?? "?" }
                    let key = cycle.sorted().joined(separator: ",")
                    if reported.insert(key).inserted {
                        v.add("containerDefinitions[\(t)].dependsOn", "dependency cycle: \((cycle + [cycle[0]]).joined(separator: " -> "))")
                    }
                } else if state[t] == 0 {
                    visit(t)
                }
            }
            stack.removeLast()
            state[i] = 2
        }
        for i in containers.indices where state[i] == 0 { visit(i) }
    }
}
