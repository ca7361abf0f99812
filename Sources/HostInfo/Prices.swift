import Metering

extension HostReport {
    /// The Fargate prices tasks are billed at (`PriceTable`).
    public struct Prices: Codable, Sendable, Equatable {
        public struct Platform: Codable, Sendable, Equatable {
            /// "linux/x86_64", "linux/arm64", ...
            public var name: String
            public var vcpuHour: Money
            public var gbHour: Money
        }

        public var region: String
        /// The price file given (`--prices`); nil for the built-in table.
        public var file: String?
        /// Where the numbers come from, as the table says.
        public var source: String?
        public var platforms: [Platform]
        /// Per GB-hour of ephemeral storage above the free 20 GB.
        public var ephemeralStorageGBHour: Money

        public init(_ table: PriceTable, file: String?) {
            region = table.region
            self.file = file
            source = table.source
            platforms = table.platforms.keys.sorted().map { Platform(name: $0, vcpuHour: table.platforms[$0]!.vcpuHour, gbHour: table.platforms[$0]!.gbHour) }
            // Fargate Spot tasks are billed at rates derived from the discount when the file
            // has no Spot row: shown, so the rates a Spot task gets are on the page too.
            if table.platforms[PriceTable.spotPlatform] == nil, let spot = try? table.spotRates() {
                platforms.append(Platform(name: PriceTable.spotPlatform, vcpuHour: spot.vcpuHour, gbHour: spot.gbHour))
            }
            ephemeralStorageGBHour = table.ephemeralStorageGBHour
        }
    }
}
