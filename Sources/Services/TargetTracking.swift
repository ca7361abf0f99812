import Foundation

/// Application Auto Scaling's target tracking for one scalable target (an ECS service's
/// desired count), as a pure decision: given the target's bounds and suspensions, its
/// policies, the recent datapoints of their metrics and when it last scaled, what the desired
/// count becomes and why. The caller measures and applies; this only decides.
///
/// The rules are AWS's (../shared/ECS-CONTROL-PLANE.md §3.6): each policy has a high alarm
/// (metric above the target for `highDatapoints` datapoints in a row) and a low alarm (below
/// 90 % of the target for `lowDatapoints` in a row); the new capacity is
/// `ceil(current × metric / target)` clamped to [min, max]; a scale-out happens when any policy
/// wants one (the largest wins), a scale-in only when every policy wants one (the largest, so
/// the most cautious, wins); each direction waits out its cooldown after the last scaling in that
/// direction; scale-in waits while the service is deploying.
public enum TargetTracking {
    /// Datapoints in a row above the target before a scale-out (AWS's AlarmHigh: 3 of 3).
    public static let highDatapoints = 3
    /// Datapoints in a row below `lowRatio` × target before a scale-in (AWS's AlarmLow: 15 of 15).
    public static let lowDatapoints = 15
    /// The low alarm's threshold as a share of the target value.
    public static let lowRatio = 0.9

    public enum Metric: String, Sendable, Codable, CaseIterable {
        case cpu = "ECSServiceAverageCPUUtilization"
        case memory = "ECSServiceAverageMemoryUtilization"
    }

    /// One target tracking policy's configuration.
    public struct Policy: Sendable, Equatable {
        public var name: String
        public var metric: Metric
        public var targetValue: Double
        public var scaleOutCooldown: TimeInterval
        public var scaleInCooldown: TimeInterval
        public var disableScaleIn: Bool

        public init(name: String, metric: Metric, targetValue: Double, scaleOutCooldown: TimeInterval = 300,
                    scaleInCooldown: TimeInterval = 300, disableScaleIn: Bool = false) {
            self.name = name
            self.metric = metric
            self.targetValue = targetValue
            self.scaleOutCooldown = scaleOutCooldown
            self.scaleInCooldown = scaleInCooldown
            self.disableScaleIn = disableScaleIn
        }
    }

    /// What is known of the scalable target when deciding.
    public struct Situation: Sendable, Equatable {
        /// The service's desired count now.
        public var current: Int
        public var minCapacity: Int
        public var maxCapacity: Int
        /// SuspendedState.DynamicScalingInSuspended / DynamicScalingOutSuspended.
        public var scaleInSuspended: Bool
        public var scaleOutSuspended: Bool
        /// A deployment of the service is rolling (ECS suspends scale-in meanwhile).
        public var deploying: Bool
        public var lastScaleOut: Date?
        public var lastScaleIn: Date?

        public init(current: Int, minCapacity: Int, maxCapacity: Int, scaleInSuspended: Bool = false, scaleOutSuspended: Bool = false,
                    deploying: Bool = false, lastScaleOut: Date? = nil, lastScaleIn: Date? = nil) {
            self.current = current
            self.minCapacity = minCapacity
            self.maxCapacity = maxCapacity
            self.scaleInSuspended = scaleInSuspended
            self.scaleOutSuspended = scaleOutSuspended
            self.deploying = deploying
            self.lastScaleOut = lastScaleOut
            self.lastScaleIn = lastScaleIn
        }
    }

    public enum Direction: String, Sendable, Equatable { case out, `in` }

    /// Why the capacity changes.
    public enum Reason: Sendable, Equatable {
        /// A policy's alarm (high for out, low for in) with the metric value that set it off.
        case alarm(policy: String, metric: Metric, value: Double)
        /// The capacity was outside [min, max] (RegisterScalableTarget changed them).
        case belowMinimum(Int)
        case aboveMaximum(Int)
    }

    public struct Decision: Sendable, Equatable {
        public var capacity: Int
        public var direction: Direction
        public var reason: Reason

        public init(capacity: Int, direction: Direction, reason: Reason) {
            self.capacity = capacity
            self.direction = direction
            self.reason = reason
        }
    }

    /// Why nothing changes, when something wanted to (for logs and tests).
    public enum Hold: Sendable, Equatable {
        case noAlarm
        case scaleOutCooldown(until: Date)
        case scaleInCooldown(until: Date)
        case scaleOutSuspended
        case scaleInSuspended
        case deploying
        case atLimit
        case scaleInVetoed(policy: String)
    }

    /// The change to make now, or why none is made. `datapoints` holds each metric's
    /// datapoints, oldest first; nil is a period without a measurement (no running task),
    /// which breaks a run as CloudWatch's missing data does.
    public static func decide(_ s: Situation, policies: [Policy], datapoints: [Metric: [Double?]], now: Date) -> Result<Decision, HoldReason> {
        // Bounds first: a capacity outside them is brought back whatever the metrics say.
        if s.current < s.minCapacity {
            return .success(Decision(capacity: s.minCapacity, direction: .out, reason: .belowMinimum(s.minCapacity)))
        }
        if s.current > s.maxCapacity {
            return .success(Decision(capacity: s.maxCapacity, direction: .in, reason: .aboveMaximum(s.maxCapacity)))
        }
        guard !policies.isEmpty else { return .failure(HoldReason(.noAlarm)) }

        // Scale out: any policy whose high alarm is on; the largest capacity wins.
        var out: (Int, Policy, Double)?
        for p in policies {
            guard let value = alarmValue(datapoints[p.metric] ?? [], count: highDatapoints, where: { $0 > p.targetValue }) else { continue }
            let want = min(s.maxCapacity, capacity(s.current, value, p.targetValue))
            if want > s.current, want > out?.0 ?? Int.min { out = (want, p, value) }
        }
        if let (want, p, value) = out {
            if s.scaleOutSuspended { return .failure(HoldReason(.scaleOutSuspended)) }
            if let last = s.lastScaleOut, now < last.addingTimeInterval(p.scaleOutCooldown) {
                return .failure(HoldReason(.scaleOutCooldown(until: last.addingTimeInterval(p.scaleOutCooldown))))
            }
            return .success(Decision(capacity: want, direction: .out, reason: .alarm(policy: p.name, metric: p.metric, value: value)))
        }
        if policies.contains(where: { p in alarmValue(datapoints[p.metric] ?? [], count: highDatapoints, where: { $0 > p.targetValue }) != nil }) {
            return .failure(HoldReason(.atLimit))
        }

        // Scale in: only when every policy's low alarm is on; the largest capacity wins.
        var inn: (Int, Policy, Double)?
        for p in policies {
            guard let value = alarmValue(datapoints[p.metric] ?? [], count: lowDatapoints, where: { $0 < p.targetValue * lowRatio }) else {
                return .failure(HoldReason(.noAlarm))
            }
            if p.disableScaleIn { return .failure(HoldReason(.scaleInVetoed(policy: p.name))) }
            let want = max(s.minCapacity, capacity(s.current, value, p.targetValue))
            if want > inn?.0 ?? Int.min { inn = (want, p, value) }
        }
        guard let (want, p, value) = inn, want < s.current else { return .failure(HoldReason(.atLimit)) }
        if s.scaleInSuspended { return .failure(HoldReason(.scaleInSuspended)) }
        if s.deploying { return .failure(HoldReason(.deploying)) }
        if let last = s.lastScaleIn, now < last.addingTimeInterval(p.scaleInCooldown) {
            return .failure(HoldReason(.scaleInCooldown(until: last.addingTimeInterval(p.scaleInCooldown))))
        }
        return .success(Decision(capacity: want, direction: .in, reason: .alarm(policy: p.name, metric: p.metric, value: value)))
    }

    /// `ceil(current × metric / target)`: the capacity at which the metric would be at the
    /// target if the load stayed the same. A tiny tolerance keeps float noise (e.g. 3 × 50 / 50
    /// computed as 3.0000000001) from adding a task.
    public static func capacity(_ current: Int, _ metric: Double, _ target: Double) -> Int {
        guard target > 0, metric.isFinite else { return current }
        let exact = Double(current) * metric / target
        return Int((exact - 1e-9).rounded(.up))
    }

    /// The newest datapoint, when the last `count` datapoints are all present and all satisfy
    /// `test` (an alarm in state ALARM); nil otherwise.
    static func alarmValue(_ points: [Double?], count: Int, where test: (Double) -> Bool) -> Double? {
        guard points.count >= count else { return nil }
        let recent = points.suffix(count)
        guard recent.allSatisfy({ $0.map(test) ?? false }) else { return nil }
        return recent.last!
    }

    /// A `Hold` as an Error, so `decide` can return a `Result`.
    public struct HoldReason: Error, Sendable, Equatable {
        public var hold: Hold
        public init(_ hold: Hold) { self.hold = hold }
    }
}
