import Foundation
import Services
import Testing
@testable import ECSAPI

/// The Application Auto Scaling API's wire shapes, errors and checks that need no host.
struct AutoScalingAPITests {
    @Test func membersArePascalCaseAndTimesEpochSeconds() throws {
        let request = try AutoScalingJSON.decode(AAS.RegisterScalableTargetRequest.self, Array("""
            {"ServiceNamespace": "ecs", "ResourceId": "service/default/web", "ScalableDimension": "ecs:service:DesiredCount",
             "MinCapacity": 1, "MaxCapacity": 4, "RoleARN": "arn:aws:iam::1:role/r", "SuspendedState": {"DynamicScalingInSuspended": true}}
            """.utf8))
        #expect(request.resourceId == "service/default/web" && request.minCapacity == 1 && request.maxCapacity == 4 && request.roleARN == "arn:aws:iam::1:role/r")
        #expect(request.suspendedState?.dynamicScalingInSuspended == true && request.suspendedState?.dynamicScalingOutSuspended == nil)
        let target = AAS.ScalableTarget(serviceNamespace: "ecs", resourceId: "service/default/web", scalableDimension: "ecs:service:DesiredCount",
                                        minCapacity: 1, maxCapacity: 4, roleARN: "r", creationTime: Date(timeIntervalSince1970: 1_800_000_000.5),
                                        suspendedState: nil, scalableTargetARN: "arn")
        let json = try JSONSerialization.jsonObject(with: Data(try AutoScalingJSON.encode(target))) as? [String: Any] ?? [:]
        #expect(Set(json.keys) == ["ServiceNamespace", "ResourceId", "ScalableDimension", "MinCapacity", "MaxCapacity", "RoleARN", "CreationTime", "ScalableTargetARN"])
        #expect(json["CreationTime"] as? Double == 1_800_000_000.5)
    }

    @Test func aMemberOfTheWrongTypeIsASerializationExceptionNamingIt() {
        #expect {
            try AutoScalingJSON.decode(AAS.RegisterScalableTargetRequest.self, Array(#"{"MinCapacity": "one"}"#.utf8))
        } throws: { error in
            let e = error as? ECSError
            return e?.code == "SerializationException" && e?.message.hasPrefix("MinCapacity") == true
        }
    }

    @Test func errorsCarryTheModelsMessageMember() throws {
        let response = ECSAPI.autoScalingErrorResponse(AutoScalingError.notFound("No scalable target found"), requestId: "r-1")
        #expect(response.status == 400)
        let body = try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: String]
        #expect(body == ["__type": "ObjectNotFoundException", "Message": "No scalable target found"])
        #expect(response.headers.contains { $0 == ("x-amzn-ErrorType", "ObjectNotFoundException") })
    }

    @Test func pagingIsUpToFiftyWithItsOwnTokenError() throws {
        let (first, next) = try AutoScalingPaging.page(Array(1...60), token: nil, max: nil)
        #expect(first.count == 50 && next != nil)
        let (rest, none) = try AutoScalingPaging.page(Array(1...60), token: next, max: nil)
        #expect(rest == Array(51...60) && none == nil)
        #expect { try AutoScalingPaging.page([1], token: "junk", max: nil) } throws: { ($0 as? ECSError)?.code == "InvalidNextTokenException" }
        #expect { try AutoScalingPaging.page([1], token: nil, max: 51) } throws: { ($0 as? ECSError)?.code == "ValidationException" }
    }

    func config(_ json: String) throws -> AAS.TargetTrackingScalingPolicyConfiguration {
        try AutoScalingJSON.decode(AAS.TargetTrackingScalingPolicyConfiguration.self, Array(json.utf8))
    }

    func refusal(_ json: String) -> String? {
        do {
            _ = try ECSAPI.trackingPolicy("p", try config(json))
            return nil
        } catch let e as ECSError {
            return e.code == "ValidationException" ? e.message : "\(e)"
        } catch {
            return "\(error)"
        }
    }

    @Test func targetTrackingConfigurationsAreCheckedNamingTheMember() throws {
        let p = try ECSAPI.trackingPolicy("cpu", try config(#"{"TargetValue": 70, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}"#))
        #expect(p == TargetTracking.Policy(name: "cpu", metric: .cpu, targetValue: 70, scaleOutCooldown: 300, scaleInCooldown: 300, disableScaleIn: false))
        let m = try ECSAPI.trackingPolicy("mem", try config(#"{"TargetValue": 60, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageMemoryUtilization"}, "ScaleOutCooldown": 5, "ScaleInCooldown": 7, "DisableScaleIn": true}"#))
        #expect(m.metric == .memory && m.scaleOutCooldown == 5 && m.scaleInCooldown == 7 && m.disableScaleIn)

        #expect(refusal(#"{"TargetValue": 70, "PredefinedMetricSpecification": {"PredefinedMetricType": "ALBRequestCountPerTarget"}}"#)?
            .contains("PredefinedMetricType ALBRequestCountPerTarget is not supported") == true)
        #expect(refusal(#"{"TargetValue": 70, "PredefinedMetricSpecification": {"PredefinedMetricType": "Bogus"}}"#)?
            .contains("Member must satisfy enum value set") == true)
        #expect(refusal(#"{"TargetValue": 70, "CustomizedMetricSpecification": {"MetricName": "x"}}"#)?.contains("CustomizedMetricSpecification") == true)
        #expect(refusal(#"{"TargetValue": 70}"#)?.contains("PredefinedMetricSpecification") == true)
        #expect(refusal(#"{"PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}"#)?.contains("targetValue") == true)
        #expect(refusal(#"{"TargetValue": 0, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}"#)?.contains("TargetValue") == true)
        #expect(refusal(#"{"TargetValue": 70, "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"}, "ScaleInCooldown": -1}"#)?
            .contains("ScaleInCooldown") == true)
    }

    @Test func activitiesNameTheAlarmAndThePolicy() {
        let policy = AAS.ScalingPolicy(policyARN: "arn", policyName: "cpu", serviceNamespace: "ecs", resourceId: "service/default/web",
                                       scalableDimension: "ecs:service:DesiredCount", policyType: "TargetTrackingScaling",
                                       targetTrackingScalingPolicyConfiguration: nil,
                                       alarms: [AAS.Alarm(alarmName: "TargetTracking-service/default/web-AlarmHigh-1", alarmARN: "a"),
                                                AAS.Alarm(alarmName: "TargetTracking-service/default/web-AlarmLow-2", alarmARN: "b")],
                                       creationTime: Date())
        let out = TargetTracking.Decision(capacity: 3, direction: .out, reason: .alarm(policy: "cpu", metric: .cpu, value: 90))
        #expect(ServiceAutoScaler.cause(out, policies: [policy]) == "monitor alarm TargetTracking-service/default/web-AlarmHigh-1 in state ALARM triggered policy cpu")
        let inn = TargetTracking.Decision(capacity: 1, direction: .in, reason: .alarm(policy: "cpu", metric: .cpu, value: 1))
        #expect(ServiceAutoScaler.cause(inn, policies: [policy]) == "monitor alarm TargetTracking-service/default/web-AlarmLow-2 in state ALARM triggered policy cpu")
        #expect(ServiceAutoScaler.cause(TargetTracking.Decision(capacity: 2, direction: .out, reason: .belowMinimum(2)), policies: []) == "minimum capacity was set to 2")
    }
}
