import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
@testable import Metering
import TestSupport
import Testing

/// CUR 2.0's columns (AWS Data Exports, table COST_AND_USAGE_REPORT: the identity, bill,
/// line_item, pricing, product, resource_tags and split_line_item columns), as AWS's table
/// dictionary lists them.
let cur2Columns: Set<String> = [
    "identity_line_item_id", "identity_time_interval",
    "bill_bill_type", "bill_billing_entity", "bill_billing_period_end_date", "bill_billing_period_start_date", "bill_invoice_id",
    "bill_invoicing_entity", "bill_payer_account_id", "bill_payer_account_name",
    "line_item_availability_zone", "line_item_blended_cost", "line_item_blended_rate", "line_item_currency_code",
    "line_item_legal_entity", "line_item_line_item_description", "line_item_line_item_type", "line_item_net_unblended_cost",
    "line_item_net_unblended_rate", "line_item_normalization_factor", "line_item_normalized_usage_amount", "line_item_operation",
    "line_item_product_code", "line_item_resource_id", "line_item_tax_type", "line_item_unblended_cost", "line_item_unblended_rate",
    "line_item_usage_account_id", "line_item_usage_account_name", "line_item_usage_amount", "line_item_usage_end_date",
    "line_item_usage_start_date", "line_item_usage_type",
    "pricing_currency", "pricing_lease_contract_length", "pricing_offering_class", "pricing_public_on_demand_cost",
    "pricing_public_on_demand_rate", "pricing_purchase_option", "pricing_rate_code", "pricing_rate_id", "pricing_term", "pricing_unit",
    "product", "product_comment", "product_fee_code", "product_fee_description", "product_from_location", "product_from_location_type",
    "product_from_region_code", "product_instance_family", "product_instance_type", "product_instancesku", "product_location",
    "product_location_type", "product_operation", "product_pricing_unit", "product_product_family", "product_region_code",
    "product_servicecode", "product_sku", "product_to_location", "product_to_location_type", "product_to_region_code", "product_usagetype",
    "resource_tags",
    "split_line_item_actual_usage", "split_line_item_net_split_cost", "split_line_item_net_unused_cost",
    "split_line_item_parent_resource_id", "split_line_item_public_on_demand_split_cost", "split_line_item_public_on_demand_unused_cost",
    "split_line_item_reserved_usage", "split_line_item_split_cost", "split_line_item_split_usage", "split_line_item_split_usage_ratio",
    "split_line_item_unused_cost",
]

/// A CSV line's fields (quotes as RFC 4180 has them).
func csvFields(_ line: Substring) -> [String] {
    var out: [String] = [], field = "", quoted = false
    let chars = Array(line)
    var i = 0
    while i < chars.count {
        let c = chars[i]
        if quoted {
            if c == "\"" {
                if i + 1 < chars.count, chars[i + 1] == "\"" { field.append("\""); i += 1 } else { quoted = false }
            } else {
                field.append(c)
            }
        } else if c == "\"" {
            quoted = true
        } else if c == "," {
            out.append(field)
            field = ""
        } else {
            field.append(c)
        }
        i += 1
    }
    return out + [field]
}

/// Counts `<g class="series">` in an SVG, parsed as XML.
final class SeriesCounter: NSObject, XMLParserDelegate {
    var series: [String] = []
    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "g", attributes["class"] == "series" { series.append(attributes["data-series"] ?? "") }
    }
}

func parseSVG(_ svg: String) -> (ok: Bool, series: [String]) {
    let parser = XMLParser(data: Data(svg.utf8))
    let counter = SeriesCounter()
    parser.delegate = counter
    return (parser.parse(), counter.series)
}

struct ReportFormatTests {
    @Test func curLineItemsHaveCURColumnsAndUsageTypes() throws {
        let x86 = billed(1, start: 1_765_000_800_000_000, seconds: 5400, cpu: 512, memory: 1024, storage: 30, tags: ["team": "pay"])
        let arm = billed(2, start: 1_765_000_800_000_000, seconds: 600, architecture: "ARM64")
        let allocation = try CostAllocation(records: [x86, arm], usage: [:], query: CURExport.query(since: nil, until: nil, family: nil),
                                            prices: .usEast1)
        let lines = CostReport(allocation: allocation, prices: .usEast1).render(.cur).split(separator: "\n")
        let header = lines[0].split(separator: ",").map(String.init)
        #expect(header == CURExport.columns)
        #expect(Set(header).isSubset(of: cur2Columns), "not CUR 2.0 columns: \(Set(header).subtracting(cur2Columns))")
        let items = lines.dropFirst().map { Dictionary(uniqueKeysWithValues: zip(header, csvFields($0))) }
        // 90 minutes from 06:00 span two hours: vCPU, GB and storage lines in each; ARM 10 minutes: vCPU and GB.
        #expect(items.count == 3 * 2 + 2)
        let types = Set(items.map { $0["line_item_usage_type"]! })
        #expect(types == ["USE1-Fargate-vCPU-Hours:perCPU", "USE1-Fargate-GB-Hours", "USE1-Fargate-EphemeralStorage-GB-Hours",
                          "USE1-Fargate-ARM-vCPU-Hours:perCPU", "USE1-Fargate-ARM-GB-Hours"])
        let total = items.reduce(Money.zero) { $0 + Money(dollars: $1["line_item_unblended_cost"]!)! }
        #expect(total == x86.cost + arm.cost, "line items add up to the bills")
        let vcpu = items.filter { $0["line_item_resource_id"] == x86.taskArn && $0["line_item_usage_type"] == "USE1-Fargate-vCPU-Hours:perCPU" }
        #expect(vcpu.map { $0["line_item_usage_amount"]! }.compactMap(Double.init).reduce(0, +) == 0.75, "0.5 vCPU × 1.5 h")
        #expect(vcpu.allSatisfy { $0["split_line_item_reserved_usage"] == $0["line_item_usage_amount"] && $0["split_line_item_actual_usage"] == "" })
        #expect(vcpu.first?["resource_tags"] == #"{"user_team":"pay"}"#)
        #expect(vcpu.first?["identity_time_interval"] == "2025-12-06T06:00:00Z/2025-12-06T07:00:00Z")
        #expect(CURExport.usageType(region: "eu-west-1", architecture: "X86_64", resource: .memory) == "EU-Fargate-GB-Hours")
    }

    @Test func theCostChartIsXMLWithOneSeriesPerGroup() throws {
        let records = (0..<12).map { n in
            billed(n, family: ["api", "worker", "batch"][n % 3], start: 1_765_000_000_000_000 + Int64(n) * 3_000_000_000, seconds: 7200)
        }
        let query = CostAllocation.chartQuery(.init(groupBy: [.family]), spanning: 50_000)
        let chart = try CostAllocation(records: records, usage: [:], query: query, prices: .usEast1).costChart()
        let (ok, series) = parseSVG(chart)
        #expect(ok)
        #expect(series.sorted() == ["api", "batch", "worker"])
        #expect(chart.contains("USD per hour") && chart.contains("Cost per hour by family"))
        // A name needing escapes stays XML.
        let odd = [billed(1, family: "a<b>&\"c\"", start: 0, seconds: 60)]
        let oddChart = try CostAllocation(records: odd, usage: [:], query: CostAllocation.chartQuery(.init(groupBy: [.family]), spanning: 60),
                                          prices: .usEast1).costChart()
        #expect(parseSVG(oddChart) == (true, ["a<b>&\"c\""]))
    }

    @Test func theUsageChartIsXMLWithOneSeriesPerContainerAndPanel() throws {
        let task = SamplerFixture.task(containers: ["web", "sidecar"])
        let samples = (1...30).flatMap { t in
            ["", "web", "sidecar"].map { UsageSample(container: $0, time: 1000 + Int64(t), spanMillis: 1000, cpuNanos: 100_000_000, memoryBytes: 5 << 20) }
        }
        let svg = UsageReport(task: task, samples: samples, record: nil).svg()
        let (ok, series) = parseSVG(svg)
        #expect(ok)
        #expect(series == ["(task)", "web", "sidecar", "(task)", "web", "sidecar"], "CPU, then memory")
        #expect(svg.contains("task cpu 0.25 vCPU") && svg.contains("task memory 512 MiB"))
    }

    @Test func badInputIsNamed() throws {
        #expect(throws: ReportError.self) { try GroupKey.parseList("family,colour") }
        do { _ = try GroupKey.parseList("family,colour") } catch {
            #expect("\(error)" == #"--group-by "colour" is not a key: use family, revision, service, cluster, started-by, group, day, hour, tag:KEY"#)
        }
        #expect(try GroupKey.parseList("family, tag:team,day") == [.family, .tag("team"), .day])
        let later = Date(timeIntervalSince1970: 2_000_000_000), earlier = Date(timeIntervalSince1970: 1_000_000_000)
        #expect(throws: ReportError.self) { try CostAllocation.Query(since: later, until: earlier).validate() }
        do { try CostAllocation.Query(since: later, until: earlier).validate() } catch {
            #expect("\(error)".contains("--since 2033-05-18T03:33:20Z is not before --until 2001-09-09T01:46:40Z"))
        }
        do { try CostAllocation.Query(groupBy: [.family, .day, .family]).validate(); Issue.record("a key twice was accepted") } catch {
            #expect("\(error)" == "--group-by names family twice")
        }
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let cases = [
            (#"{"region": "x", "platforms": {"linux/x86_64": {"vcpuHour": "0.04"}}, "ephemeralStorageGBHour": "0"}"#, #""gbHour" is missing at platforms.linux/x86_64"#),
            (#"{"region": "x", "platforms": {"linux/x86_64": {"vcpuHour": "cheap", "gbHour": "1"}}, "ephemeralStorageGBHour": "0"}"#, "platforms.linux/x86_64.vcpuHour: not a dollar amount: cheap"),
            (#"{"region": "x", "platforms": {}, "ephemeralStorageGBHour": "0", "spotDiscountPercent": 170}"#, "spotDiscountPercent: not a percentage"),
            ("region: x", "invalid JSON at line 1, column 1: unexpected 'r'"),
            ("{\n  \"region\": x}", "invalid JSON at line 2, column 13: unexpected 'x'"),
            (#"{"region": "x", "platforms": {"linux/x86_64": {"vcpuHour": 0.04, "gbHour": "1"}}, "ephemeralStorageGBHour": "0"}"#,
             #"platforms.linux/x86_64.vcpuHour: not a string (a dollar amount is written as one, e.g. "0.04048")"#),
            (#"{"region": "x", "platforms": {"linux/x86_64": {"vcpuHour": "0.04", "gbHour": "1", "cpuHour": "1"}}, "ephemeralStorageGBHour": "0"}"#,
             #"unknown member "cpuHour" at platforms.linux/x86_64 (it takes vcpuHour, gbHour"#),
            (#"{"region": "x", "platforms": {}, "ephemeralStorageGBHour": "0", "spotDiscountPercnt": 70}"#,
             #"unknown member "spotDiscountPercnt" at the top level"#),
        ]
        do { _ = try PriceTable.load(dir.path + "/none.json"); Issue.record("a missing file was read") } catch {
            #expect("\(error)" == "cannot read price file \(dir.path)/none.json: No such file or directory")
        }
        for (text, message) in cases {
            try text.write(toFile: dir.path + "/p.json", atomically: false, encoding: .utf8)
            do {
                _ = try PriceTable.load(dir.path + "/p.json")
                Issue.record("\(text) was accepted")
            } catch {
                #expect("\(error)".hasPrefix("price file \(dir.path)/p.json: "), "\(error)")
                #expect("\(error)".contains(message), "\(error)")
            }
        }
    }

    @Test func groupedTableCSVAndJSONAgreeWithTheirTotals() throws {
        let records = (0..<9).map { billed($0, family: ["api", "worker"][$0 % 2], start: 1_765_000_000_000_000, seconds: 100 + Int64($0) * 977) }
        let a = try CostAllocation(records: records, usage: [:], query: .init(groupBy: [.family], priceAs: [.arm64]), prices: .usEast1)
        let report = CostReport(allocation: a, prices: .usEast1)
        let csv = report.render(.csv).split(separator: "\n")
        #expect(csv[0].hasPrefix("family,tasks,billed_seconds,cost_usd,cpu_cost_usd"))
        #expect(csv[0].hasSuffix(",cost_as_arm64_usd"))
        let sum = csv.dropFirst().map { Money(dollars: csvFields($0)[3])! }.reduce(Money.zero, +)
        #expect(sum == records.reduce(Money.zero) { $0 + $1.cost })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(report.render(.json).utf8)) as? [String: Any])
        #expect(json["totalCost"] as? String == sum.decimalString)
        #expect((json["rows"] as? [[String: Any]])?.count == 2)
        let table = report.render(.table)
        #expect(table.contains("TOTAL") && table.contains(sum.description) && table.contains("AS ARM64") && table.contains("█"))
    }

    @Test func sparklinesAndBars() {
        #expect(TextChart.sparkline([0, 0.125, 0.25, 0.5, 1], ceiling: 1, width: 5) == "▁▂▃▅█")
        #expect(TextChart.sparkline(Array(repeating: 0, count: 100) + [1], ceiling: 1, width: 10).last == "█", "a spike stays")
        #expect(TextChart.bar(1, of: 2, width: 4) == "██")
        #expect(TextChart.bar(0, of: 2) == "")
    }
}
