import ECSModel
import Foundation
import Testing

/// One task definition Fargate would refuse, and the one problem we must report for it.
struct Invalid: Sendable, CustomTestStringConvertible {
    var label: String
    var json: String
    var path: String
    var message: String
    var testDescription: String { label }

    /// A valid 0.25 vCPU / 0.5 GB task with `top` spliced into the task object and the given
    /// containers (default: one container "web").
    static func task(_ top: String = "", cpu: String = "256", memory: String = "512", containers: [String] = [web()]) -> String {
        #"{"family": "app", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "\#(cpu)", "memory": "\#(memory)",\#(top.isEmpty ? "" : " " + top + ",") "containerDefinitions": [\#(containers.joined(separator: ", "))]}"#
    }

    /// A container named `name` running busybox, with `extra` members.
    static func web(_ extra: String = "", name: String = "web") -> String {
        #"{"name": "\#(name)", "image": "busybox:1.36"\#(extra.isEmpty ? "" : ", " + extra)}"#
    }

    init(_ label: String, _ json: String, _ path: String, _ message: String) {
        self.label = label
        self.json = json
        self.path = path
        self.message = message
    }
}

struct InvalidDefinitionTests {
    static let cases: [Invalid] = [
        // Task size.
        Invalid("cpu not a Fargate value", Invalid.task(cpu: "300"), "cpu", "300 is not a Fargate cpu value: allowed 256, 512, 1024, 2048, 4096, 8192, 16384"),
        Invalid("memory not allowed with cpu", Invalid.task(cpu: "256", memory: "4096"), "memory", "4096 MiB is not allowed with cpu 256: allowed 512, 1024, 2048 MiB"),
        Invalid("memory off the 8 vCPU step", Invalid.task(cpu: "8 vCPU", memory: "17 GB"), "memory", "17408 MiB is not allowed with cpu 8192: allowed 16384 to 61440 MiB in steps of 4096"),
        Invalid("cpu not a number", Invalid.task(cpu: "fast"), "cpu", "\"fast\" is not a cpu value: use units (\"256\") or vCPU (\"0.25 vCPU\")"),
        Invalid("memory in an unknown unit", Invalid.task(memory: "1 TB"), "memory", "\"1 TB\" is not a memory value: use MiB (\"512\") or GB (\"0.5 GB\")"),
        Invalid("cpu missing", #"{"family": "app", "networkMode": "awsvpc", "memory": "512", "containerDefinitions": [{"name": "a", "image": "b"}]}"#,
                "cpu", "required on Fargate (one of 256, 512, 1024, 2048, 4096, 8192, 16384)"),
        Invalid("cpu as a JSON number", Invalid.task().replacingOccurrences(of: #""cpu": "256""#, with: #""cpu": 256"#),
                "cpu", "expected a string, found the number 256 (write it in quotes: \"256\")"),
        Invalid("a huge vCPU count", Invalid.task(cpu: "99999999999999999 vCPU"), "cpu", "\"99999999999999999 vCPU\" is not a cpu value: use units (\"256\") or vCPU (\"0.25 vCPU\")"),
        Invalid("ephemeral storage below 21 GiB", Invalid.task(#""ephemeralStorage": {"sizeInGiB": 20}"#), "ephemeralStorage.sizeInGiB", "20 is out of range: 21 to 200 (the default is 20)"),
        // Task-level members.
        Invalid("bridge network mode", Invalid.task().replacingOccurrences(of: "awsvpc", with: "bridge"),
                "networkMode", "\"bridge\" is not supported on Fargate: must be \"awsvpc\""),
        Invalid("family with a space", Invalid.task().replacingOccurrences(of: #""family": "app""#, with: #""family": "my app""#),
                "family", "\"my app\" must be 1-255 letters, digits, hyphens or underscores"),
        Invalid("requiresCompatibilities without FARGATE", Invalid.task().replacingOccurrences(of: #"["FARGATE"]"#, with: #"["EC2"]"#),
                "requiresCompatibilities", "[\"EC2\"] does not include FARGATE: this definition cannot run on Fargate"),
        Invalid("ipcMode", Invalid.task(#""ipcMode": "host""#), "ipcMode", "not supported on Fargate"),
        Invalid("pidMode host", Invalid.task(#""pidMode": "host""#), "pidMode", "\"host\" is not supported on Fargate: only \"task\""),
        Invalid("placement constraints", Invalid.task(#""placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.instance-type =~ t2.*"}]"#),
                "placementConstraints", "not supported on Fargate"),
        Invalid("host volume", Invalid.task(#""volumes": [{"name": "data", "host": {"sourcePath": "/var/data"}}]"#),
                "volumes[0].host.sourcePath", "host paths are not supported on Fargate"),
        Invalid("docker volume", Invalid.task(#""volumes": [{"name": "data", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}}]"#),
                "volumes[0].dockerVolumeConfiguration", "not supported on Fargate"),
        Invalid("two volumes with one name", Invalid.task(#""volumes": [{"name": "data"}, {"name": "data"}]"#),
                "volumes[1].name", "\"data\" is already the name of volumes[0]"),
        Invalid("EFS access point without transit encryption",
                Invalid.task(#""volumes": [{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-1234", "authorizationConfig": {"accessPointId": "fsap-1"}}}]"#),
                "volumes[0].efsVolumeConfiguration.transitEncryption", "must be ENABLED when IAM authorization or an access point is used"),
        Invalid("a volume of two types", Invalid.task(#""volumes": [{"name": "data", "configuredAtLaunch": true, "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]"#),
                "volumes[0]", "a volume has one type, found efsVolumeConfiguration and configuredAtLaunch"),
        Invalid("two volumes configured at launch", Invalid.task(#""volumes": [{"name": "a", "configuredAtLaunch": true}, {"name": "b", "configuredAtLaunch": true}]"#),
                "volumes[1].configuredAtLaunch", "only one volume of a task definition may be configured at launch"),
        Invalid("S3 Files without a task role", Invalid.task(#""volumes": [{"name": "s3", "s3filesVolumeConfiguration": {"fileSystemArn": "arn:aws:s3files:us-east-1:1:file-system/fs-1"}}]"#),
                "taskRoleArn", "required with an S3 Files volume (volumes[0])"),
        Invalid("runtime platform in lower case", Invalid.task(#""runtimePlatform": {"cpuArchitecture": "arm64"}"#),
                "runtimePlatform.cpuArchitecture", "\"arm64\" is not one of: X86_64, ARM64 (did you mean \"ARM64\"?)"),
        Invalid("proxy for a container that does not exist", Invalid.task(#""proxyConfiguration": {"type": "APPMESH", "containerName": "envoy"}"#),
                "proxyConfiguration.containerName", "\"envoy\" is not a container of this task"),
        Invalid("unknown top-level member", Invalid.task(#""containerDefinition": []"#), "containerDefinition", "unknown member: did you mean \"containerDefinitions\"?"),
        // Container sets.
        Invalid("eleven containers", Invalid.task(containers: (0..<11).map { Invalid.web(name: "c\($0)") }),
                "containerDefinitions", "11 containers: a task may have at most 10"),
        Invalid("no essential container", Invalid.task(containers: [Invalid.web(#""essential": false"#)]),
                "containerDefinitions", "at least one container must be essential"),
        Invalid("container cpu above the task's", Invalid.task(containers: [Invalid.web(#""cpu": 200"#), Invalid.web(#""cpu": 100"#, name: "log")]),
                "containerDefinitions", "container cpu adds up to 300, more than the task's 256"),
        Invalid("container reservations above the task's memory", Invalid.task(containers: [Invalid.web(#""memoryReservation": 300"#), Invalid.web(#""memoryReservation": 300"#, name: "log")]),
                "containerDefinitions", "container memory adds up to 600 MiB, more than the task's 512 MiB"),
        Invalid("duplicate container names", Invalid.task(containers: [Invalid.web(), Invalid.web()]),
                "containerDefinitions[1].name", "\"web\" is already the name of containerDefinitions[0]"),
        Invalid("one port mapped twice", Invalid.task(containers: [Invalid.web(#""portMappings": [{"containerPort": 8080}]"#), Invalid.web(#""portMappings": [{"containerPort": 8080, "protocol": "tcp"}]"#, name: "admin")]),
                "containerDefinitions[1].portMappings[0].containerPort", "tcp/8080 is already mapped by containerDefinitions[0].portMappings[0]"),
        // Dependencies.
        Invalid("dependency on an unknown container", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "db", "condition": "START"}]"#)]),
                "containerDefinitions[0].dependsOn[0].containerName", "\"db\" is not a container of this task"),
        Invalid("dependency on itself", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "web", "condition": "START"}]"#)]),
                "containerDefinitions[0].dependsOn[0].containerName", "a container cannot depend on itself"),
        Invalid("dependency cycle", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "b", "condition": "START"}]"#, name: "a"),
                                                              Invalid.web(#""dependsOn": [{"containerName": "a", "condition": "START"}]"#, name: "b")]),
                "containerDefinitions[0].dependsOn", "dependency cycle: a -> b -> a"),
        Invalid("SUCCESS on an essential container", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "migrate", "condition": "SUCCESS"}]"#), Invalid.web(name: "migrate")]),
                "containerDefinitions[0].dependsOn[0].condition", "SUCCESS cannot be used on \"migrate\", which is essential"),
        Invalid("COMPLETE on an essential container", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "seed", "condition": "COMPLETE"}]"#), Invalid.web(#""essential": true"#, name: "seed")]),
                "containerDefinitions[0].dependsOn[0].condition", "COMPLETE cannot be used on \"seed\", which is essential"),
        Invalid("HEALTHY without a health check", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "db", "condition": "HEALTHY"}]"#), Invalid.web(name: "db")]),
                "containerDefinitions[0].dependsOn[0].condition", "HEALTHY needs a healthCheck on \"db\""),
        Invalid("unknown condition", Invalid.task(containers: [Invalid.web(#""dependsOn": [{"containerName": "db", "condition": "READY"}]"#), Invalid.web(name: "db")]),
                "containerDefinitions[0].dependsOn[0].condition", "\"READY\" is not one of: START, COMPLETE, SUCCESS, HEALTHY"),
        // Containers.
        Invalid("container name with a slash", Invalid.task(containers: [Invalid.web(name: "web/1")]),
                "containerDefinitions[0].name", "\"web/1\" must be 1-255 letters, digits, hyphens or underscores"),
        Invalid("no image", Invalid.task(containers: [#"{"name": "web"}"#]), "containerDefinitions[0].image", "required"),
        Invalid("hostPort differs from containerPort", Invalid.task(containers: [Invalid.web(#""portMappings": [{"containerPort": 80, "hostPort": 8080}]"#)]),
                "containerDefinitions[0].portMappings[0].hostPort", "8080 must be absent or equal to containerPort (80) with awsvpc"),
        Invalid("port out of range", Invalid.task(containers: [Invalid.web(#""portMappings": [{"containerPort": 70000}]"#)]),
                "containerDefinitions[0].portMappings[0].containerPort", "70000 is not a port (1 to 65535)"),
        Invalid("port as a string", Invalid.task(containers: [Invalid.web(#""portMappings": [{"containerPort": "80"}]"#)]),
                "containerDefinitions[0].portMappings[0].containerPort", "expected an integer, found the string \"80\""),
        Invalid("protocol in capitals", Invalid.task(containers: [Invalid.web(#""portMappings": [{"containerPort": 53, "protocol": "UDP"}]"#)]),
                "containerDefinitions[0].portMappings[0].protocol", "\"UDP\" is not one of: tcp, udp (did you mean \"udp\"?)"),
        Invalid("port range upside down", Invalid.task(containers: [Invalid.web(#""portMappings": [{"containerPortRange": "9000-8000"}]"#)]),
                "containerDefinitions[0].portMappings[0].containerPortRange", "\"9000-8000\" must be FIRST-LAST with 1 <= FIRST < LAST <= 65535"),
        Invalid("hostname with awsvpc", Invalid.task(containers: [Invalid.web(#""hostname": "web.local""#)]),
                "containerDefinitions[0].hostname", "not allowed with the awsvpc network mode"),
        Invalid("privileged", Invalid.task(containers: [Invalid.web(#""privileged": true"#)]), "containerDefinitions[0].privileged", "not supported on Fargate"),
        Invalid("links", Invalid.task(containers: [Invalid.web(#""links": ["db"]"#)]),
                "containerDefinitions[0].links", "not supported on Fargate (containers share localhost under awsvpc)"),
        Invalid("disableNetworking", Invalid.task(containers: [Invalid.web(#""disableNetworking": true"#)]), "containerDefinitions[0].disableNetworking", "not supported on Fargate"),
        Invalid("dnsServers", Invalid.task(containers: [Invalid.web(#""dnsServers": ["10.0.0.2"]"#)]), "containerDefinitions[0].dnsServers", "not supported on Fargate"),
        Invalid("extraHosts", Invalid.task(containers: [Invalid.web(#""extraHosts": [{"hostname": "db", "ipAddress": "10.0.0.5"}]"#)]), "containerDefinitions[0].extraHosts", "not supported on Fargate"),
        Invalid("dockerSecurityOptions", Invalid.task(containers: [Invalid.web(#""dockerSecurityOptions": ["no-new-privileges"]"#)]), "containerDefinitions[0].dockerSecurityOptions", "not supported on Fargate"),
        Invalid("capability other than SYS_PTRACE", Invalid.task(containers: [Invalid.web(#""linuxParameters": {"capabilities": {"add": ["SYS_PTRACE", "NET_ADMIN"]}}"#)]),
                "containerDefinitions[0].linuxParameters.capabilities.add[1]", "\"NET_ADMIN\" cannot be added on Fargate: only SYS_PTRACE"),
        Invalid("devices", Invalid.task(containers: [Invalid.web(#""linuxParameters": {"devices": [{"hostPath": "/dev/fuse"}]}"#)]),
                "containerDefinitions[0].linuxParameters.devices", "not supported on Fargate"),
        Invalid("maxSwap", Invalid.task(containers: [Invalid.web(#""linuxParameters": {"maxSwap": 1024}"#)]), "containerDefinitions[0].linuxParameters.maxSwap", "not supported on Fargate"),
        Invalid("swappiness", Invalid.task(containers: [Invalid.web(#""linuxParameters": {"swappiness": 60}"#)]), "containerDefinitions[0].linuxParameters.swappiness", "not supported on Fargate"),
        Invalid("GPU", Invalid.task(containers: [Invalid.web(#""resourceRequirements": [{"type": "GPU", "value": "1"}]"#)]),
                "containerDefinitions[0].resourceRequirements[0]", "GPUs are not supported on Fargate"),
        Invalid("startTimeout below 2", Invalid.task(containers: [Invalid.web(#""startTimeout": 1"#)]), "containerDefinitions[0].startTimeout", "1 is out of range: 2 to 120 seconds"),
        Invalid("stopTimeout above 120", Invalid.task(containers: [Invalid.web(#""stopTimeout": 121"#)]), "containerDefinitions[0].stopTimeout", "121 is out of range: 2 to 120 seconds"),
        Invalid("stopTimeout beyond 32 bits", Invalid.task(containers: [Invalid.web(#""stopTimeout": 99999999999"#)]),
                "containerDefinitions[0].stopTimeout", "99999999999 is out of range: -2147483648 to 2147483647"),
        Invalid("memoryReservation above memory", Invalid.task(containers: [Invalid.web(#""memory": 128, "memoryReservation": 256"#)]),
                "containerDefinitions[0].memoryReservation", "256 MiB exceeds memory (128 MiB)"),
        Invalid("container memory above the task's", Invalid.task(containers: [Invalid.web(#""memory": 1024"#)]),
                "containerDefinitions[0].memory", "1024 MiB exceeds the task's 512 MiB"),
        Invalid("health check with an empty command", Invalid.task(containers: [Invalid.web(#""healthCheck": {"command": []}"#)]),
                "containerDefinitions[0].healthCheck.command", "an empty list: start it with \"CMD\" or \"CMD-SHELL\" and the command"),
        Invalid("health check interval below 5", Invalid.task(containers: [Invalid.web(#""healthCheck": {"command": ["CMD", "true"], "interval": 4}"#)]),
                "containerDefinitions[0].healthCheck.interval", "4 is out of range: 5 to 300"),
        Invalid("health check retries above 10", Invalid.task(containers: [Invalid.web(#""healthCheck": {"command": ["CMD-SHELL", "true"], "retries": 11}"#)]),
                "containerDefinitions[0].healthCheck.retries", "11 is out of range: 1 to 10"),
        Invalid("health check timeout above 60", Invalid.task(containers: [Invalid.web(#""healthCheck": {"command": ["CMD-SHELL", "true"], "timeout": 61}"#)]),
                "containerDefinitions[0].healthCheck.timeout", "61 is out of range: 2 to 60"),
        Invalid("restart policy without enabled", Invalid.task(containers: [Invalid.web(#""restartPolicy": {"restartAttemptPeriod": 300}"#)]),
                "containerDefinitions[0].restartPolicy.enabled", "required"),
        Invalid("restart attempt period below 60", Invalid.task(containers: [Invalid.web(#""restartPolicy": {"enabled": true, "restartAttemptPeriod": 30}"#)]),
                "containerDefinitions[0].restartPolicy.restartAttemptPeriod", "30 is out of range: 60 to 1800 seconds"),
        Invalid("more than 50 ignored exit codes", Invalid.task(containers: [Invalid.web(#""restartPolicy": {"enabled": true, "ignoredExitCodes": [\#((1...51).map(String.init).joined(separator: ","))]}"#)]),
                "containerDefinitions[0].restartPolicy.ignoredExitCodes", "51 codes: at most 50"),
        Invalid("mount of an undeclared volume", Invalid.task(containers: [Invalid.web(#""mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}]"#)]),
                "containerDefinitions[0].mountPoints[0].sourceVolume", "\"data\" is not a volume of this task (declare it in volumes)"),
        Invalid("relative mount path", Invalid.task(#""volumes": [{"name": "data"}]"#, containers: [Invalid.web(#""mountPoints": [{"sourceVolume": "data", "containerPath": "data"}]"#)]),
                "containerDefinitions[0].mountPoints[0].containerPath", "\"data\" must be an absolute path"),
        Invalid("volumesFrom an unknown container", Invalid.task(containers: [Invalid.web(#""volumesFrom": [{"sourceContainer": "files"}]"#)]),
                "containerDefinitions[0].volumesFrom[0].sourceContainer", "\"files\" is not a container of this task"),
        Invalid("ulimit name misspelt", Invalid.task(containers: [Invalid.web(#""ulimits": [{"name": "nofiles", "softLimit": 1024, "hardLimit": 1024}]"#)]),
                "containerDefinitions[0].ulimits[0].name", "\"nofiles\" is not one of: core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack (did you mean \"nofile\"?)"),
        Invalid("ulimit soft above hard", Invalid.task(containers: [Invalid.web(#""ulimits": [{"name": "nofile", "softLimit": 4096, "hardLimit": 1024}]"#)]),
                "containerDefinitions[0].ulimits[0].softLimit", "4096 exceeds hardLimit (1024)"),
        Invalid("log driver not on Fargate", Invalid.task(containers: [Invalid.web(#""logConfiguration": {"logDriver": "json-file"}"#)]),
                "containerDefinitions[0].logConfiguration.logDriver", "\"json-file\" is not supported on Fargate: awslogs, splunk or awsfirelens"),
        Invalid("awslogs without a stream prefix", Invalid.task(containers: [Invalid.web(#""logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/app", "awslogs-region": "us-east-1"}}"#)]),
                "containerDefinitions[0].logConfiguration.options.awslogs-stream-prefix", "required on Fargate"),
        Invalid("relative working directory", Invalid.task(containers: [Invalid.web(#""workingDirectory": "srv""#)]),
                "containerDefinitions[0].workingDirectory", "\"srv\" must be an absolute path"),
        Invalid("environment variable without a name", Invalid.task(containers: [Invalid.web(#""environment": [{"value": "1"}]"#)]),
                "containerDefinitions[0].environment[0].name", "required"),
        Invalid("sysctl outside the task's namespaces", Invalid.task(containers: [Invalid.web(#""systemControls": [{"namespace": "kernel.panic", "value": "1"}]"#)]),
                "containerDefinitions[0].systemControls[0].namespace", "\"kernel.panic\" cannot be set on Fargate: only the namespaced kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.* and net.* ones"),
        Invalid("tmpfs at a relative path", Invalid.task(containers: [Invalid.web(#""linuxParameters": {"tmpfs": [{"containerPath": "tmp", "size": 64}]}"#)]),
                "containerDefinitions[0].linuxParameters.tmpfs[0].containerPath", "\"tmp\" must be an absolute path"),
        Invalid("misspelt container member", Invalid.task(containers: [Invalid.web(#""enviroment": []"#)]),
                "containerDefinitions[0].enviroment", "unknown member: did you mean \"environment\"?"),
        Invalid("essential as a string", Invalid.task(containers: [Invalid.web(#""essential": "true""#)]),
                "containerDefinitions[0].essential", "expected a boolean (true or false), found the string \"true\""),
        Invalid("command as a string", Invalid.task(containers: [Invalid.web(#""command": "sleep 10""#)]),
                "containerDefinitions[0].command", "expected a list, found the string \"sleep 10\""),
        Invalid("environment file type", Invalid.task(containers: [Invalid.web(#""environmentFiles": [{"value": "arn:aws:s3:::b/app.env", "type": "S3"}]"#)]),
                "containerDefinitions[0].environmentFiles[0].type", "\"S3\" is not one of: s3 (did you mean \"s3\"?)"),
        Invalid("secret without valueFrom", Invalid.task(containers: [Invalid.web(#""secrets": [{"name": "DB_PASSWORD"}]"#)]),
                "containerDefinitions[0].secrets[0].valueFrom", "required"),
        Invalid("tmpfs option unknown", Invalid.task(containers: [Invalid.web(#""linuxParameters": {"tmpfs": [{"containerPath": "/tmp", "size": 64, "mountOptions": ["noexc"]}]}"#)]),
                "containerDefinitions[0].linuxParameters.tmpfs[0].mountOptions[0]", "\"noexc\" is not a tmpfs mount option ECS accepts (did you mean \"noexec\"?)"),
        Invalid("eleven environment files", Invalid.task(containers: [Invalid.web(#""environmentFiles": [\#((0..<11).map { #"{"value": "arn:aws:s3:::b/\#($0).env", "type": "s3"}"# }.joined(separator: ","))]"#)]),
                "containerDefinitions[0].environmentFiles", "11 files: at most 10"),
        Invalid("inference accelerator", Invalid.task(containers: [Invalid.web(#""resourceRequirements": [{"type": "InferenceAccelerator", "value": "device1"}]"#)]),
                "containerDefinitions[0].resourceRequirements[0]", "inference accelerators are not supported on Fargate"),
        Invalid("log group with a space", Invalid.task(containers: [Invalid.web(#""logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "my logs", "awslogs-region": "us-east-1", "awslogs-stream-prefix": "web"}}"#)]),
                "containerDefinitions[0].logConfiguration.options.awslogs-group", "\"my logs\" is not a log group name: 1-512 of letters, digits and . _ - / #"),
        Invalid("sysctl name with a slash", Invalid.task(containers: [Invalid.web(#""systemControls": [{"namespace": "net.ipv4/../../x", "value": "1"}]"#)]),
                "containerDefinitions[0].systemControls[0].namespace", "\"net.ipv4/../../x\" is not a kernel parameter name (letters, digits, _ and - between dots)"),
        Invalid("credentialSpecs on Linux", Invalid.task(containers: [Invalid.web(#""credentialSpecs": ["credentialspec:arn:aws:s3:::b/spec.json"]"#)]),
                "containerDefinitions[0].credentialSpecs", "not supported on Linux Fargate tasks"),
    ]

    @Test(arguments: cases)
    func reportsThePathAndTheMessage(_ c: Invalid) throws {
        let loaded = try TaskDefinitionLoader.load(data: Data(c.json.utf8))
        let issues = loaded.allIssues
        #expect(issues.contains(ValidationIssue(c.path, c.message)), "found: \(issues)")
        #expect(issues.count == 1, "one mistake, one message: \(issues)")
    }

    @Test func thereAreEnoughCases() {
        #expect(Self.cases.count >= 40)
        #expect(Set(Self.cases.map(\.label)).count == Self.cases.count, "labels are unique")
    }

    @Test func everyMistakeAtOnce() throws {
        let json = Invalid.task(#""pidMode": "host""#, cpu: "300", containers: [
            Invalid.web(#""privileged": true, "portMappings": [{"containerPort": 80, "hostPort": 81}]"#),
            Invalid.web(#""imagee": "x""#, name: "web"),
        ])
        let paths = try TaskDefinitionLoader.load(data: Data(json.utf8)).allIssues.map(\.path)
        #expect(paths == ["containerDefinitions[1].imagee", "cpu", "pidMode", "containerDefinitions[0].privileged",
                          "containerDefinitions[0].portMappings[0].hostPort", "containerDefinitions[1].name"])
    }

    @Test func duplicateKeysAreASyntaxError() {
        #expect {
            try TaskDefinitionLoader.load(data: Data(#"{"family": "a", "family": "b"}"#.utf8))
        } throws: { e in
            "\(e)".contains("line 1, column 17: the member \"family\" appears twice")
        }
    }
}
