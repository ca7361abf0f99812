import Foundation
import Testing
@testable import Services

/// The target checks' results turned into health: fast for a target that has been healthy,
/// an ALB's minute for one still in its initial checks.
struct TargetHealthStateTests {
    let policy = TargetHealthPolicy()
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aTargetThatNeverListensIsUnhealthyOnlyAfterTheInitialWindow() {
        var s = TargetHealthState()
        var t = t0
        while t.timeIntervalSince(t0) < policy.initialFailureWindow {
            s.record(false, policy: policy, at: t)
            #expect(s.healthy == nil, "unhealthy after \(t.timeIntervalSince(t0)) s of failed initial checks")
            t += policy.interval
        }
        s.record(false, policy: policy, at: t)
        #expect(s.healthy == false)
    }

    @Test func aSlowStarterBecomesHealthyWithoutBeingCalledUnhealthy() {
        var s = TargetHealthState()
        for i in 0..<10 { s.record(false, policy: policy, at: t0 + Double(i) * policy.interval) }
        s.record(true, policy: policy, at: t0 + 20)
        s.record(true, policy: policy, at: t0 + 22)
        #expect(s.healthy == true)
    }

    @Test func aTargetThatWasHealthyIsUnhealthyAfterTheThresholdsFailures() {
        var s = TargetHealthState()
        s.record(true, policy: policy, at: t0)
        s.record(true, policy: policy, at: t0 + 2)
        #expect(s.healthy == true)
        s.record(false, policy: policy, at: t0 + 4)
        #expect(s.healthy == true)
        s.record(false, policy: policy, at: t0 + 6)
        #expect(s.healthy == false)
    }
}
