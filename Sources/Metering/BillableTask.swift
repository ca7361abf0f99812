import Foundation

/// What Fargate bills a task for: its requested size and platform. Recorded with a task when
/// its billing starts, so whoever ends the task (its runner, or `gc` after a crash) bills it
/// the same way.
public struct BillableTask: Codable, Sendable, Equatable {
    public var family: String
    public var revision: Int
    /// Task cpu units (1024 = 1 vCPU) and memory in MiB.
    public var cpu: Int
    public var memory: Int
    public var ephemeralStorageGiB: Int
    /// "X86_64" or "ARM64".
    public var architecture: String
    /// Who the task runs for (its cluster, startedBy, group, tags), carried into its record.
    /// nil in the state of a task started before v2 of the ledger.
    public var attribution: TaskAttribution?
    /// "FARGATE_SPOT" for a task RunTask or a service placed on Fargate Spot, billed at Spot's
    /// rates; nil (FARGATE) for on-demand, and in the state of a task started before Spot was
    /// billed.
    public var capacityProvider: String?

    public init(family: String, revision: Int, cpu: Int, memory: Int, ephemeralStorageGiB: Int, architecture: String,
                attribution: TaskAttribution? = nil, capacityProvider: String? = nil) {
        self.family = family
        self.revision = revision
        self.cpu = cpu
        self.memory = memory
        self.ephemeralStorageGiB = ephemeralStorageGiB
        self.architecture = architecture
        self.attribution = attribution
        self.capacityProvider = capacityProvider
    }

    /// Whether the task runs on Fargate Spot.
    public var isSpot: Bool { capacityProvider == "FARGATE_SPOT" }

    /// The price-table key of the task's platform: "linux/x86_64/spot" on Fargate Spot, which
    /// runs x86 only (an ARM64 task placed there is priced as x86 Spot, as `--price-as spot`
    /// prices it).
    public var pricePlatform: String {
        if isSpot { return PriceTable.spotPlatform }
        return architecture == "ARM64" ? "linux/arm64" : "linux/x86_64"
    }

    /// The ledger record of the task billed from `start` (its pull) to `end`, at `prices`.
    public func record(taskArn: String, start: Date, end: Date, prices: PriceTable, stopCode: String?,
                       cpuUsageNanos: Int64? = nil, memoryPeakBytes: Int64? = nil) throws -> BillingRecord {
        let platform = pricePlatform
        let rates = isSpot ? try prices.spotRates() : try prices.rates(for: platform)
        let startUs = Billing.micros(start), endUs = Billing.micros(end)
        let seconds = Billing.billedSeconds(startMicros: startUs, endMicros: endUs)
        let cost = Billing.cost(seconds: seconds, cpuUnits: Int64(cpu), memoryMiB: Int64(memory),
                                ephemeralStorageGiB: Int64(ephemeralStorageGiB), rates: rates,
                                storageGBHour: prices.ephemeralStorageGBHour)
        var record = BillingRecord(taskArn: taskArn, family: family, revision: revision, cpu: Int64(cpu), memory: Int64(memory),
                             ephemeralStorageGiB: Int64(ephemeralStorageGiB), architecture: architecture,
                             pricePlatform: platform, region: prices.region, billingStartMicros: startUs,
                             billingEndMicros: endUs, billedSeconds: seconds, costNanos: cost.nanos,
                             vcpuHourNanos: rates.vcpuHour.nanos, gbHourNanos: rates.gbHour.nanos, stopCode: stopCode,
                             cpuUsageNanos: cpuUsageNanos, memoryPeakBytes: memoryPeakBytes)
        if let a = attribution {
            record.cluster = a.cluster
            record.startedBy = a.startedBy
            record.group = a.group
            record.tags = a.tags
        }
        return record
    }
}

/// Who a task ran for, as RunTask names it: what `report --group-by` groups by besides the
/// task definition.
public struct TaskAttribution: Codable, Sendable, Equatable {
    public var cluster: String?
    public var startedBy: String?
    /// RunTask's group; "service:NAME" for the tasks of a service.
    public var group: String?
    public var tags: [String: String]

    public init(cluster: String?, startedBy: String?, group: String?, tags: [String: String] = [:]) {
        self.cluster = cluster
        self.startedBy = startedBy
        self.group = group
        self.tags = tags
    }
}
