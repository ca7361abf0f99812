import ECSModel
import Foundation

extension Advisor {
    /// One row per family or service, then a line per container; the rule and the data under it.
    public func table() -> String {
        var rows: [[String]] = [["NAME", "TASKS", "DATA", "CPU AVG/P99", "MEM P99/MAX", "NOW", "FINDING", "REASONS", "RECOMMENDED", "SAVES/MONTH"]]
        var notes: [String] = []
        for r in recommendations {
            let cpu = String(format: "%.3f/%.3f vCPU", r.cpu.average, r.cpu.p99)
            let mem = "\(Advisor.mib(r.memory.p99))/\(Advisor.mib(r.memory.maximum)) MiB"
            let now = "\(r.current.cpu)/\(r.current.memory)"
            if let why = r.insufficientData {
                rows.append([r.name, "\(r.tasks)", Advisor.duration(r.sampledSeconds), cpu, mem, now, "-", "insufficient data", "-", "-"])
                notes.append("\(r.name): \(why)")
                continue
            }
            rows.append([r.name, "\(r.tasks)", Advisor.duration(r.sampledSeconds), cpu, mem, now, r.finding?.rawValue ?? "-",
                         r.reasons.isEmpty ? "-" : r.reasons.map(\.rawValue).joined(separator: ","),
                         r.recommended.map { "\($0.cpu)/\($0.memory)" } ?? "-", r.monthlySavings?.description ?? "-"])
            for c in r.containers {
                let currentReservation = c.currentMemoryReservation.map { "\($0)" } ?? "-"
                let currentMemory = c.currentMemory.map { "\($0)" } ?? "-"
                rows.append(["  " + c.containerName, "", "", String(format: "%.0f/%.0f units", c.cpuUnits.average, c.cpuUnits.p99),
                             "\(Advisor.mib(c.memoryMiB.p99))/\(Advisor.mib(c.memoryMiB.maximum)) MiB",
                             "cpu \(c.currentCpu.map { "\($0)" } ?? "-") mem \(currentMemory)/\(currentReservation)", "", "",
                             "cpu \(c.cpu) mem \(c.memory)/\(c.memoryReservation)", ""])
            }
        }
        var out = TextChart.table(rows, numeric: [1])
        out += "NOW and RECOMMENDED: task cpu units/memory MiB; containers: cpu, memory (hard)/memoryReservation (soft).\n"
        out += "Rule: the smallest valid Fargate size with vCPU ≥ p99 CPU ÷ 0.8 and memory ≥ max(p99 memory ÷ 0.8, max memory × 1.1); "
            + "savings at the current run rate over a 730-hour month, lookback \(String(format: "%.1f", lookbackDays)) days.\n"
        for n in notes { out += "\(n)\n" }
        return out
    }

    /// "0.4", "12", "2048": MiB with a decimal below 10.
    static func mib(_ v: Double) -> String { v < 10 ? String(format: "%.1f", v) : String(format: "%.0f", v) }

    /// Shaped like Compute Optimizer's GetECSServiceRecommendations output.
    public func json() -> String {
        func util(_ name: String, _ u: Utilization) -> [[String: Any]] {
            [["name": name, "statistic": "Average", "value": u.average], ["name": name, "statistic": "Maximum", "value": u.maximum],
             ["name": name, "statistic": "P95", "value": u.p95], ["name": name, "statistic": "P99", "value": u.p99]]
        }
        var list: [[String: Any]] = []
        for r in recommendations {
            var o: [String: Any] = [
                "name": r.name, "family": r.family, "tasks": r.tasks, "lookbackPeriodInDays": (lookbackDays * 86_400).rounded() / 86_400,
                "currentServiceConfiguration": ["cpu": r.current.cpu, "memory": r.current.memory,
                                                "containerConfigurations": r.containers.map { c -> [String: Any] in
                                                    var m: [String: Any] = ["containerName": c.containerName]
                                                    if let v = c.currentCpu { m["cpu"] = v }
                                                    var mem: [String: Any] = [:]
                                                    if let v = c.currentMemory { mem["memory"] = v }
                                                    if let v = c.currentMemoryReservation { mem["memoryReservation"] = v }
                                                    m["memorySizeConfiguration"] = mem
                                                    return m
                                                }],
                // CPU in vCPU (Compute Optimizer gives percent of the task's); memory in MiB.
                "utilizationMetrics": util("Cpu", r.cpu) + util("Memory", r.memory),
                "dataBasis": ["sampledTaskSeconds": r.sampledSeconds, "samples": r.samples, "minimumTaskSeconds": options.minimumData,
                              "averageRunningTasks": r.averageRunningTasks],
                "architecture": r.architecture,
            ]
            if let s = r.service { o["serviceName"] = s }
            if let why = r.insufficientData {
                o["insufficientData"] = why
            } else {
                o["finding"] = r.finding?.rawValue ?? ""
                o["findingReasonCodes"] = r.reasons.map(\.rawValue)
                o["currentPerformanceRisk"] = r.performanceRisk ?? ""
                if let size = r.recommended {
                    var option: [String: Any] = [
                        "cpu": size.cpu, "memory": size.memory,
                        "containerRecommendations": r.containers.map { c -> [String: Any] in
                            ["containerName": c.containerName, "cpu": c.cpu,
                             "memorySizeConfiguration": ["memory": c.memory, "memoryReservation": c.memoryReservation]]
                        },
                        "projectedUtilizationMetrics": [["name": "Cpu", "statistic": "P99", "upperBoundValue": r.projectedCpuP99 ?? 0],
                                                        ["name": "Memory", "statistic": "P99", "upperBoundValue": r.projectedMemoryP99 ?? 0]],
                    ]
                    if let saving = r.monthlySavings {
                        let pct = r.currentMonthlyCost.nanos > 0 ? Double(saving.nanos) / Double(r.currentMonthlyCost.nanos) * 100 : 0
                        option["savingsOpportunity"] = ["savingsPercentage": pct,
                                                        "estimatedMonthlySavings": ["currency": "USD", "value": saving.decimalString]]
                    }
                    o["serviceRecommendationOptions"] = [option]
                }
            }
            o["currentMonthlyCost"] = r.currentMonthlyCost.decimalString
            list.append(o)
        }
        let out: [String: Any] = [
            "recommendations": list,
            "rule": "smallest valid Fargate size with vCPU >= p99 CPU / 0.8 and memory >= max(p99 memory / 0.8, max memory * 1.1)",
        ]
        let data = (try? JSONSerialization.data(withJSONObject: out, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
