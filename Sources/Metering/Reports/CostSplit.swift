/// A task's cost taken apart, exactly: by resource (CPU, memory, storage) and by time (the
/// part of its billed interval inside an hour, a day, a report's window).
///
/// Every part is an integer number of nano-dollars and the parts of any partition add up to
/// the whole, to the nano-dollar: a share of `amount` for positions `a..<b` of `total` is
/// `C(b) − C(a)` with `C(x) = round(amount × x / total)`, so consecutive shares telescope.
public enum CostSplit {
    /// The part of `amount` for positions `from..<to` out of `0..<total` (clamped).
    public static func share(_ amount: Money, from: Int64, to: Int64, of total: Int64) -> Money {
        guard total > 0 else { return from <= 0 && to > 0 ? amount : .zero }
        func c(_ x: Int64) -> Int64 {
            let p = Int128(min(max(x, 0), total))
            let num = Int128(amount.nanos) * p * 2 + Int128(total)
            return Int64(num / (Int128(total) * 2))
        }
        let lo = c(from), hi = c(to)
        return Money(nanos: max(0, hi - lo))
    }

    /// `amount × part / whole`, rounded half up (a fraction of a cost).
    public static func scale(_ amount: Money, by part: Int128, of whole: Int128) -> Money {
        guard whole > 0 else { return .zero }
        let p = min(max(part, 0), whole)
        return Money(nanos: Int64((Int128(amount.nanos) * p * 2 + whole) / (whole * 2)))
    }

    /// The CPU, memory and storage parts of a record's cost: each priced alone and rounded,
    /// storage taking what rounding left so the three add up to `record.cost` exactly.
    public static func parts(of r: BillingRecord) -> (cpu: Money, memory: Money, storage: Money) {
        let cpu = round(Int128(r.billedSeconds) * Int128(r.cpu) * Int128(r.vcpuHourNanos), over: 1024 * 3600)
        let memory = round(Int128(r.billedSeconds) * Int128(r.memory) * Int128(r.gbHourNanos), over: 1024 * 3600)
        let rest = r.costNanos - cpu - memory
        // Rounding alone can leave ±1 nano-dollar with no storage billed: it goes to memory.
        if r.ephemeralStorageGiB <= Billing.freeEphemeralStorageGiB {
            return (Money(nanos: cpu), Money(nanos: memory + rest), .zero)
        }
        return (Money(nanos: cpu), Money(nanos: memory), Money(nanos: rest))
    }

    static func round(_ num: Int128, over den: Int128) -> Int64 {
        Int64((num * 2 + den) / (den * 2))
    }
}
