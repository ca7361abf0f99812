import Foundation

/// Fargate's billing rules (Linux): the requested vCPU, memory and ephemeral storage above 20 GB
/// are billed from the start of the image pull to the end of the task, rounded up to the whole
/// second, with a one-minute minimum.
public enum Billing {
    public static let minimumSeconds: Int64 = 60
    public static let freeEphemeralStorageGiB: Int64 = 20

    /// Microseconds since the epoch, as the ledger stores times (rounded, so a time read back
    /// is the one written).
    public static func micros(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1_000_000).rounded()) }

    /// Billed seconds for a task that ran from `start` to `end` (microseconds since the epoch).
    public static func billedSeconds(startMicros: Int64, endMicros: Int64) -> Int64 {
        let micros = max(0, endMicros - startMicros)
        let seconds = (micros + 999_999) / 1_000_000
        return max(minimumSeconds, seconds)
    }

    /// The cost of `seconds` of a task size, computed as an exact fraction and rounded once, half
    /// up, to the nano-dollar:
    ///
    ///     seconds × (cpu/1024 × vCPU-hour + memory/1024 × GB-hour + extraGB × storage-GB-hour) / 3600
    ///
    /// - Parameters:
    ///   - cpuUnits: task cpu (1024 = 1 vCPU).
    ///   - memoryMiB: task memory in MiB.
    ///   - ephemeralStorageGiB: the task's ephemeral storage; only what exceeds 20 GiB is billed.
    public static func cost(seconds: Int64, cpuUnits: Int64, memoryMiB: Int64, ephemeralStorageGiB: Int64 = 20,
                            rates: PriceTable.Rates, storageGBHour: Money) -> Money {
        let extraGiB = max(0, ephemeralStorageGiB - freeEphemeralStorageGiB)
        // In nano-dollars × 1024 per hour; Int128 so no realistic input can overflow.
        let perHourScaled = Int128(cpuUnits) * Int128(rates.vcpuHour.nanos)
            + Int128(memoryMiB) * Int128(rates.gbHour.nanos)
            + Int128(extraGiB) * 1024 * Int128(storageGBHour.nanos)
        let numerator = Int128(seconds) * perHourScaled
        let denominator = Int128(1024 * 3600)
        let rounded = (numerator * 2 + denominator) / (denominator * 2)
        return Money(nanos: Int64(rounded))
    }
}
