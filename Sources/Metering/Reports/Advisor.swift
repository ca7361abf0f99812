import ECSModel
import Foundation

/// Rightsizing advice per task family or service, in Compute Optimizer's vocabulary, from the
/// tasks' usage samples.
///
/// The rule: the recommended size is the smallest valid Fargate size whose vCPU holds the p99
/// of the sampled CPU at no more than 80 % (vCPU ≥ 1.25 × p99), and whose memory holds the p99
/// of memory in use at 80 % and the largest ever seen with 10 % to spare (memory ≥ max(1.25 ×
/// p99, 1.1 × max)): CPU can be throttled at its peaks, memory above the limit is an OOM kill.
/// A dimension is Overprovisioned when that size has less of it than now, Underprovisioned
/// when more. Advice needs `minimumData` of sampled task time; with less it says so and
/// recommends nothing.
public struct Advisor: Sendable {
    public struct Options: Sendable {
        public var since: Date?
        public var family: String?
        public var service: String?
        /// Sampled task-seconds a group needs for advice (Compute Optimizer wants 24 h).
        public var minimumData: Int64 = 24 * 3600
        public var now = Date()

        public init(since: Date? = nil, family: String? = nil, service: String? = nil, minimumData: Int64 = 24 * 3600) {
            self.since = since
            self.family = family
            self.service = service
            self.minimumData = minimumData
        }
    }

    /// CPU may peak at this share of the new size (its p99), memory's p99 too.
    public static let targetUtilization = 0.8
    /// Room above the largest memory in use ever sampled.
    public static let memoryMaxHeadroom = 1.1

    public enum Finding: String, Sendable, Codable { case Optimized, Underprovisioned, Overprovisioned }
    public enum ReasonCode: String, Sendable, Codable {
        case CPUOverprovisioned, CPUUnderprovisioned, MemoryOverprovisioned, MemoryUnderprovisioned
    }

    /// Sampled statistics of one dimension.
    public struct Utilization: Sendable, Codable, Equatable {
        public var average: Double
        public var p95: Double
        public var p99: Double
        public var maximum: Double
    }

    public struct ContainerAdvice: Sendable, Codable {
        public var containerName: String
        /// The definition's values now (nil where it sets none).
        public var currentCpu: Int?
        public var currentMemory: Int?
        public var currentMemoryReservation: Int?
        /// Sampled CPU in cpu units (1024 = 1 vCPU), memory in MiB.
        public var cpuUnits: Utilization
        public var memoryMiB: Utilization
        public var cpu: Int
        public var memory: Int
        public var memoryReservation: Int
    }

    public struct Recommendation: Sendable {
        /// "family:NAME" or "service:NAME".
        public var name: String
        public var family: String
        public var service: String?
        public var tasks: Int
        /// Sampled task time the advice rests on, in how many samples.
        public var sampledSeconds: Int64
        public var samples: Int
        public var current: FargateSize
        public var architecture: String
        /// nil when there was too little data: `insufficientData` says why.
        public var finding: Finding?
        public var insufficientData: String?
        public var reasons: [ReasonCode] = []
        /// Task CPU in vCPU, memory in use in MiB.
        public var cpu: Utilization
        public var memory: Utilization
        public var recommended: FargateSize?
        public var projectedCpuP99: Double?
        public var projectedMemoryP99: Double?
        public var performanceRisk: String?
        /// At the current run rate (the group's billed task time over the lookback), per 730 h month.
        public var averageRunningTasks: Double
        public var currentMonthlyCost: Money
        public var recommendedMonthlyCost: Money?
        public var monthlySavings: Money?
        public var containers: [ContainerAdvice] = []
    }

    public var options: Options
    public var recommendations: [Recommendation]
    public var lookbackDays: Double

    /// Reads the samples and bills from `ledger` and advises every family or service in them.
    public init(ledger: Ledger, prices: PriceTable, options: Options) throws {
        self.options = options
        let sinceSecond = options.since.map { Int64($0.timeIntervalSince1970) }
        let tasks = try ledger.sampledTasks(family: options.family, service: options.service)
        struct Acc {
            var tasks: Set<Int64> = []
            var cpu = WeightedValues(), memory = WeightedValues()
            var containerCpu: [String: WeightedValues] = [:], containerMemory: [String: WeightedValues] = [:]
            var millis: Int64 = 0
            var samples = 0
            var seconds: Int64 { (millis + 500) / 1000 }
        }
        // Groups by position, each task's found once: the samples come in task order (a
        // String-keyed lookup per sample took half of advise's time).
        var names: [String] = [], position: [String: Int] = [:]
        var groupOf: [Int64: Int] = [:]
        for (id, t) in tasks {
            let g = t.service.map { "service:" + $0 } ?? "family:" + t.family
            let i = position[g] ?? {
                names.append(g)
                position[g] = names.count - 1
                return names.count - 1
            }()
            groupOf[id] = i
        }
        var accs = [Acc?](repeating: nil, count: names.count)
        var lastTask = Int64.min, g = -1, counted = false
        var containerNames: [String] = []
        try ledger.forEachSample(since: sinceSecond, family: options.family, service: options.service) { task, container, spanMillis, cpuNs, mem, memMax in
            if task != lastTask {
                lastTask = task
                g = groupOf[task] ?? -1
                containerNames = tasks[task]?.containers.map(\.name) ?? []
                counted = false
            }
            guard g >= 0, spanMillis > 0 else { return }
            let vcpu = Double(cpuNs) / (Double(spanMillis) * 1e6)
            let w = Double(spanMillis) / 1000
            if container == 0 {
                if accs[g] == nil { accs[g] = Acc() }
                if !counted {
                    accs[g]!.tasks.insert(task)
                    counted = true
                }
                accs[g]!.cpu.add(vcpu, weight: w)
                accs[g]!.memory.add(Double(memMax) / 1_048_576, weight: w)
                accs[g]!.millis += spanMillis
                accs[g]!.samples += 1
            } else if container <= containerNames.count {
                if accs[g] == nil { accs[g] = Acc() }
                let name = containerNames[container - 1]
                accs[g]!.containerCpu[name, default: WeightedValues()].add(vcpu * 1024, weight: w)
                accs[g]!.containerMemory[name, default: WeightedValues()].add(Double(memMax) / 1_048_576, weight: w)
            }
        }
        var groups: [String: Acc] = [:]
        for (i, acc) in accs.enumerated() { if let acc { groups[names[i]] = acc } }
        // The bills give the run rate: billed task time over the lookback.
        let records = try ledger.records(since: options.since, family: options.family, tags: false)
        let now = options.now
        // Without --since, the lookback starts with the first task billed or sampled.
        let firstStart = tasks.values.map { Date(timeIntervalSince1970: Double($0.startMicros) / 1e6) }.min()
        let windowStart = options.since ?? [records.map(\.billingStart).min(), firstStart].compactMap { $0 }.min() ?? now
        let windowSeconds = max(1, now.timeIntervalSince(windowStart))
        lookbackDays = windowSeconds / 86_400
        var billedByGroup: [String: Int64] = [:]
        for r in records {
            let g = r.service.map { "service:" + $0 } ?? "family:" + r.family
            billedByGroup[g, default: 0] += r.billedSeconds
        }
        var out: [Recommendation] = []
        for (name, var acc) in groups.sorted(by: { $0.key < $1.key }) {
            // The newest task's size is what runs now.
            let latest = acc.tasks.compactMap { tasks[$0] }.max { $0.startMicros < $1.startMicros }!
            let current = FargateSize(cpu: latest.cpu, memory: latest.memory)
            let cpu = Utilization(average: acc.cpu.mean, p95: acc.cpu.percentile(0.95), p99: acc.cpu.percentile(0.99), maximum: acc.cpu.maximum)
            let memory = Utilization(average: acc.memory.mean, p95: acc.memory.percentile(0.95), p99: acc.memory.percentile(0.99),
                                     maximum: acc.memory.maximum)
            let architecture = records.last { ($0.service.map { "service:" + $0 } ?? "family:" + $0.family) == name }?.architecture ?? "X86_64"
            let rates = (try? prices.rates(for: architecture == "ARM64" ? "linux/arm64" : "linux/x86_64")) ?? PriceTable.usEast1.platforms["linux/x86_64"]!
            let billed = billedByGroup[name] ?? acc.seconds
            let running = Double(billed) / windowSeconds
            let monthSeconds = Int64((Double(billed) * 730 * 3600 / windowSeconds).rounded())
            func monthly(_ s: FargateSize) -> Money {
                Billing.cost(seconds: monthSeconds, cpuUnits: Int64(s.cpu), memoryMiB: Int64(s.memory), rates: rates, storageGBHour: prices.ephemeralStorageGBHour)
            }
            var rec = Recommendation(name: name, family: latest.family, service: latest.service, tasks: acc.tasks.count,
                                     sampledSeconds: acc.seconds, samples: acc.samples,
                                     current: current, architecture: architecture, cpu: cpu, memory: memory,
                                     averageRunningTasks: running, currentMonthlyCost: monthly(current))
            if acc.seconds < options.minimumData {
                rec.insufficientData = "\(Advisor.duration(acc.seconds)) of sampled task time; advice needs \(Advisor.duration(options.minimumData)) (--min-data)"
                out.append(rec)
                continue
            }
            let needCpu = Int((cpu.p99 / Advisor.targetUtilization * 1024).rounded(.up))
            let needMemory = Int(max(memory.p99 / Advisor.targetUtilization, memory.maximum * Advisor.memoryMaxHeadroom).rounded(.up))
            let size = Advisor.smallestSize(cpu: needCpu, memory: needMemory) ?? FargateSize(cpu: 16384, memory: 122_880)
            rec.recommended = size
            let cpuChoice = FargateSize.allowed.map(\.cpu).first { $0 >= needCpu } ?? 16384
            let memoryChoice = FargateSize.allowed.flatMap(\.memory).filter { $0 >= needMemory }.min() ?? 122_880
            if cpuChoice < current.cpu { rec.reasons.append(.CPUOverprovisioned) }
            if cpuChoice > current.cpu { rec.reasons.append(.CPUUnderprovisioned) }
            if memoryChoice < current.memory { rec.reasons.append(.MemoryOverprovisioned) }
            if memoryChoice > current.memory { rec.reasons.append(.MemoryUnderprovisioned) }
            rec.finding = rec.reasons.contains { $0 == .CPUUnderprovisioned || $0 == .MemoryUnderprovisioned } ? .Underprovisioned
                : rec.reasons.isEmpty ? .Optimized : .Overprovisioned
            rec.projectedCpuP99 = cpu.p99 * 1024 / Double(size.cpu)
            rec.projectedMemoryP99 = memory.p99 / Double(size.memory)
            let risk = max(cpu.p99 * 1024 / Double(current.cpu), memory.maximum / Double(current.memory))
            rec.performanceRisk = risk < 0.5 ? "VeryLow" : risk < 0.7 ? "Low" : risk < 0.9 ? "Medium" : "High"
            let recommendedCost = monthly(size)
            rec.recommendedMonthlyCost = recommendedCost
            rec.monthlySavings = rec.currentMonthlyCost - recommendedCost
            for c in latest.containers {
                guard var cpuValues = acc.containerCpu[c.name], var memValues = acc.containerMemory[c.name] else { continue }
                let cu = Utilization(average: cpuValues.mean, p95: cpuValues.percentile(0.95), p99: cpuValues.percentile(0.99),
                                     maximum: cpuValues.maximum)
                let mu = Utilization(average: memValues.mean, p95: memValues.percentile(0.95), p99: memValues.percentile(0.99),
                                     maximum: memValues.maximum)
                func up(_ v: Double, to step: Int) -> Int { max(step, Int((v / Double(step)).rounded(.up)) * step) }
                let reservation = up(mu.p99 / Advisor.targetUtilization, to: 16)
                rec.containers.append(ContainerAdvice(
                    containerName: c.name, currentCpu: c.cpu, currentMemory: c.memory, currentMemoryReservation: c.memoryReservation,
                    cpuUnits: cu, memoryMiB: mu, cpu: up(cu.p99 / Advisor.targetUtilization, to: 32),
                    memory: max(reservation, up(mu.maximum * Advisor.memoryMaxHeadroom, to: 16)), memoryReservation: reservation))
            }
            out.append(rec)
        }
        recommendations = out
    }

    /// The smallest valid Fargate size (cheapest: fewest vCPU, then least memory) with at
    /// least this much of both.
    public static func smallestSize(cpu: Int, memory: Int) -> FargateSize? {
        for row in FargateSize.allowed where row.cpu >= cpu {
            if let m = row.memory.first(where: { $0 >= memory }) { return FargateSize(cpu: row.cpu, memory: m) }
        }
        return nil
    }

    static func duration(_ s: Int64) -> String {
        if s < 120 { return "\(s) s" }
        if s < 7200 { return "\(s / 60) min" }
        if s < 3 * 86_400 { return String(format: "%.1f h", Double(s) / 3600) }
        return String(format: "%.1f days", Double(s) / 86_400)
    }

    /// Parses "30s", "15m", "24h", "14d" (or plain seconds).
    public static func parseDuration(_ text: String) -> Int64? {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let units: [(String, Int64)] = [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)]
        for (suffix, factor) in units where t.hasSuffix(suffix) {
            guard let v = Int64(t.dropLast(suffix.count)), v >= 0 else { return nil }
            return v * factor
        }
        return Int64(t).flatMap { $0 >= 0 ? $0 : nil }
    }
}
