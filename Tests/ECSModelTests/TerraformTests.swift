import ECSModel
import Foundation
import Testing

/// Terraform: a container_definitions list with the task's members from flags, and the
/// aws_ecs_task_definition resources of `terraform show -json`.
struct TerraformTests {
    static let flags = TaskDefinitionLoader.Options(family: "f", cpu: "256", memory: "512", networkMode: "awsvpc")

    @Test func containerDefinitionsReadAsTheProviderReadsThem() throws {
        let l = try load(#"[{"Name": "web", "IMAGE": "nginx", "portmappings": [{"containerPort": 80}], "Essential": null, "imagePullPolicy": "Always"}]"#, Self.flags)
        #expect(l.allIssues == [])
        #expect(l.format == .terraformContainerDefinitions)
        #expect(l.definition.containerDefinitions?.first?.image == "nginx" && l.definition.containerDefinitions?.first?.portMappings?.count == 1)
        #expect(l.warnings == [ValidationIssue("[0].imagePullPolicy", "not a member of ContainerDefinition: the AWS provider drops it, so ECS never sees it",
                                               severity: .warning)])
    }

    @Test func typesAreStrictAsGoDecodesThem() throws {
        let l = try load(#"[{"name": "web", "image": "nginx", "memory": "512", "essential": "true"}]"#, Self.flags)
        #expect(l.allIssues.map(\.path) == ["[0].memory", "[0].essential"])
    }

    @Test func pathsAreTheListsOwn() throws {
        let l = try load(#"[{"name": "web", "image": "nginx", "portMappings": [{"containerPort": 80, "hostPort": 81}]}, {"name": "side"}]"#, Self.flags)
        #expect(l.allIssues.map(\.path) == ["[0].portMappings[0].hostPort", "[1].image"])
    }

    @Test func theTaskComesFromFlags() throws {
        let none = try load(#"[{"name": "web", "image": "nginx"}]"#)
        #expect(none.allIssues.map(\.path) == ["family", "cpu", "memory", "networkMode"])
        #expect(none.allIssues.first?.message == "required: a container_definitions file holds only the containers: pass --family NAME")
        var options = Self.flags
        options.executionRoleArn = "arn:aws:iam::1:role/e"
        let given = try load(#"[{"name": "web", "image": "nginx"}]"#, options)
        #expect(given.allIssues == [] && given.definition.executionRoleArn == "arn:aws:iam::1:role/e")
    }

    static func show(_ values: String, resources: String = "", section: String = "values") -> String {
        #"""
        {"format_version": "1.0", "terraform_version": "1.9.0", "\#(section)": {"root_module": {"resources": [\#(resources)],
         "child_modules": [{"address": "module.app", "resources": [
           {"address": "module.app.aws_ecs_task_definition.this", "mode": "managed", "type": "aws_ecs_task_definition", "name": "this",
            "values": \#(values)}]}]}}}
        """#
    }

    static let values = #"""
        {"family": "app", "cpu": "512", "memory": "1024", "network_mode": "awsvpc", "requires_compatibilities": ["FARGATE"],
         "execution_role_arn": "arn:aws:iam::1:role/e", "task_role_arn": "", "pid_mode": "", "ipc_mode": "", "revision": 3,
         "arn": "arn:aws:ecs:eu-west-1:1:task-definition/app:3", "skip_destroy": false, "enable_fault_injection": false,
         "tags": {"team": "a"}, "tags_all": {"team": "a", "env": "prod"}, "ephemeral_storage": [{"size_in_gib": 25}],
         "runtime_platform": [{"cpu_architecture": "", "operating_system_family": "LINUX"}],
         "proxy_configuration": [{"container_name": "app", "type": "APPMESH", "properties": {"ProxyIngressPort": "15000", "AppPorts": "8080"}}],
         "placement_constraints": [], "inference_accelerator": [],
         "volume": [{"name": "data", "host_path": "", "configure_at_launch": false, "docker_volume_configuration": [], "fsx_windows_file_server_volume_configuration": [],
                     "efs_volume_configuration": [{"file_system_id": "fs-1", "root_directory": "/d", "transit_encryption": "ENABLED", "transit_encryption_port": 0,
                                                   "authorization_config": [{"access_point_id": "", "iam": "ENABLED"}]}]}],
         "container_definitions": "[{\"name\":\"app\",\"image\":\"nginx\",\"essential\":true,\"mountPoints\":[{\"sourceVolume\":\"data\",\"containerPath\":\"/d\"}]}]"}
        """#

    @Test func showOutputAttributesMapOntoTheAPI() throws {
        let l = try load(Self.show(Self.values))
        #expect(l.allIssues == [])
        #expect(l.format == .terraformShow && l.origin == "resource module.app.aws_ecs_task_definition.this")
        let d = l.definition
        #expect(d.family == "app" && d.revision == 3 && d.taskDefinitionArn == "arn:aws:ecs:eu-west-1:1:task-definition/app:3")
        #expect(d.taskRoleArn == nil && d.pidMode == nil && d.enableFaultInjection == nil, "empty and false attributes are not sent")
        #expect(d.runtimePlatform?.cpuArchitecture == nil && d.runtimePlatform?.operatingSystemFamily?.rawValue == "LINUX")
        #expect(d.ephemeralStorage?.sizeInGiB == 25)
        #expect(d.proxyConfiguration?.properties?.map(\.name) == ["AppPorts", "ProxyIngressPort"])
        let efs = try #require(d.volumes?.first?.efsVolumeConfiguration)
        #expect(efs.fileSystemId == "fs-1" && efs.transitEncryptionPort == nil && efs.authorizationConfig?.iam?.rawValue == "ENABLED")
        #expect(efs.authorizationConfig?.accessPointId == nil && d.volumes?.first?.host == nil)
        #expect(l.tags?.map(\.key) == ["team"])
    }

    @Test func showPathsAreTheStatesOwn() throws {
        let broken = Self.values.replacingOccurrences(of: #""network_mode": "awsvpc""#, with: #""network_mode": "bridge""#)
            .replacingOccurrences(of: #""size_in_gib": 25"#, with: #""size_in_gib": 5"#)
            .replacingOccurrences(of: #"\"containerPath\":\"/d\""#, with: #"\"containerPath\":\"d\""#)
        let l = try load(Self.show(broken))
        let base = "values.root_module.child_modules[0].resources[0].values"
        #expect(l.allIssues.map(\.path) == ["\(base).network_mode", "\(base).ephemeral_storage[0].size_in_gib",
                                            "\(base).container_definitions[0].mountPoints[0].containerPath"])
    }

    @Test func plansAndTheChoiceOfResource() throws {
        let other = #"{"address": "aws_ecs_task_definition.b", "mode": "managed", "type": "aws_ecs_task_definition", "name": "b", "values": \#(Self.values.replacingOccurrences(of: #""family": "app""#, with: #""family": "b""#))}"#
        let data = #"{"address": "data.aws_ecs_task_definition.x", "mode": "data", "type": "aws_ecs_task_definition", "name": "x", "values": {}}"#
        let plan = Self.show(Self.values, resources: other + "," + data, section: "planned_values")
        #expect { try load(plan) } throws: { "\($0)".contains("2 task definitions: choose one with --resource: aws_ecs_task_definition.b, module.app.aws_ecs_task_definition.this") }
        #expect(try load(plan, TaskDefinitionLoader.Options(resource: "aws_ecs_task_definition.b")).definition.family == "b")
        #expect { try load(plan, TaskDefinitionLoader.Options(resource: "aws_ecs_task_definition.c")) } throws: {
            "\($0)".contains("did you mean \"aws_ecs_task_definition.b\"?")
        }
    }

    @Test func containerDefinitionsThatAreNotJSON() throws {
        let l = try load(Self.show(Self.values.replacingOccurrences(of: #""container_definitions": "["#, with: #""container_definitions": "[,"#)))
        #expect(l.allIssues.first?.path == "values.root_module.child_modules[0].resources[0].values.container_definitions")
        #expect(l.allIssues.first?.message.hasPrefix("invalid JSON at line 1, column 2") == true)
    }
}
