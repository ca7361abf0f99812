/// The same usage at other prices (`report --price-as`): as ARM64 (Graviton), as Fargate Spot,
/// or under a Compute Savings Plan.
public enum WhatIfPrice: Hashable, Sendable, CustomStringConvertible {
    /// The task's size at the linux/arm64 rates.
    case arm64
    /// At the price file's "linux/x86_64/spot" rates, else its x86 rates less
    /// `spotDiscountPercent` (Spot runs x86 only: an ARM64 task is priced as x86 Spot).
    case spot
    /// The on-demand cost less a Compute Savings Plan's discount.
    case savingsPlan(Percent)

    /// Parses `arm64`, `spot`, `savings-plan=PCT` (or `savings-plan:PCT`).
    public static func parse(_ text: String) throws -> WhatIfPrice {
        let t = text.lowercased()
        if t == "arm64" || t == "graviton" { return .arm64 }
        if t == "spot" { return .spot }
        for prefix in ["savings-plan=", "savings-plan:", "sp="] where t.hasPrefix(prefix) {
            guard let p = Percent(String(t.dropFirst(prefix.count))) else {
                throw ReportError.badInput("--price-as \(text): the savings plan's discount is a percentage from 0 to 100 (e.g. savings-plan=20)")
            }
            return .savingsPlan(p)
        }
        throw ReportError.badInput("--price-as \(text): not one of arm64, spot, savings-plan=PCT")
    }

    public var description: String {
        switch self {
        case .arm64: return "arm64"
        case .spot: return "spot"
        case .savingsPlan(let p): return "savings-plan=\(p)"
        }
    }

    /// Column title: "AS ARM64", "AS SPOT", "AS SP 20%".
    public var title: String {
        switch self {
        case .arm64: return "AS ARM64"
        case .spot: return "AS SPOT"
        case .savingsPlan(let p): return "AS SP \(p)%"
        }
    }

    /// Column name in CSV and JSON: costAsArm64, costAsSpot, costAsSavingsPlan20.
    public var key: String {
        switch self {
        case .arm64: return "costAsArm64"
        case .spot: return "costAsSpot"
        case .savingsPlan(let p): return "costAsSavingsPlan" + p.description.replacingOccurrences(of: ".", with: "_")
        }
    }

    /// What `record`'s whole billed interval would have cost at these prices.
    public func cost(of r: BillingRecord, prices: PriceTable) throws -> Money {
        func at(_ rates: PriceTable.Rates) -> Money {
            Billing.cost(seconds: r.billedSeconds, cpuUnits: r.cpu, memoryMiB: r.memory, ephemeralStorageGiB: r.ephemeralStorageGiB,
                         rates: rates, storageGBHour: prices.ephemeralStorageGBHour)
        }
        switch self {
        case .arm64:
            return at(try prices.rates(for: "linux/arm64"))
        case .spot:
            // The rates a Spot task is billed at, so a task that ran on Spot costs the same "as spot".
            do { return at(try prices.spotRates()) } catch {
                throw ReportError.badInput("--price-as spot: the price file has neither \"\(PriceTable.spotPlatform)\" rates nor spotDiscountPercent")
            }
        case .savingsPlan(let p):
            return p.discounting(r.cost)
        }
    }
}

/// A report asked for something it cannot give: names the flag or value and what is allowed.
public enum ReportError: Error, CustomStringConvertible, Sendable {
    case badInput(String)

    public var description: String {
        switch self {
        case .badInput(let m): return m
        }
    }
}
