/// Time-weighted statistics of sampled values: a sample covering 60 seconds (downsampled)
/// weighs 60 one-second samples.
public struct WeightedValues: Sendable {
    private var values: [(value: Double, weight: Double)] = []
    private var sorted = true
    public private(set) var totalWeight = 0.0
    private var weightedSum = 0.0
    public private(set) var maximum = 0.0

    public init() {}

    public mutating func add(_ value: Double, weight: Double) {
        guard weight > 0 else { return }
        if let last = values.last, last.value > value { sorted = false }
        values.append((value, weight))
        totalWeight += weight
        weightedSum += value * weight
        maximum = Swift.max(maximum, value)
    }

    public var count: Int { values.count }
    public var isEmpty: Bool { values.isEmpty }
    public var mean: Double { totalWeight > 0 ? weightedSum / totalWeight : 0 }

    /// The smallest value at or below which `p` (0...1) of the weight lies.
    public mutating func percentile(_ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        if !sorted {
            values.sort { $0.value < $1.value }
            sorted = true
        }
        let target = p * totalWeight
        var acc = 0.0
        for v in values {
            acc += v.weight
            if acc >= target - 1e-9 { return v.value }
        }
        return values.last!.value
    }
}
