import CArchive

extension HostReport {
    /// Shared libraries fargate-run loads when it first needs them rather than at start, so
    /// that a missing one shows only then: probed here by loading them.
    public struct Libraries: Codable, Sendable, Equatable {
        /// libarchive, which reads every image layer.
        public var archiveLoads: Bool
        /// Why it does not: the loader's message.
        public var archiveError: String?

        public init(archiveError: String?) {
            archiveLoads = archiveError == nil
            self.archiveError = archiveError
        }

        public static func probe() -> Libraries {
            var message = [CChar](repeating: 0, count: 512)
            let failed = fr_archive_open_library(&message, message.count) != 0
            return Libraries(archiveError: failed ? String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : nil)
        }

        var problems: [Problem] {
            guard let archiveError else { return [] }
            return [Problem(.error, "\(archiveError): image layers cannot be unpacked", fix: "apt-get install libarchive13")]
        }
    }
}
