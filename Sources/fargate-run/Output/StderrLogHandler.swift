import ECSModel
import Foundation
import Logging

/// One structured line per message on stderr: time, level, label, message, then key=value
/// metadata, so logs can be read by people and grepped or parsed by tools.
struct StderrLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .warning
    var metadata: Logger.Metadata = [:]

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let m = event.metadata { all.merge(m) { $1 } }
        let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\(StderrLogHandler.quote("\($0.value)"))" }
        let line = ([ECS.Timestamp.format(Date()), event.level.rawValue, label + ":", "\(event.message)"] + fields).joined(separator: " ") + "\n"
        writeOut(2, line)
    }

    static func quote(_ s: String) -> String {
        s.contains(where: { $0 == " " || $0 == "\"" || $0 == "=" }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\\\"") + "\"" : s
    }
}
