/// Fargate task sizes: cpu units (1024 = 1 vCPU) and memory in MiB, and the allowed pairs.
public struct FargateSize: Hashable, Sendable, Codable, CustomStringConvertible {
    public var cpu: Int
    public var memory: Int

    public init(cpu: Int, memory: Int) {
        self.cpu = cpu
        self.memory = memory
    }

    /// Memory values (MiB) Fargate allows for each cpu value.
    public static let allowed: [(cpu: Int, memory: [Int])] = [
        (256, [512, 1024, 2048]),
        (512, Array(stride(from: 1024, through: 4096, by: 1024))),
        (1024, Array(stride(from: 2048, through: 8192, by: 1024))),
        (2048, Array(stride(from: 4096, through: 16384, by: 1024))),
        (4096, Array(stride(from: 8192, through: 30720, by: 1024))),
        (8192, Array(stride(from: 16384, through: 61440, by: 4096))),
        (16384, Array(stride(from: 32768, through: 122880, by: 8192))),
    ]

    public var isAllowed: Bool {
        FargateSize.allowed.contains { $0.cpu == cpu && $0.memory.contains(memory) }
    }

    /// "0.25 vCPU, 0.5 GB"
    public var description: String { "\(FargateSize.trim(Double(cpu) / 1024)) vCPU, \(FargateSize.trim(Double(memory) / 1024)) GB" }

    static func trim(_ v: Double) -> String {
        var s = String(v)
        if s.hasSuffix(".0") { s.removeLast(2) }
        return s
    }

    /// Human description of what memory a cpu value allows, for error messages.
    public static func memoryChoices(forCPU cpu: Int) -> String? {
        guard let row = allowed.first(where: { $0.cpu == cpu }) else { return nil }
        let m = row.memory
        if m.count <= 3 { return m.map(String.init).joined(separator: ", ") + " MiB" }
        return "\(m.first!) to \(m.last!) MiB in steps of \(m[1] - m[0])"
    }

    /// Parses a task cpu value: "256", "1024", "1 vCPU", "0.25 vcpu", ".5 vCPU".
    public static func parseCPU(_ s: String) -> Int? {
        let t = s.trimmingWhitespace().lowercased()
        if let v = Int(t), v > 0 { return v }
        guard t.hasSuffix("vcpu") else { return nil }
        let num = String(t.dropLast(4)).trimmingWhitespace()
        guard let units = scaled(num, by: 1024) else { return nil }
        return units
    }

    /// Parses a task memory value in MiB: "512", "2GB", "2 GB", "0.5 gb", "1024 MiB".
    public static func parseMemory(_ s: String) -> Int? {
        let t = s.trimmingWhitespace().lowercased()
        if let v = Int(t), v > 0 { return v }
        if t.hasSuffix("gb") { return scaled(String(t.dropLast(2)).trimmingWhitespace(), by: 1024) }
        if t.hasSuffix("mib") { return Int(String(t.dropLast(3)).trimmingWhitespace()).flatMap { $0 > 0 ? $0 : nil } }
        if t.hasSuffix("mb") { return Int(String(t.dropLast(2)).trimmingWhitespace()).flatMap { $0 > 0 ? $0 : nil } }
        return nil
    }

    /// An exact decimal ("0.25") times `factor`, when the product is a positive whole number.
    static func scaled(_ num: String, by factor: Int) -> Int? {
        let parts = num.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ $0.allSatisfy(\.isASCII) }) else { return nil }
        let whole = parts[0].isEmpty ? 0 : Int(parts[0])
        // Checked arithmetic: "99999999999999999 vCPU" is an error, not a crash.
        guard let whole, whole >= 0 else { return nil }
        let (product, overflow) = whole.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        var total = product
        if parts.count == 2 {
            let f = parts[1]
            guard !f.isEmpty, f.count <= 6, let fv = Int(f) else { return nil }
            var denom = 1
            for _ in 0..<f.count { denom *= 10 }
            guard (fv * factor) % denom == 0 else { return nil }
            total += fv * factor / denom
        }
        return total > 0 ? total : nil
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
