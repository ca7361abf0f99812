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


struct RestartRuleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func onlyAnEnabledPolicyIsARule() {
        #expect(RestartRule(nil) == nil)
        #expect(RestartRule(ECS.ContainerRestartPolicy(enabled: false)) == nil)
        #expect(RestartRule(ECS.ContainerRestartPolicy(enabled: true))?.attemptPeriod == 300, "ECS's default period")
    }

    @Test func restartsAfterThePeriodUnlessIgnoredOrStopping() throws {
        let rule = try #require(RestartRule(ECS.ContainerRestartPolicy(enabled: true, ignoredExitCodes: [0, 3], restartAttemptPeriod: 60)))
        #expect(rule.decide(exitCode: 1, startedAt: t0, now: t0 + 60, taskStopping: false).restart)
        #expect(rule.decide(exitCode: 137, startedAt: t0, now: t0 + 600, taskStopping: false).restart)
        let early = rule.decide(exitCode: 1, startedAt: t0, now: t0 + 59, taskStopping: false)
        #expect(!early.restart && early.why.contains("under its restartAttemptPeriod of 60 s"))
        let ignored = rule.decide(exitCode: 3, startedAt: t0, now: t0 + 600, taskStopping: false)
        #expect(!ignored.restart && ignored.why == "exit code 3 is in ignoredExitCodes")
        #expect(!rule.decide(exitCode: 1, startedAt: t0, now: t0 + 600, taskStopping: true).restart)
    }
}
