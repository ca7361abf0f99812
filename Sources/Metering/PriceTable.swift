import Foundation

/// Fargate on-demand prices, per hour, for one region. Kept in a JSON file users can replace
/// (`--prices FILE`), because AWS changes them and they differ by region.
public struct PriceTable: Codable, Sendable, Equatable {
    public struct Rates: Codable, Sendable, Equatable {
        /// Per vCPU-hour.
        public var vcpuHour: Money
        /// Per GB-hour of memory (GB = 1024 MiB, as Fargate bills).
        public var gbHour: Money

        public init(vcpuHour: Money, gbHour: Money) {
            self.vcpuHour = vcpuHour
            self.gbHour = gbHour
        }
    }

    public var region: String
    /// Keyed by platform: "linux/x86_64", "linux/arm64", "linux/x86_64/spot".
    public var platforms: [String: Rates]
    /// Per GB-hour of ephemeral storage above the free 20 GB.
    public var ephemeralStorageGBHour: Money
    /// Where these numbers come from.
    public var source: String?

    public init(region: String, platforms: [String: Rates], ephemeralStorageGBHour: Money, source: String?) {
        self.region = region
        self.platforms = platforms
        self.ephemeralStorageGBHour = ephemeralStorageGBHour
        self.source = source
    }

    /// us-east-1 on-demand rates (third-party copies of AWS's price page, see
    /// Docs/METERING.md). Spot prices move daily, so none is built in.
    public static let usEast1 = PriceTable(
        region: "us-east-1",
        platforms: [
            "linux/x86_64": Rates(vcpuHour: Money(dollars: "0.04048")!, gbHour: Money(dollars: "0.004445")!),
            "linux/arm64": Rates(vcpuHour: Money(dollars: "0.03238")!, gbHour: Money(dollars: "0.00356")!),
        ],
        ephemeralStorageGBHour: Money(dollars: "0.000111")!,
        source: "AWS Fargate pricing, us-east-1, Linux on-demand")

    public static func load(_ path: String) throws -> PriceTable {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw MeteringError.prices("cannot read price file \(path)")
        }
        do { return try JSONDecoder().decode(PriceTable.self, from: d) } catch {
            throw MeteringError.prices("price file \(path): \(error)")
        }
    }

    public func rates(for platform: String) throws -> Rates {
        guard let r = platforms[platform] else {
            throw MeteringError.prices("no \(platform) prices for \(region) (have: \(platforms.keys.sorted().joined(separator: ", ")))")
        }
        return r
    }
}

public enum MeteringError: Error, CustomStringConvertible, Sendable {
    case prices(String)
    case ledger(String)

    public var description: String {
        switch self {
        case .prices(let m): return m
        case .ledger(let m): return "ledger: \(m)"
        }
    }
}
