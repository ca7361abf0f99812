import ECSModel
import Foundation
import LinuxSupport

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
    /// Fargate Spot's discount off the x86 on-demand rates, for `--price-as spot` (a
    /// "linux/x86_64/spot" row, when present, is used instead). Spot prices move; AWS says
    /// "up to 70% off".
    public var spotDiscountPercent: Percent?

    public init(region: String, platforms: [String: Rates], ephemeralStorageGBHour: Money, source: String?,
                spotDiscountPercent: Percent? = nil) {
        self.region = region
        self.platforms = platforms
        self.ephemeralStorageGBHour = ephemeralStorageGBHour
        self.source = source
        self.spotDiscountPercent = spotDiscountPercent
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
        source: "AWS Fargate pricing, us-east-1, Linux on-demand",
        spotDiscountPercent: Percent(basisPoints: 7000))

    public static func load(_ path: String) throws -> PriceTable {
        let text: String
        do { text = try FileSystem.readString(path) } catch {
            throw MeteringError.prices("cannot read price file \(path): \(String(cString: strerror(error.errno)))")
        }
        // ECSModel's parser says where the JSON breaks (line and column); its tree shows what
        // the typed decoding would drop without a word (a misspelt spotDiscountPercent).
        let tree: JSONValue
        do { tree = try JSONParser.parse(Array(text.utf8)) } catch { throw MeteringError.prices("price file \(path): \(error)") }
        if let unknown = PriceTable.unknownMember(in: tree) { throw MeteringError.prices("price file \(path): \(unknown)") }
        do { return try JSONDecoder().decode(PriceTable.self, from: Data(text.utf8)) } catch let e as DecodingError {
            throw MeteringError.prices("price file \(path): \(PriceTable.explain(e))")
        } catch {
            throw MeteringError.prices("price file \(path): \(error)")
        }
    }

    static let members = ["region", "platforms", "ephemeralStorageGBHour", "source", "spotDiscountPercent"]
    static let rateMembers = ["vcpuHour", "gbHour"]
    static let amounts = ["vcpuHour", "gbHour", "ephemeralStorageGBHour"]

    /// "unknown member X at PATH (...)" for the first member the price file's shape lacks.
    static func unknownMember(in tree: JSONValue) -> String? {
        func unknown(_ object: JSONValue?, _ known: [String], at path: String) -> String? {
            guard case .object(let pairs)? = object, let name = pairs.map(\.0).first(where: { !known.contains($0) }) else { return nil }
            return "unknown member \"\(name)\" at \(path) (it takes \(known.joined(separator: ", ")); Docs/METERING.md)"
        }
        if let u = unknown(tree, members, at: "the top level") { return u }
        guard case .object(let platforms)? = tree["platforms"] else { return nil }
        for (platform, rates) in platforms {
            if let u = unknown(rates, rateMembers, at: "platforms.\(platform)") { return u }
        }
        return nil
    }

    /// A decoding error as "at platforms.linux/x86_64.gbHour: ...".
    static func explain(_ e: DecodingError) -> String {
        func at(_ path: [any CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch e {
        case .keyNotFound(let key, let c):
            return "\"\(key.stringValue)\" is missing at \(at(c.codingPath)) (a price file has region, platforms {\"linux/x86_64\": {vcpuHour, gbHour}}, ephemeralStorageGBHour; Docs/METERING.md)"
        case .typeMismatch(let type, let c):
            let name = "\(type)"
            var expected = name.hasPrefix("Dictionary") ? "an object" : name.hasPrefix("Array") ? "a list" : type == String.self ? "a string" : name
            if type == String.self, amounts.contains(c.codingPath.last?.stringValue ?? "") {
                expected += " (a dollar amount is written as one, e.g. \"0.04048\")"
            }
            return "\(at(c.codingPath)): not \(expected)"
        case .valueNotFound(_, let c):
            return "\(at(c.codingPath)): \(c.debugDescription)"
        case .dataCorrupted(let c):
            let why = (c.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return c.codingPath.isEmpty ? "not JSON (\(why ?? c.debugDescription))" : "\(at(c.codingPath)): \(c.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }

    public func rates(for platform: String) throws -> Rates {
        guard let r = platforms[platform] else {
            throw MeteringError.prices("no \(platform) prices for \(region) (have: \(platforms.keys.sorted().joined(separator: ", ")))")
        }
        return r
    }

    /// The price-table key of Fargate Spot's rates.
    public static let spotPlatform = "linux/x86_64/spot"

    /// Fargate Spot's rates: the file's "linux/x86_64/spot" row, else its x86 on-demand rates less
    /// `spotDiscountPercent`. The discount is taken off each rate (not off a task's total) so a
    /// Spot bill keeps the rates it was priced at, and its CPU and memory parts split from them
    /// exactly as an on-demand bill's do.
    public func spotRates() throws -> Rates {
        if let spot = platforms[PriceTable.spotPlatform] { return spot }
        guard let discount = spotDiscountPercent else {
            throw MeteringError.prices("no Fargate Spot prices for \(region): the price file has neither \"\(PriceTable.spotPlatform)\" rates nor spotDiscountPercent")
        }
        let onDemand = try rates(for: "linux/x86_64")
        return Rates(vcpuHour: discount.discounting(onDemand.vcpuHour), gbHour: discount.discounting(onDemand.gbHour))
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

/// A percentage with two decimals, exact (basis points): "70", 70, "17.5".
public struct Percent: Codable, Sendable, Equatable, Hashable, CustomStringConvertible {
    /// Hundredths of a percent: 7000 is 70 %.
    public var basisPoints: Int

    public init(basisPoints: Int) { self.basisPoints = basisPoints }

    /// Parses "70", "17.5", "70%" (0 to 100).
    public init?(_ text: String) {
        var t = text.trimmingCharacters(in: .whitespaces)
        if t.hasSuffix("%") { t.removeLast() }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = Int(parts[0]), whole >= 0 else { return nil }
        var frac = 0
        if parts.count == 2 {
            guard (1...2).contains(parts[1].count), let f = Int(parts[1]), f >= 0 else { return nil }
            frac = parts[1].count == 1 ? f * 10 : f
        }
        let bp = whole * 100 + frac
        guard bp <= 10_000 else { return nil }
        basisPoints = bp
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let i = try? c.decode(Int.self), let p = Percent("\(i)") { self = p; return }
        if let s = try? c.decode(String.self), let p = Percent(s) { self = p; return }
        throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a percentage from 0 to 100 with at most two decimals (e.g. 70 or \"17.5\")")
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }

    /// "70", "17.5", "0.25".
    public var description: String {
        let whole = basisPoints / 100, frac = basisPoints % 100
        if frac == 0 { return "\(whole)" }
        return frac % 10 == 0 ? "\(whole).\(frac / 10)" : "\(whole).\(frac < 10 ? "0" : "")\(frac)"
    }

    /// `amount` less this percentage, rounded half up to the nano-dollar.
    public func discounting(_ amount: Money) -> Money {
        CostSplit.scale(amount, by: Int128(10_000 - basisPoints), of: 10_000)
    }
}
