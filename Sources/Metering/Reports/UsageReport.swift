import Foundation

/// One task's usage over time per container (`fargate-run usage TASK`), set against what the
/// task requested: mean and p95 CPU as a share of the task's vCPU, peak memory as a share of
/// its memory.
public struct UsageReport: Sendable {
    public var task: UsageTask
    public var samples: [UsageSample]
    /// The task's bill, once it has one.
    public var record: BillingRecord?

    public init(task: UsageTask, samples: [UsageSample], record: BillingRecord?) {
        self.task = task
        self.samples = samples
        self.record = record
    }

    /// What one container (or the task, "") used, over every sample.
    public struct Summary: Sendable {
        public var container: String
        public var seconds: Int64
        public var cpuSeconds: Double
        /// Mean and p95 of CPU in vCPU, and as shares of the task's vCPU.
        public var cpuAverage: Double
        public var cpuP95: Double
        public var cpuAverageShare: Double
        public var cpuP95Share: Double
        /// The most memory in use sampled (no page cache), and the kernel's peak (with it).
        public var memoryMaxBytes: Int64
        public var memoryPeakBytes: Int64?
        public var memoryPeakShare: Double
        public var netRxBytes: Int64
        public var netTxBytes: Int64
        public var ioReadBytes: Int64?
        public var ioWriteBytes: Int64?
        public var pidsMax: Int64
        /// CPU per sample (vCPU), for a sparkline.
        public var cpuSeries: [Double]
    }

    var taskVcpu: Double { Double(task.cpu) / 1024 }
    var taskMemoryBytes: Double { Double(task.memory) * 1_048_576 }

    /// The containers in the definition's order, the task first.
    public var containerNames: [String] { [""] + task.containers.map(\.name) }

    public func samples(of container: String) -> [UsageSample] { samples.filter { $0.container == container } }

    public func summary(_ container: String) -> Summary {
        let s = samples(of: container)
        var cpu = WeightedValues()
        var series: [Double] = []
        for x in s where x.spanMillis > 0 {
            let v = Double(x.cpuNanos) / 1e9 / x.seconds
            cpu.add(v, weight: x.seconds)
            // A row of idle seconds (shorter than a minute) stands for its seconds one by one.
            series.append(contentsOf: repeatElement(v, count: x.spanMillis < 59_500 ? max(1, Int(x.seconds.rounded())) : 1))
        }
        let seconds = s.reduce(0.0) { $0 + $1.seconds }
        let cpuNanos = s.reduce(Int64(0)) { $0 + $1.cpuNanos }
        let average = seconds > 0 ? Double(cpuNanos) / 1e9 / Double(seconds) : 0
        let p95 = cpu.percentile(0.95)
        let maxMem = s.map(\.memoryMaxBytes).max() ?? 0
        let peak = s.compactMap(\.memoryPeakBytes).max()
        let io = s.compactMap(\.ioReadBytes).isEmpty ? nil : s.reduce(Int64(0)) { $0 + ($1.ioReadBytes ?? 0) }
        let iow = s.compactMap(\.ioWriteBytes).isEmpty ? nil : s.reduce(Int64(0)) { $0 + ($1.ioWriteBytes ?? 0) }
        return Summary(container: container, seconds: Int64(seconds.rounded()), cpuSeconds: Double(cpuNanos) / 1e9, cpuAverage: average, cpuP95: p95,
                       cpuAverageShare: average / taskVcpu, cpuP95Share: p95 / taskVcpu, memoryMaxBytes: maxMem, memoryPeakBytes: peak,
                       memoryPeakShare: Double(max(maxMem, peak ?? 0)) / taskMemoryBytes,
                       netRxBytes: s.reduce(0) { $0 + $1.netRxBytes }, netTxBytes: s.reduce(0) { $0 + $1.netTxBytes },
                       ioReadBytes: io, ioWriteBytes: iow, pidsMax: s.map(\.pids).max() ?? 0, cpuSeries: series)
    }

    static func mib(_ b: Int64) -> String { String(format: "%.1f", Double(b) / 1_048_576) }
    static func bytes(_ b: Int64?) -> String {
        guard let b else { return "-" }
        if b < 1024 { return "\(b) B" }
        if b < 1 << 20 { return String(format: "%.1f KiB", Double(b) / 1024) }
        if b < 1 << 30 { return String(format: "%.1f MiB", Double(b) / 1_048_576) }
        return String(format: "%.2f GiB", Double(b) / 1_073_741_824)
    }

    func label(_ c: String) -> String { c.isEmpty ? "(task)" : c }

    /// The request-vs-use summary, then the timeline in steps of `step` seconds (0: at most
    /// ~30 rows per container).
    public func table(step: Int64 = 0) -> String {
        let first = samples.map { $0.time - Int64($0.seconds.rounded()) }.min() ?? 0
        let last = samples.map(\.time).max() ?? 0
        var out = "task \(task.taskArn)\n\(task.family):\(task.revision), requested \(CostReport.vcpu(Int64(task.cpu))) vCPU, "
            + "\(task.memory) MiB; \(last - first) s sampled"
        if let r = record { out += "; billed \(r.billedSeconds) s, \(r.cost)" }
        out += "\n\n"
        var rows: [[String]] = [["CONTAINER", "CPU AVG", "CPU P95", "OF TASK AVG/P95", "MEM MAX", "PEAK", "OF TASK", "NET RX/TX", "IO R/W", "PIDS", "CPU"]]
        for c in containerNames {
            let s = summary(c)
            guard s.seconds > 0 || !samples(of: c).isEmpty else { continue }
            rows.append([label(c), String(format: "%.3f vCPU", s.cpuAverage), String(format: "%.3f vCPU", s.cpuP95),
                         "\(TextChart.percent(s.cpuAverageShare))/\(TextChart.percent(s.cpuP95Share))",
                         UsageReport.mib(s.memoryMaxBytes) + " MiB", s.memoryPeakBytes.map { UsageReport.mib($0) + " MiB" } ?? "-",
                         TextChart.percent(s.memoryPeakShare),
                         c.isEmpty ? "\(UsageReport.bytes(s.netRxBytes))/\(UsageReport.bytes(s.netTxBytes))" : "",
                         s.ioReadBytes == nil ? "-" : "\(UsageReport.bytes(s.ioReadBytes))/\(UsageReport.bytes(s.ioWriteBytes))",
                         "\(s.pidsMax)", TextChart.sparkline(s.cpuSeries, ceiling: taskVcpu)])
        }
        out += TextChart.table(rows, numeric: [1, 2, 4, 5, 6, 9])
        out += "OF TASK: share of the task's \(CostReport.vcpu(Int64(task.cpu))) vCPU and \(task.memory) MiB; MEM MAX: most in use "
            + "(no page cache) at a sample; PEAK: the kernel's high-water mark (page cache included).\n\n"
        let span = max(1, last - first)
        let every = step > 0 ? step : max(1, (span + 29) / 30)
        var timeline: [[String]] = [["TIME", "CONTAINER", "CPU", "OF TASK", "MEM MiB", "NET RX/TX", "PIDS"]]
        for c in containerNames {
            var bucket: [UsageSample] = []
            func flush() {
                guard let end = bucket.last?.time else { return }
                let secs = bucket.reduce(0.0) { $0 + $1.seconds }
                let cpu = secs > 0 ? Double(bucket.reduce(Int64(0)) { $0 + $1.cpuNanos }) / 1e9 / secs : 0
                let mem = bucket.map(\.memoryMaxBytes).max() ?? 0
                timeline.append(["+\(end - first) s", label(c), String(format: "%.3f", cpu), TextChart.percent(cpu / taskVcpu),
                                 UsageReport.mib(mem), c.isEmpty ? "\(UsageReport.bytes(bucket.reduce(0) { $0 + $1.netRxBytes }))/\(UsageReport.bytes(bucket.reduce(0) { $0 + $1.netTxBytes }))" : "",
                                 "\(bucket.map(\.pids).max() ?? 0)"])
                bucket = []
            }
            for s in samples(of: c) {
                if let head = bucket.first, (s.time - first - 1) / every != (head.time - first - 1) / every { flush() }
                bucket.append(s)
            }
            flush()
        }
        out += TextChart.table(timeline, numeric: [0, 2, 3, 4, 6])
        return out
    }

    public func csv() -> String {
        var lines = ["container,time,span_seconds,cpu_seconds,cpu_share_of_task,memory_bytes,memory_max_bytes,memory_peak_bytes,net_rx_bytes,net_tx_bytes,io_read_bytes,io_write_bytes,pids"]
        for s in samples {
            let share = s.spanMillis > 0 ? Double(s.cpuNanos) / 1e9 / s.seconds / taskVcpu : 0
            lines.append([label(s.container), CostReport.iso(Date(timeIntervalSince1970: Double(s.time))), String(format: "%.3f", s.seconds),
                          String(format: "%.6f", Double(s.cpuNanos) / 1e9), String(format: "%.4f", share), "\(s.memoryBytes)",
                          "\(s.memoryMaxBytes)", s.memoryPeakBytes.map { "\($0)" } ?? "", "\(s.netRxBytes)", "\(s.netTxBytes)",
                          s.ioReadBytes.map { "\($0)" } ?? "", s.ioWriteBytes.map { "\($0)" } ?? "", "\(s.pids)"]
                .map(TextChart.csvField).joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    public func json() -> String {
        var containers: [[String: Any]] = []
        for c in containerNames {
            let s = summary(c)
            var o: [String: Any] = [
                "name": label(c), "sampledSeconds": s.seconds, "cpuSeconds": s.cpuSeconds, "cpuAverageVcpu": s.cpuAverage,
                "cpuP95Vcpu": s.cpuP95, "cpuAverageShareOfTask": s.cpuAverageShare, "cpuP95ShareOfTask": s.cpuP95Share,
                "memoryMaxBytes": s.memoryMaxBytes, "memoryPeakShareOfTask": s.memoryPeakShare, "pidsMax": s.pidsMax,
                "samples": samples(of: c).map { x -> [String: Any] in
                    var m: [String: Any] = ["time": x.time, "spanMillis": x.spanMillis, "cpuNanos": x.cpuNanos, "memoryBytes": x.memoryBytes,
                                            "memoryMaxBytes": x.memoryMaxBytes, "pids": x.pids]
                    if let p = x.memoryPeakBytes { m["memoryPeakBytes"] = p }
                    if c.isEmpty { m["netRxBytes"] = x.netRxBytes; m["netTxBytes"] = x.netTxBytes }
                    if let v = x.ioReadBytes { m["ioReadBytes"] = v }
                    if let v = x.ioWriteBytes { m["ioWriteBytes"] = v }
                    return m
                },
            ]
            if let p = s.memoryPeakBytes { o["memoryPeakBytes"] = p }
            if c.isEmpty { o["netRxBytes"] = s.netRxBytes; o["netTxBytes"] = s.netTxBytes }
            if let v = s.ioReadBytes { o["ioReadBytes"] = v }
            if let v = s.ioWriteBytes { o["ioWriteBytes"] = v }
            if let def = task.containers.first(where: { $0.name == c }) {
                o["requested"] = ["cpu": def.cpu as Any, "memory": def.memory as Any, "memoryReservation": def.memoryReservation as Any]
                    .compactMapValues { $0 is NSNull ? nil : $0 }
            }
            containers.append(o)
        }
        var out: [String: Any] = ["taskArn": task.taskArn, "family": task.family, "revision": task.revision, "cpu": task.cpu,
                                  "memory": task.memory, "containers": containers]
        if let r = record { out["billedSeconds"] = r.billedSeconds; out["cost"] = r.cost.decimalString }
        let data = (try? JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// CPU (vCPU) and memory in use (MiB) per container over time, against the task's request.
    public func svg() -> String {
        let first = samples.map { $0.time - Int64($0.seconds.rounded()) }.min() ?? 0
        var cpuSeries: [SVGChart.Series] = [], memSeries: [SVGChart.Series] = []
        var x: [Double] = []
        let times = Array(Set(samples.map(\.time))).sorted()
        x = times.map { Double($0 - first) }
        for c in containerNames {
            let s = samples(of: c)
            guard !s.isEmpty else { continue }
            // The container's row at each time: the one ending then, or one covering it (a row
            // of idle seconds ends later).
            var covering: [UsageSample?] = []
            var i = 0
            for t in times {
                while i < s.count && s[i].time < t { i += 1 }
                covering.append(i < s.count && (s[i].time == t || s[i].time - (s[i].spanMillis + 999) / 1000 < t) ? s[i] : nil)
            }
            cpuSeries.append(.init(name: label(c), values: covering.map { v in
                v.map { $0.spanMillis > 0 ? Double($0.cpuNanos) / 1e9 / $0.seconds : 0 } ?? 0
            }))
            memSeries.append(.init(name: label(c), values: covering.map { Double($0?.memoryMaxBytes ?? 0) / 1_048_576 }))
        }
        return SVGChart.lines(title: "\(task.family):\(task.revision) \(task.taskArn.split(separator: "/").last ?? "") usage", panels: [
            .init(title: "CPU", unit: "vCPU", x: x, series: cpuSeries, limit: taskVcpu, limitLabel: "task cpu \(CostReport.vcpu(Int64(task.cpu))) vCPU"),
            .init(title: "Memory in use (no page cache)", unit: "MiB", x: x, series: memSeries, limit: Double(task.memory),
                  limitLabel: "task memory \(task.memory) MiB"),
        ], timeLabel: { "+\(Int($0)) s" })
    }
}
