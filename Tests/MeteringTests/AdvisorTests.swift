import ECSModel
import Foundation
@testable import Metering
import TestSupport
import Testing

struct AdvisorTests {
    /// `seconds` one-second samples of a task using `vcpu` and `mib` throughout.
    func sample(_ f: SamplerFixture, _ task: UsageTask, seconds: Int64, vcpu: Double, mib: UInt64, from t0: Int64 = 1000) throws {
        let source = FakeSource()
        let s = f.sampler(at: t0)
        var cpu: UInt64 = 0
        source.readings = [reading("", cpu: 0, mem: mib << 20), reading(task.containers[0].name, cpu: 0, mem: mib << 20)]
        try s.register(task, source: source, ledger: f.ledger)
        for t in (t0 + 1)...(t0 + seconds) {
            cpu += UInt64(vcpu * 1e9)
            source.readings = [reading("", cpu: cpu, mem: mib << 20), reading(task.containers[0].name, cpu: cpu, mem: mib << 20)]
            s.tickNow(at: t * 1000)
        }
        try s.finish(task.taskArn)
    }

    @Test func anIdleLargeTaskIsOverprovisionedAndGetsTheSmallestSize() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        let task = SamplerFixture.task(family: "idle", cpu: 1024, memory: 2048, start: 999)
        try sample(f, task, seconds: 600, vcpu: 0.002, mib: 6)
        try f.ledger.close(try BillableTask(family: "idle", revision: 1, cpu: 1024, memory: 2048, ephemeralStorageGiB: 20, architecture: "X86_64")
            .record(taskArn: task.taskArn, start: Date(timeIntervalSince1970: 999), end: Date(timeIntervalSince1970: 1600), prices: .usEast1, stopCode: nil))
        var options = Advisor.Options(minimumData: 300)
        options.now = Date(timeIntervalSince1970: 1600)
        let advice = try Advisor(ledger: f.ledger, prices: .usEast1, options: options)
        let r = try #require(advice.recommendations.first)
        #expect(r.name == "family:idle")
        #expect(r.finding == .Overprovisioned)
        #expect(r.reasons == [.CPUOverprovisioned, .MemoryOverprovisioned])
        #expect(r.recommended == .init(cpu: 256, memory: 512))
        #expect(r.sampledSeconds == 601)
        #expect(abs(r.cpu.p99 - 0.002) < 1e-6)
        // The run rate: one task all the time (601 s billed in a 601 s lookback), 730 h a month.
        let month = Billing.cost(seconds: 730 * 3600, cpuUnits: 1024, memoryMiB: 2048, rates: PriceTable.usEast1.platforms["linux/x86_64"]!,
                                 storageGBHour: PriceTable.usEast1.ephemeralStorageGBHour)
        let small = Billing.cost(seconds: 730 * 3600, cpuUnits: 256, memoryMiB: 512, rates: PriceTable.usEast1.platforms["linux/x86_64"]!,
                                 storageGBHour: PriceTable.usEast1.ephemeralStorageGBHour)
        #expect(r.monthlySavings == month - small)
        #expect(r.containers.map(\.containerName) == ["web"])
        #expect(r.containers[0].cpu == 32 && r.containers[0].memoryReservation == 16, "\(r.containers[0])")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(advice.json().utf8)) as? [String: Any])
        let first = try #require((json["recommendations"] as? [[String: Any]])?.first)
        #expect(first["finding"] as? String == "Overprovisioned")
        #expect(first["findingReasonCodes"] as? [String] == ["CPUOverprovisioned", "MemoryOverprovisioned"])
        #expect(advice.table().contains("Overprovisioned"))
    }

    @Test func aBusyTaskIsUnderprovisionedAndTooLittleDataGetsNoAdvice() throws {
        let f = try SamplerFixture()
        defer { f.dir.remove() }
        try sample(f, SamplerFixture.task(family: "busy", cpu: 256, memory: 512, start: 999), seconds: 120, vcpu: 0.25, mib: 450)
        try sample(f, SamplerFixture.task("arn:aws:ecs:us-east-1:0:task/c/ffff", family: "short", start: 999), seconds: 20, vcpu: 0.1, mib: 10)
        var options = Advisor.Options(minimumData: 60)
        options.now = Date(timeIntervalSince1970: 1200)
        let advice = try Advisor(ledger: f.ledger, prices: .usEast1, options: options)
        let busy = try #require(advice.recommendations.first { $0.family == "busy" })
        #expect(busy.finding == .Underprovisioned)
        #expect(busy.reasons == [.CPUUnderprovisioned, .MemoryUnderprovisioned])
        #expect(busy.recommended == .init(cpu: 512, memory: 1024), "0.25 vCPU ÷ 0.8 needs 512; 450 MiB ÷ 0.8 needs 1024")
        #expect(busy.performanceRisk == "High")
        let short = try #require(advice.recommendations.first { $0.family == "short" })
        #expect(short.finding == nil && short.recommended == nil)
        #expect(short.insufficientData?.contains("21 s of sampled task time; advice needs 60 s") == true, "\(short.insufficientData ?? "")")
    }

    @Test func sizesAndDurations() {
        #expect(Advisor.smallestSize(cpu: 1, memory: 1) == .init(cpu: 256, memory: 512))
        #expect(Advisor.smallestSize(cpu: 300, memory: 100) == .init(cpu: 512, memory: 1024))
        #expect(Advisor.smallestSize(cpu: 100, memory: 3000) == .init(cpu: 512, memory: 3072))
        #expect(Advisor.smallestSize(cpu: 20000, memory: 1) == nil)
        #expect(Advisor.parseDuration("90s") == 90 && Advisor.parseDuration("24h") == 86_400 && Advisor.parseDuration("14d") == 1_209_600)
        #expect(Advisor.parseDuration("soon") == nil)
    }
}
