import Sandbox

/// A container's stats in Docker's stats format (`types.StatsJSON`), which the agent serves
/// (`/stats`; v4 adds `network_rate_stats`): the latest reading, with the one before it as
/// `precpu_stats` and `preread` (zeros and Go's zero time before there is one). Fields are
/// Docker's for the cgroup version: v2 has no `percpu_usage` nor `max_usage`, and only
/// `io_service_bytes_recursive`, with lowercase ops.
enum DockerStatsDocument {
    static func document(name: String, id: String, latest: ContainerSample, previous: ContainerSample?, networkRate: Bool) -> GoJSON {
        let r = latest.cgroup
        var o = GoObject()
        o.add("read", latest.read.rfc3339Nano)
        o.add("preread", (previous?.read ?? .zero).rfc3339Nano)
        var pids = GoObject()
        pids.omitZero("current", r.pidsCurrent)
        pids.omitZero("limit", r.pidsLimit)
        o.add("pids_stats", pids.json)
        o.add("blkio_stats", blkio(r))
        o.add("num_procs", .uint(0))
        o.add("storage_stats", .object([]))
        o.add("cpu_stats", cpu(latest))
        o.add("precpu_stats", previous.map(cpu) ?? cpu(nil))
        o.add("memory_stats", memory(r))
        o.omitEmpty("name", name)
        o.omitEmpty("id", id)
        if !latest.networks.isEmpty {
            o.add("networks", .map(latest.networks.mapValues(network)))
        }
        if networkRate, let previous {
            let seconds = Double(latest.read.nanosecondsSinceEpoch - previous.read.nanosecondsSinceEpoch) / 1e9
            if seconds > 0 {
                let rx = latest.networks.values.reduce(0) { $0 + $1.rxBytes }, tx = latest.networks.values.reduce(0) { $0 + $1.txBytes }
                let rx0 = previous.networks.values.reduce(0) { $0 + $1.rxBytes }, tx0 = previous.networks.values.reduce(0) { $0 + $1.txBytes }
                var rate = GoObject()
                rate.add("rx_bytes_per_sec", .double(rx >= rx0 ? Double(rx - rx0) / seconds : 0))
                rate.add("tx_bytes_per_sec", .double(tx >= tx0 ? Double(tx - tx0) / seconds : 0))
                o.add("network_rate_stats", rate.json)
            }
        }
        return o.json
    }

    static func cpu(_ s: ContainerSample?) -> GoJSON {
        let r = s?.cgroup
        var usage = GoObject()
        usage.add("total_usage", .uint(r?.cpuTotal ?? 0))
        usage.omitEmpty("percpu_usage", (r?.cpuPerCPU ?? []).map { .uint($0) })
        usage.add("usage_in_kernelmode", .uint(r?.cpuKernel ?? 0))
        usage.add("usage_in_usermode", .uint(r?.cpuUser ?? 0))
        var o = GoObject()
        o.add("cpu_usage", usage.json)
        o.omitZero("system_cpu_usage", s?.systemCPU)
        o.omitZero("online_cpus", s.map { UInt64($0.onlineCPUs) })
        var throttling = GoObject()
        throttling.add("periods", .uint(r?.throttlePeriods ?? 0))
        throttling.add("throttled_periods", .uint(r?.throttledPeriods ?? 0))
        throttling.add("throttled_time", .uint(r?.throttledTime ?? 0))
        o.add("throttling_data", throttling.json)
        return o.json
    }

    static func memory(_ r: CgroupDockerReading) -> GoJSON {
        var o = GoObject()
        o.omitZero("usage", r.memoryUsage)
        o.omitZero("max_usage", r.memoryMaxUsage)
        if !r.memoryStats.isEmpty { o.add("stats", .map(r.memoryStats.mapValues { GoJSON.uint($0) })) }
        o.omitZero("failcnt", r.memoryFailcnt)
        o.omitZero("limit", r.memoryLimit)
        return o.json
    }

    /// The eight lists, always there: `[]` or `null` when there is nothing, as Docker gives
    /// them for each version.
    static func blkio(_ r: CgroupDockerReading) -> GoJSON {
        func list(_ entries: [CgroupDockerReading.BlkioEntry]?) -> GoJSON {
            guard let entries else { return .null }
            return .array(entries.map { e in
                .object([("major", .uint(e.major)), ("minor", .uint(e.minor)), ("op", .string(e.op)), ("value", .uint(e.value))])
            })
        }
        let empty: [CgroupDockerReading.BlkioEntry]? = r.version == .v1 ? [] : nil
        return .object([
            ("io_service_bytes_recursive", list(r.ioServiceBytes)), ("io_serviced_recursive", list(r.ioServiced ?? empty)),
            ("io_queue_recursive", list(empty)), ("io_service_time_recursive", list(empty)), ("io_wait_time_recursive", list(empty)),
            ("io_merged_recursive", list(empty)), ("io_time_recursive", list(empty)), ("sectors_recursive", list(empty)),
        ])
    }

    static func network(_ n: InterfaceCounters) -> GoJSON {
        .object([("rx_bytes", .uint(n.rxBytes)), ("rx_packets", .uint(n.rxPackets)), ("rx_errors", .uint(n.rxErrors)),
                 ("rx_dropped", .uint(n.rxDropped)), ("tx_bytes", .uint(n.txBytes)), ("tx_packets", .uint(n.txPackets)),
                 ("tx_errors", .uint(n.txErrors)), ("tx_dropped", .uint(n.txDropped))])
    }
}
