import Metering
import Testing

struct BillingTests {
    let x86 = PriceTable.usEast1.platforms["linux/x86_64"]!
    let storage = PriceTable.usEast1.ephemeralStorageGBHour

    @Test func theWorkedExampleOfTheReference() {
        // 0.25 vCPU and 0.5 GB for 24 h = 24 × (0.25 × 0.04048 + 0.5 × 0.004445) = $0.29622
        let cost = Billing.cost(seconds: 24 * 3600, cpuUnits: 256, memoryMiB: 512, rates: x86, storageGBHour: storage)
        #expect(cost == Money(dollars: "0.29622"))
        #expect(cost.description == "$0.29622")
    }

    @Test func oneMinuteMinimum() {
        #expect(Billing.billedSeconds(startMicros: 0, endMicros: 0) == 60)
        #expect(Billing.billedSeconds(startMicros: 0, endMicros: 1) == 60)
        #expect(Billing.billedSeconds(startMicros: 0, endMicros: 59_999_999) == 60)
        #expect(Billing.billedSeconds(startMicros: 0, endMicros: 60_000_000) == 60)
    }

    @Test func roundsUpToTheNextWholeSecond() {
        #expect(Billing.billedSeconds(startMicros: 0, endMicros: 60_000_001) == 61)
        #expect(Billing.billedSeconds(startMicros: 1_000_000, endMicros: 91_500_000) == 91)
        #expect(Billing.billedSeconds(startMicros: 5, endMicros: 3_600_000_005) == 3600)
        #expect(Billing.billedSeconds(startMicros: 10, endMicros: 5) == 60, "a clock stepping back bills the minimum, never negative")
    }

    @Test func costIsExactAndRoundedOnceToTheNanoDollar() {
        // 60 s of 0.25 vCPU + 0.5 GB: 60 × 12,638,720,000 / 3,686,400 = 205,708.33… nano-dollars.
        let c = Billing.cost(seconds: 60, cpuUnits: 256, memoryMiB: 512, rates: x86, storageGBHour: storage)
        #expect(c.nanos == 205_708)
        // One hour of 1 vCPU + 2 GB is exactly 0.04048 + 2 × 0.004445.
        let h = Billing.cost(seconds: 3600, cpuUnits: 1024, memoryMiB: 2048, rates: x86, storageGBHour: storage)
        #expect(h == Money(dollars: "0.04937"))
        // Summing per-second costs of a day matches the day's cost within the rounding of each.
        var sum = Money.zero
        for _ in 0..<24 { sum = sum + Billing.cost(seconds: 3600, cpuUnits: 256, memoryMiB: 512, rates: x86, storageGBHour: storage) }
        #expect(sum == Money(dollars: "0.29622"))
    }

    @Test func ephemeralStorageAboveTwentyGBIsBilled() {
        let base = Billing.cost(seconds: 3600, cpuUnits: 256, memoryMiB: 512, ephemeralStorageGiB: 20, rates: x86, storageGBHour: storage)
        let more = Billing.cost(seconds: 3600, cpuUnits: 256, memoryMiB: 512, ephemeralStorageGiB: 30, rates: x86, storageGBHour: storage)
        #expect(more - base == Money(dollars: "0.00111"), "10 GB × $0.000111 per GB-hour")
    }

    @Test func armIsCheaper() {
        let arm = PriceTable.usEast1.platforms["linux/arm64"]!
        let a = Billing.cost(seconds: 3600, cpuUnits: 1024, memoryMiB: 2048, rates: arm, storageGBHour: storage)
        #expect(a == Money(dollars: "0.03950"))
    }

    @Test func largestTaskDoesNotOverflow() {
        // 16 vCPU, 120 GB for a year.
        let c = Billing.cost(seconds: 365 * 86400, cpuUnits: 16384, memoryMiB: 122_880, ephemeralStorageGiB: 200, rates: x86, storageGBHour: storage)
        #expect(c > Money(dollars: "10000")!)
        #expect(c < Money(dollars: "20000")!)
    }
}

struct MoneyTests {
    @Test func parsesDecimalDollarsExactly() {
        #expect(Money(dollars: "0.04048")?.nanos == 40_480_000)
        #expect(Money(dollars: "$1.5")?.nanos == 1_500_000_000)
        #expect(Money(dollars: "0.000000001")?.nanos == 1)
        #expect(Money(dollars: "0.0000000001") == nil, "more than nine decimals is not representable")
        #expect(Money(dollars: "-1") == nil)
        #expect(Money(dollars: "1.2.3") == nil)
        #expect(Money(dollars: "abc") == nil)
    }

    @Test func formatsWithoutFloatingPoint() {
        #expect(Money(nanos: 205_708).description == "$0.000205708")
        #expect(Money(nanos: 1_000_000_000).description == "$1.00")
        #expect(Money(nanos: 296_220_000).decimalString == "0.29622")
        #expect(Money(nanos: 0).description == "$0.00")
    }
}
