import Foundation
import Testing
@testable import Services

/// Target tracking's rules on made-up datapoints: the capacity formula, the alarms' runs of
/// datapoints, cooldowns, suspensions, deployments and several policies.
struct TargetTrackingTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)
    let cpu50 = TargetTracking.Policy(name: "cpu50", metric: .cpu, targetValue: 50, scaleOutCooldown: 60, scaleInCooldown: 120)

    func decide(_ s: TargetTracking.Situation, _ policies: [TargetTracking.Policy], cpu: [Double?] = [], memory: [Double?] = [],
                at time: Date? = nil) -> Result<TargetTracking.Decision, TargetTracking.HoldReason> {
        TargetTracking.decide(s, policies: policies, datapoints: [.cpu: cpu, .memory: memory], now: time ?? now)
    }

    func capacity(_ r: Result<TargetTracking.Decision, TargetTracking.HoldReason>) -> Int? {
        if case .success(let d) = r { return d.capacity }
        return nil
    }

    func hold(_ r: Result<TargetTracking.Decision, TargetTracking.HoldReason>) -> TargetTracking.Hold? {
        if case .failure(let h) = r { return h.hold }
        return nil
    }

    @Test func capacityIsCeilOfCurrentTimesMetricOverTarget() {
        #expect(TargetTracking.capacity(2, 100, 50) == 4)
        #expect(TargetTracking.capacity(3, 60, 50) == 4)
        #expect(TargetTracking.capacity(3, 50, 50) == 3)
        #expect(TargetTracking.capacity(4, 10, 50) == 1)
        #expect(TargetTracking.capacity(4, 0, 50) == 0)
        // Float noise does not add a task.
        #expect(TargetTracking.capacity(3, 50.000000000000007, 50) == 3)
    }

    @Test func scalesOutAfterThreeHighDatapointsClampedToMax() {
        let s = TargetTracking.Situation(current: 1, minCapacity: 1, maxCapacity: 3)
        #expect(hold(decide(s, [cpu50], cpu: [90, 90])) == .noAlarm)
        #expect(capacity(decide(s, [cpu50], cpu: [nil, 90, 90, 90])) == 2)
        #expect(hold(decide(s, [cpu50], cpu: [90, 40, 90])) == .noAlarm)
        #expect(capacity(decide(s, [cpu50], cpu: [90, 90, 90])) == 2)
        #expect(capacity(decide(s, [cpu50], cpu: [90, 90, 400])) == 3)
        let r = decide(s, [cpu50], cpu: [60, 70, 80])
        guard case .success(let d) = r else { Issue.record("no decision"); return }
        #expect(d.direction == .out)
        #expect(d.reason == .alarm(policy: "cpu50", metric: .cpu, value: 80))
    }

    @Test func aMissingDatapointBreaksTheRun() {
        let s = TargetTracking.Situation(current: 1, minCapacity: 1, maxCapacity: 3)
        #expect(hold(decide(s, [cpu50], cpu: [90, nil, 90])) == .noAlarm)
    }

    @Test func atMaxNothingHappens() {
        let s = TargetTracking.Situation(current: 3, minCapacity: 1, maxCapacity: 3)
        #expect(hold(decide(s, [cpu50], cpu: [90, 90, 90])) == .atLimit)
    }

    @Test func scaleOutWaitsOutItsCooldown() {
        let s = TargetTracking.Situation(current: 2, minCapacity: 1, maxCapacity: 5, lastScaleOut: now.addingTimeInterval(-30))
        #expect(hold(decide(s, [cpu50], cpu: [90, 90, 90])) == .scaleOutCooldown(until: now.addingTimeInterval(30)))
        #expect(capacity(decide(s, [cpu50], cpu: [90, 90, 90], at: now.addingTimeInterval(30))) == 4)
        // A scale-in does not delay a scale-out.
        let afterIn = TargetTracking.Situation(current: 2, minCapacity: 1, maxCapacity: 5, lastScaleIn: now.addingTimeInterval(-1))
        #expect(capacity(decide(afterIn, [cpu50], cpu: [90, 90, 90])) == 4)
    }

    @Test func scalesInAfterFifteenDatapointsBelowNinetyPercentOfTheTarget() {
        let s = TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 5)
        let low = [Double?](repeating: 20, count: 15)
        #expect(capacity(decide(s, [cpu50], cpu: low)) == 2)
        #expect(hold(decide(s, [cpu50], cpu: Array(low.dropFirst()))) == .noAlarm)
        // 46 is below the target but not below 45 (90 % of it): no scale-in.
        #expect(hold(decide(s, [cpu50], cpu: [Double?](repeating: 46, count: 15))) == .noAlarm)
        // Never below the minimum.
        #expect(capacity(decide(s, [cpu50], cpu: [Double?](repeating: 0, count: 15))) == 1)
        guard case .success(let d) = decide(s, [cpu50], cpu: low) else { return }
        #expect(d.direction == .in)
    }

    @Test func scaleInWaitsOutItsCooldownButNotTheScaleOutOne() {
        let low = [Double?](repeating: 10, count: 15)
        let s = TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 5, lastScaleIn: now.addingTimeInterval(-100))
        #expect(hold(decide(s, [cpu50], cpu: low)) == .scaleInCooldown(until: now.addingTimeInterval(20)))
        #expect(capacity(decide(s, [cpu50], cpu: low, at: now.addingTimeInterval(20))) == 1)
        let afterOut = TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 5, lastScaleOut: now.addingTimeInterval(-1))
        #expect(capacity(decide(afterOut, [cpu50], cpu: low)) == 1)
    }

    @Test func scaleInWaitsForADeploymentAndForSuspension() {
        let low = [Double?](repeating: 10, count: 15)
        #expect(hold(decide(TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 5, deploying: true), [cpu50], cpu: low)) == .deploying)
        #expect(hold(decide(TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 5, scaleInSuspended: true), [cpu50], cpu: low))
            == .scaleInSuspended)
        // A deployment does not hold a scale-out; a suspended scale-out does.
        let high: [Double?] = [90, 90, 90]
        #expect(capacity(decide(TargetTracking.Situation(current: 2, minCapacity: 1, maxCapacity: 5, deploying: true), [cpu50], cpu: high)) == 4)
        #expect(hold(decide(TargetTracking.Situation(current: 2, minCapacity: 1, maxCapacity: 5, scaleOutSuspended: true), [cpu50], cpu: high))
            == .scaleOutSuspended)
    }

    @Test func disableScaleInKeepsTheCapacity() {
        var p = cpu50
        p.disableScaleIn = true
        let s = TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 5)
        #expect(hold(decide(s, [p], cpu: [Double?](repeating: 0, count: 15))) == .scaleInVetoed(policy: "cpu50"))
    }

    @Test func anyPolicyScalesOutButAllMustAgreeToScaleIn() {
        let mem = TargetTracking.Policy(name: "mem60", metric: .memory, targetValue: 60, scaleOutCooldown: 0, scaleInCooldown: 0)
        let s = TargetTracking.Situation(current: 2, minCapacity: 1, maxCapacity: 10)
        // CPU is low, memory high: out, to memory's figure.
        #expect(capacity(decide(s, [cpu50, mem], cpu: [10, 10, 10], memory: [90, 90, 90])) == 3)
        // Both high: the larger wins.
        #expect(capacity(decide(s, [cpu50, mem], cpu: [200, 200, 200], memory: [90, 90, 90])) == 8)
        let lowCPU = [Double?](repeating: 10, count: 15)
        // CPU low but memory on target: no scale-in.
        #expect(hold(decide(TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 10), [cpu50, mem], cpu: lowCPU,
                            memory: [Double?](repeating: 60, count: 15))) == .noAlarm)
        // Both low: the larger (more cautious) capacity wins.
        #expect(capacity(decide(TargetTracking.Situation(current: 4, minCapacity: 1, maxCapacity: 10), [cpu50, mem], cpu: lowCPU,
                                memory: [Double?](repeating: 30, count: 15))) == 2)
    }

    @Test func capacityOutsideTheBoundsIsBroughtBackWithoutAPolicy() {
        let below = decide(TargetTracking.Situation(current: 1, minCapacity: 2, maxCapacity: 4), [])
        #expect(capacity(below) == 2)
        if case .success(let d) = below { #expect(d.reason == .belowMinimum(2)) }
        #expect(capacity(decide(TargetTracking.Situation(current: 6, minCapacity: 2, maxCapacity: 4), [])) == 4)
        #expect(hold(decide(TargetTracking.Situation(current: 3, minCapacity: 2, maxCapacity: 4), [])) == .noAlarm)
    }
}

/// Datapoints from cgroup readings: CPU time used against what the tasks' units allow, memory
/// against the tasks' memory, one datapoint per period.
struct UtilizationMeterTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    func reading(_ task: String, _ seconds: Double, cpu: UInt64, memoryMiB: Double = 256, units: Double = 256) -> UtilizationMeter.Reading {
        UtilizationMeter.Reading(task: task, time: t0.addingTimeInterval(seconds), cpuNanos: cpu, memoryBytes: UInt64(memoryMiB * 1_048_576),
                                 cpuUnits: units, memoryMiB: 512)
    }

    @Test func cpuIsTimeUsedOverTimeAllowed() {
        var m = UtilizationMeter()
        // 256 units allow a quarter of a CPU: 0.25 s a second. Using 0.125 s a second is 50 %.
        let first = m.add([reading("a", 0, cpu: 0)], at: t0, period: 2)
        let second = m.add([reading("a", 1, cpu: 125_000_000)], at: t0.addingTimeInterval(1), period: 2)
        let third = m.add([reading("a", 2, cpu: 250_000_000)], at: t0.addingTimeInterval(2), period: 2)
        #expect(!first && !second && third, "a datapoint closes once the period has passed")
        #expect(abs((m.datapoints[.cpu]?.last ?? nil)! - 50) < 1e-9)
        #expect(abs((m.datapoints[.memory]?.last ?? nil)! - 50) < 1e-9)
    }

    @Test func tasksAreAveragedByTheirSizes() {
        var m = UtilizationMeter()
        m.add([reading("a", 0, cpu: 0), reading("b", 0, cpu: 0)], at: t0, period: 1)
        // a uses all of its quarter CPU, b none: the service is at 50 %.
        m.add([reading("a", 1, cpu: 250_000_000), reading("b", 1, cpu: 0)], at: t0.addingTimeInterval(1), period: 1)
        #expect(abs((m.datapoints[.cpu]?.last ?? nil)! - 50) < 1e-9)
    }

    @Test func aPeriodWithoutRunningTasksHasNoDatapoint() {
        var m = UtilizationMeter()
        m.add([], at: t0, period: 1)
        m.add([], at: t0.addingTimeInterval(1), period: 1)
        #expect(m.datapoints[.cpu] == [nil])
        // A task read once has no interval yet either.
        m.add([reading("a", 2, cpu: 0)], at: t0.addingTimeInterval(2), period: 1)
        #expect(m.datapoints[.cpu] == [nil, nil])
    }

    @Test func keepsOnlyWhatTheLongestAlarmNeeds() {
        var m = UtilizationMeter()
        for i in 0..<40 { m.add([reading("a", Double(i), cpu: UInt64(i) * 100_000_000)], at: t0.addingTimeInterval(Double(i)), period: 1) }
        #expect(m.datapoints[.cpu]?.count == TargetTracking.lowDatapoints)
    }
}
