import ECSModel
import Foundation
import Testing

/// CloudFormation templates: the resource's PascalCase properties in the API's shape, every
/// intrinsic function where its value is static or given, and what cannot be resolved named
/// with its path and what to pass.
struct CloudFormationTests {
    /// A template whose one task definition has `properties` (YAML, indented under Properties)
    /// beside `Family`, the size and one container with `container` (indented under it).
    static func template(_ properties: String = "", container: String = "", top: String = "", resources: String = "") -> String {
        """
        \(top)
        Resources:
        \(resources)
          Task:
            Type: AWS::ECS::TaskDefinition
            Properties:
              Family: f
              Cpu: '256'
              Memory: '512'
              NetworkMode: awsvpc
        \(properties)
              ContainerDefinitions:
                - Name: c
                  Image: i
        \(container)
        """
    }

    func loaded(_ yaml: String, _ parameters: [String: String] = [:], resource: String? = nil, region: String = "us-east-1") throws -> LoadedTaskDefinition {
        try load(yaml, name: "template.yaml", TaskDefinitionLoader.Options(resource: resource, parameters: parameters, region: region))
    }

    /// The resolved value of the first container's environment variable V.
    func env(_ value: String, top: String = "", resources: String = "", _ parameters: [String: String] = [:], region: String = "us-east-1") throws -> String? {
        let l = try loaded(Self.template(container: "          Environment:\n            - Name: V\n              Value: \(value)", top: top, resources: resources),
                           parameters, region: region)
        #expect(l.allIssues == [], "\(l.allIssues)")
        return l.definition.containerDefinitions?.first?.environment?.first?.value
    }

    /// The errors of a value that does not resolve.
    func envErrors(_ value: String, top: String = "", resources: String = "") throws -> [ValidationIssue] {
        try loaded(Self.template(container: "          Environment:\n            - Name: V\n              Value: \(value)", top: top, resources: resources)).allIssues
    }

    static let valuePath = "Resources.Task.Properties.ContainerDefinitions[0].Environment[0].Value"

    @Test func pascalCasePropertiesMapOntoTheAPI() throws {
        let l = try loaded(Self.template("""
                  RuntimePlatform: {CpuArchitecture: ARM64, OperatingSystemFamily: LINUX}
                  EphemeralStorage: {SizeInGiB: 30}
                  Volumes:
                    - Name: data
                      EFSVolumeConfiguration:
                        FilesystemId: fs-1
                        TransitEncryption: ENABLED
                        AuthorizationConfig: {IAM: ENABLED}
                  ProxyConfiguration:
                    Type: APPMESH
                    ContainerName: c
                    ProxyConfigurationProperties: [{Name: AppPorts, Value: '80'}]
                  Tags: [{Key: k, Value: v}]
            """, container: """
                      PortMappings: [{ContainerPort: 80, Protocol: tcp}]
                      HealthCheck: {Command: [CMD-SHELL, 'true'], Interval: 10}
                      MountPoints: [{SourceVolume: data, ContainerPath: /data, ReadOnly: true}]
                      LogConfiguration: {LogDriver: awslogs, Options: {awslogs-group: g, awslogs-region: r, awslogs-stream-prefix: p}}
                      DockerLabels: {com.example.Team: payments}
            """))
        #expect(l.allIssues == [])
        #expect(l.format == .cloudFormation && l.syntax == "YAML" && l.origin == "resource Task")
        let d = l.definition
        #expect(d.volumes?.first?.efsVolumeConfiguration?.fileSystemId == "fs-1")
        #expect(d.volumes?.first?.efsVolumeConfiguration?.authorizationConfig?.iam?.rawValue == "ENABLED")
        #expect(d.proxyConfiguration?.properties?.first?.value == "80")
        #expect(d.ephemeralStorage?.sizeInGiB == 30 && d.runtimePlatform?.cpuArchitecture?.rawValue == "ARM64")
        let c = try #require(d.containerDefinitions?.first)
        #expect(c.portMappings?.first?.containerPort == 80 && c.healthCheck?.interval == 10 && c.mountPoints?.first?.readOnly == true)
        #expect(c.logConfiguration?.options?["awslogs-group"] == "g", "map keys are kept as written")
        #expect(c.dockerLabels?["com.example.Team"] == "payments")
        #expect(l.tags?.first?.key == "k")
    }

    @Test func scalarsTakeThePropertysTypeAsCloudFormationDoes() throws {
        let l = try loaded(Self.template(container: """
                      Essential: 'true'
                      ReadonlyRootFilesystem: "False"
                      Cpu: '128'
                      PortMappings: [{ContainerPort: '8080'}]
                      Environment: [{Name: N, Value: 4}, {Name: B, Value: true}]
            """).replacingOccurrences(of: "Cpu: '256'", with: "Cpu: 256"))
        #expect(l.allIssues == [])
        let c = try #require(l.definition.containerDefinitions?.first)
        #expect(c.essential == true && c.readonlyRootFilesystem == false && c.cpu == 128 && c.portMappings?.first?.containerPort == 8080)
        #expect(c.environment?.map(\.value) == ["4", "true"])
        #expect(l.definition.cpu == "256")
    }

    @Test func unknownPropertiesAreRefusedWithTheNearestName() throws {
        let l = try loaded(Self.template("      TaskRole: x", container: "          PortBindings: [{ContainerPort: 80}]\n          entryPoint: [sh]"))
        #expect(l.allIssues == [
            ValidationIssue("Resources.Task.Properties.TaskRole", "unknown property: did you mean \"TaskRoleArn\"?"),
            ValidationIssue("Resources.Task.Properties.ContainerDefinitions[0].PortBindings", "unknown property: did you mean \"PortMappings\"?"),
            ValidationIssue("Resources.Task.Properties.ContainerDefinitions[0].entryPoint", "unknown property: did you mean \"EntryPoint\"?"),
        ])
    }

    @Test func missingMembersAreNamedInCloudFormationsSpelling() throws {
        let l = try loaded(Self.template(container: "          HealthCheck: {Interval: 10}").replacingOccurrences(of: "Image: i", with: "Essential: true"))
        #expect(l.allIssues.map(\.path) == ["Resources.Task.Properties.ContainerDefinitions[0].HealthCheck.Command",
                                            "Resources.Task.Properties.ContainerDefinitions[0].Image"])
    }

    // MARK: Intrinsic functions

    @Test func refToParametersAndPseudoParameters() throws {
        let top = "Parameters:\n  Env: {Type: String, Default: dev, AllowedValues: [dev, prod]}\n  Hosts: {Type: CommaDelimitedList, Default: 'a, b'}"
        #expect(try env("!Ref Env", top: top) == "dev")
        #expect(try env("!Ref Env", top: top, ["Env": "prod"]) == "prod")
        #expect(try env("!Select [1, !Ref Hosts]", top: top) == "b")
        #expect(try env("!Ref AWS::Region", region: "eu-north-1") == "eu-north-1")
        #expect(try env("!Ref AWS::Partition", region: "cn-north-1") == "aws-cn")
        #expect(try env("!Ref AWS::URLSuffix", region: "cn-north-1") == "amazonaws.com.cn")
        #expect(try env("!Ref AWS::StackName", ["AWS::StackName": "shop"]) == "shop")
        #expect(try envErrors("!Ref AWS::StackName") == [ValidationIssue(Self.valuePath, "Ref AWS::StackName is known once the stack is deployed: pass --parameter AWS::StackName=NAME")])
        #expect(try envErrors("!Ref Envv", top: top) == [ValidationIssue(Self.valuePath, "Ref Envv: not a parameter, resource or pseudo-parameter of this template (did you mean \"Env\"?)")])
        let notAllowed = try loaded(Self.template(container: "          Environment: [{Name: V, Value: !Ref Env}]", top: top), ["Env": "qa"])
        #expect(notAllowed.allIssues == [ValidationIssue(Self.valuePath, "parameter Env: --parameter \"qa\" is not one of its AllowedValues: dev, prod")])
    }

    @Test func theAccountIsFargateRunsUnlessGiven() throws {
        let l = try loaded(Self.template(container: "          Environment: [{Name: V, Value: !Ref AWS::AccountId}]"))
        #expect(l.definition.containerDefinitions?.first?.environment?.first?.value == "000000000000")
        #expect(l.warnings.map(\.path) == ["--parameter AWS::AccountId"] && l.warnings.first?.severity == .note)
        #expect(try env("!Ref AWS::AccountId", ["AWS::AccountId": "123456789012"]) == "123456789012")
    }

    @Test func parametersWithoutAValueSayWhatToPass() throws {
        let top = "Parameters:\n  Image: {Type: String}\n  Secret: {Type: 'AWS::SSM::Parameter::Value<String>', Default: /app/secret}"
        #expect(try envErrors("!Ref Image", top: top) == [ValidationIssue(Self.valuePath, "parameter Image has no Default: pass --parameter Image=VALUE")])
        #expect(try envErrors("!Ref Secret", top: top).first?.message
            == "parameter Secret is read from SSM Parameter Store when the stack is deployed: pass --parameter Secret=VALUE")
        #expect(try env("!Ref Secret", top: top, ["Secret": "s3cr3t"]) == "s3cr3t")
    }

    @Test func noValueRemovesTheMemberOrTheItem() throws {
        let l = try loaded(Self.template("      TaskRoleArn: !Ref AWS::NoValue",
                                         container: "          Command: [a, !Ref AWS::NoValue, c]\n          User: !Ref AWS::NoValue"))
        #expect(l.allIssues == [])
        #expect(l.definition.taskRoleArn == nil && l.definition.containerDefinitions?.first?.user == nil)
        #expect(l.definition.containerDefinitions?.first?.command == ["a", "c"])
    }

    @Test func sub() throws {
        let resources = "  Repo:\n    Type: AWS::ECR::Repository\n    Properties: {RepositoryName: web}"
        #expect(try env("!Sub '${AWS::Region}-${!Literal}-x'") == "us-east-1-${Literal}-x")
        #expect(try env("!Sub ['${A}/${B}', {A: one, B: !Ref AWS::Partition}]") == "one/aws")
        #expect(try env("!Sub '${Repo.RepositoryUri}:1'", resources: resources, ["AWS::AccountId": "111122223333"])
            == "111122223333.dkr.ecr.us-east-1.amazonaws.com/web:1")
        #expect(try env(#"{"Fn::Sub": "${AWS::URLSuffix}"}"#) == "amazonaws.com")
    }

    @Test func joinSelectSplitBase64() throws {
        #expect(try env("!Join ['-', [a, !Ref AWS::Region, 3]]") == "a-us-east-1-3")
        #expect(try env("!Select ['2', [x, y, z]]") == "z")
        #expect(try env("!Select [1, !Split [':', 'a:b:c']]") == "b")
        #expect(try env("!Base64 hello") == "aGVsbG8=")
        #expect(try envErrors("!Select [5, [x]]").first?.message == "Fn::Select: index 5 is outside a list of 1")
        #expect(try envErrors("!Join [',', notalist]").first?.message == "Fn::Join takes [DELIMITER, [VALUES]]")
    }

    @Test func getAttOfResourcesWhosePropertiesFixIt() throws {
        let resources = """
              Role:
                Type: AWS::IAM::Role
                Properties: {RoleName: app, Path: /svc/}
              Logs:
                Type: AWS::Logs::LogGroup
                Properties: {LogGroupName: /ecs/app}
              Generated:
                Type: AWS::IAM::Role
                Properties: {}
            """
        #expect(try env("!GetAtt Role.Arn", resources: resources, ["AWS::AccountId": "1"]) == "arn:aws:iam::1:role/svc/app")
        #expect(try env("!GetAtt [Logs, Arn]", resources: resources, ["AWS::AccountId": "1"]) == "arn:aws:logs:us-east-1:1:log-group:/ecs/app:*")
        #expect(try env("!Ref Logs", resources: resources) == "/ecs/app")
        #expect(try envErrors("!GetAtt Generated.Arn", resources: resources)
            == [ValidationIssue(Self.valuePath, "Fn::GetAtt Generated.Arn (AWS::IAM::Role) is known once the stack is deployed: pass --parameter Generated.Arn=VALUE")])
        #expect(try env("!GetAtt Generated.Arn", resources: resources, ["Generated.Arn": "arn:aws:iam::1:role/g"]) == "arn:aws:iam::1:role/g")
        #expect(try envErrors("!GetAtt Missing.Arn", resources: resources).first?.message.contains("no resource Missing") == true)
    }

    @Test func unresolvedRolesAreLeftOutWithAWarning() throws {
        let l = try loaded(Self.template("      ExecutionRoleArn: !GetAtt ExecRole.Arn", resources: "  ExecRole:\n    Type: AWS::IAM::Role\n    Properties: {}"))
        #expect(l.allIssues == [] && l.definition.executionRoleArn == nil)
        #expect(l.warnings.map(\.path) == ["Resources.Task.Properties.ExecutionRoleArn"])
    }

    /// CDK's task role (`Fn::GetAtt`, its name CloudFormation's) still gives the containers
    /// credentials, as on Fargate: the definition keeps a stand-in ARN, with a warning.
    @Test func anUnresolvedTaskRoleStandsInUnderItsLogicalId() throws {
        let role = "  TaskRole:\n    Type: AWS::IAM::Role\n    Properties: {}\n  Bucket:\n    Type: AWS::S3::Bucket"
        for form in ["!GetAtt TaskRole.Arn", "!GetAtt [TaskRole, Arn]", "!Sub '${TaskRole.Arn}'"] {
            let l = try loaded(Self.template("      TaskRoleArn: \(form)", resources: role))
            #expect(l.allIssues == [] && l.definition.taskRoleArn == "arn:aws:iam::000000000000:role/TaskRole", "\(form)")
            #expect(l.warnings.first?.message == "Fn::GetAtt TaskRole.Arn (AWS::IAM::Role) is known once the stack is deployed: pass --parameter TaskRole.Arn=VALUE; the task's role here is arn:aws:iam::000000000000:role/TaskRole")
            #expect(l.warnings.count == 2 && l.warnings[1].message.hasPrefix("AWS::AccountId is 000000000000"), "the account is fargate-run's own")
        }
        let own = try loaded(Self.template("      TaskRoleArn: !GetAtt TaskRole.Arn", resources: role), ["AWS::AccountId": "123456789012"])
        #expect(own.definition.taskRoleArn == "arn:aws:iam::123456789012:role/TaskRole")
        let given = try loaded(Self.template("      TaskRoleArn: !GetAtt TaskRole.Arn", resources: role), ["TaskRole.Arn": "arn:aws:iam::1:role/real"])
        #expect(given.definition.taskRoleArn == "arn:aws:iam::1:role/real" && given.warnings.isEmpty)
        // Anything else unresolved is an error, as in any member that has an effect here (the
        // role decides whether the containers get credentials).
        let other = try loaded(Self.template("      TaskRoleArn: !GetAtt Bucket.Arn", resources: role))
        #expect(other.allIssues.map(\.message) == ["Fn::GetAtt Bucket.Arn (AWS::S3::Bucket) is known once the stack is deployed: pass --parameter Bucket.Arn=VALUE"])
    }

    @Test func ifAndConditions() throws {
        let top = """
            Parameters:
              Env: {Type: String, Default: prod}
              Arm: {Type: String, Default: 'false'}
            Conditions:
              Prod: !Equals [!Ref Env, prod]
              UseArm: !Equals [!Ref Arm, 'true']
              ProdX86: !And [!Condition Prod, !Not [!Condition UseArm]]
              Either: !Or [!Condition UseArm, !Equals [a, b]]
            """
        #expect(try env("!If [Prod, p, d]", top: top) == "p")
        #expect(try env("!If [Prod, p, d]", top: top, ["Env": "dev"]) == "d")
        #expect(try env("!If [ProdX86, yes, no]", top: top) == "yes")
        #expect(try env("!If [Either, yes, no]", top: top) == "no")
        #expect(try envErrors("!If [Prd, p, d]", top: top).first?.message == "no condition Prd in Conditions (did you mean \"Prod\"?)")
    }

    @Test func findInMapAndImportValue() throws {
        let top = "Mappings:\n  Sizes:\n    us-east-1: {Image: 'nginx:1'}"
        #expect(try env("!FindInMap [Sizes, !Ref AWS::Region, Image]", top: top) == "nginx:1")
        #expect(try envErrors("!FindInMap [Sizes, eu-west-1, Image]", top: top).first?.message == "Fn::FindInMap: Mappings.Sizes has no eu-west-1.Image")
        #expect(try envErrors("!ImportValue shared-vpc-id").first?.message == "Fn::ImportValue shared-vpc-id is another stack's export: pass --parameter shared-vpc-id=VALUE")
        #expect(try env("!ImportValue shared-vpc-id", ["shared-vpc-id": "vpc-1"]) == "vpc-1")
        #expect(try envErrors("!GetAZs ''").first?.message.hasPrefix("Fn::GetAZs is not resolved by fargate-run") == true)
    }

    @Test func jsonTemplatesUseTheLongForms() throws {
        let json = #"""
            {"Parameters": {"Tag": {"Type": "String", "Default": "7"}},
             "Resources": {"T": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
               "Family": {"Fn::Join": ["-", ["api", {"Ref": "Tag"}]]}, "Cpu": 256, "Memory": "512", "NetworkMode": "awsvpc",
               "ContainerDefinitions": [{"Name": "c", "Image": {"Fn::Sub": "nginx:1.${Tag}"}, "Essential": "true"}]}}}}
            """#
        let l = try load(json, name: "stack.template.json")
        #expect(l.allIssues == [] && l.syntax == "JSON")
        #expect(l.definition.family == "api-7" && l.definition.containerDefinitions?.first?.image == "nginx:1.7")
    }

    // MARK: Choosing the resource

    @Test func severalTaskDefinitionsNeedResource() throws {
        let two = Self.template(resources: "  Other:\n    Type: AWS::ECS::TaskDefinition\n    Properties: {Family: o}\n  Bucket:\n    Type: AWS::S3::Bucket")
        #expect { try loaded(two) } throws: { "\($0)".contains("2 task definitions: choose one with --resource: Other, Task") }
        #expect(try loaded(two, resource: "Task").definition.family == "f")
        #expect { try loaded(two, resource: "Tsk") } throws: { "\($0)".contains("--resource Tsk: no such resource: did you mean \"Task\"?") }
        #expect { try loaded(two, resource: "Bucket") } throws: { "\($0)".contains("--resource Bucket is an AWS::S3::Bucket, not an AWS::ECS::TaskDefinition") }
        #expect { try loaded("Resources:\n  B:\n    Type: AWS::S3::Bucket\n") } throws: { "\($0)".contains("no AWS::ECS::TaskDefinition in this template (its resources are AWS::S3::Bucket)") }
    }

    @Test func unusedParametersAreNamed() throws {
        let l = try loaded(Self.template(), ["Stge": "prod"])
        #expect(l.warnings == [ValidationIssue("--parameter Stge", "not a parameter, resource or pseudo-parameter of this template", severity: .warning)])
        let near = try loaded(Self.template(top: "Parameters:\n  Stage: {Type: String, Default: dev}"), ["Stge": "prod"])
        #expect(near.warnings.first?.message.contains("did you mean \"Stage\"?") == true)
    }

    @Test func cdkImageAssetsAreSaidPlainly() throws {
        let image = "!Sub '${AWS::AccountId}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/cdk-hnb659fds-container-assets-${AWS::AccountId}-${AWS::Region}:abc123'"
        let l = try loaded(Self.template().replacingOccurrences(of: "Image: i", with: "Image: \(image)"), ["AWS::AccountId": "1"])
        #expect(l.allIssues == [])
        #expect(l.definition.containerDefinitions?.first?.image == "1.dkr.ecr.us-east-1.amazonaws.com/cdk-hnb659fds-container-assets-1-us-east-1:abc123")
        let w = try #require(l.warnings.first)
        #expect(w.path == "Resources.Task.Properties.ContainerDefinitions[0].Image")
        #expect(w.message.hasPrefix("a CDK image asset (cdk.out/asset.abc123): fargate-run does not build images"))
    }

    @Test func familyAbsentIsNamedWithTheFlag() throws {
        let noFamily = Self.template().replacingOccurrences(of: "      Family: f\n", with: "")
        #expect(try loaded(noFamily).allIssues == [ValidationIssue("Resources.Task.Properties.Family",
            "absent: CloudFormation names the family after the stack and the resource when it deploys: pass --family NAME")])
        #expect(try load(noFamily, name: "t.yaml", TaskDefinitionLoader.Options(family: "web")).allIssues == [])
    }

    @Test func refusalsThatStayInTemplates() throws {
        let l = try loaded(Self.template(container: "          Privileged: 'true'\n          Links: [db]")
            .replacingOccurrences(of: "NetworkMode: awsvpc", with: "NetworkMode: bridge"))
        #expect(l.allIssues.map(\.path) == ["Resources.Task.Properties.NetworkMode", "Resources.Task.Properties.ContainerDefinitions[0].Privileged",
                                            "Resources.Task.Properties.ContainerDefinitions[0].Links"])
    }
}
