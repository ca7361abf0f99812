#if canImport(Glibc)
import Glibc
#endif
import CShim
import ECSModel
import Foundation
import LinuxSupport
import TaskRuntime
import TestSupport
import Testing


struct HealthPolicyTests {
    func policy(_ json: String) throws -> HealthPolicy {
        let d = try TaskDefinitionLoader.load(data: Data(#"{"family": "f", "containerDefinitions": [{"name": "c", "image": "i", "healthCheck": \#(json)}]}"#.utf8))
        return try #require(HealthPolicy(d.definition.containerDefinitions?.first?.healthCheck))
    }

    @Test func commandsAndDefaults() throws {
        let shell = try policy(#"{"command": ["CMD-SHELL", "curl -f http://localhost/ || exit 1"]}"#)
        #expect(shell.arguments == ["/bin/sh", "-c", "curl -f http://localhost/ || exit 1"])
        #expect([shell.interval, shell.timeout, shell.retries, shell.startPeriod] as [Int] == [30, 5, 3, 0])
        #expect(try policy(#"{"command": ["CMD", "pg_isready", "-U", "app"], "interval": 5}"#).arguments == ["pg_isready", "-U", "app"])
    }

    @Test func retriesAndTheStartPeriod() throws {
        let p = try policy(#"{"command": ["CMD", "check"], "retries": 2, "startPeriod": 60}"#)
        var s = HealthPolicy.State()
        s = p.next(s, passed: false, secondsSinceStart: 10)
        s = p.next(s, passed: false, secondsSinceStart: 20)
        #expect(s.status == .unknown && s.consecutiveFailures == 0, "failures in the start period do not count")
        s = p.next(s, passed: true, secondsSinceStart: 30)
        #expect(s.status == .healthy)
        s = p.next(s, passed: false, secondsSinceStart: 40)
        #expect(s.status == .healthy && s.consecutiveFailures == 1, "after a success the start period is over")
        s = p.next(s, passed: false, secondsSinceStart: 50)
        #expect(s.status == .unhealthy)
        s = p.next(s, passed: true, secondsSinceStart: 60)
        #expect(s.status == .healthy && s.consecutiveFailures == 0, "it recovers")
    }

    @Test func taskHealthFromEssentialContainers() {
        #expect(HealthPolicy.taskStatus([(true, true, .healthy), (false, true, .unhealthy), (true, false, .unknown)]) == .healthy)
        #expect(HealthPolicy.taskStatus([(true, true, .healthy), (true, true, .unhealthy)]) == .unhealthy)
        #expect(HealthPolicy.taskStatus([(true, true, .healthy), (true, true, .unknown)]) == .unknown)
        #expect(HealthPolicy.taskStatus([(true, false, .unknown)]) == .unknown)
    }
}
