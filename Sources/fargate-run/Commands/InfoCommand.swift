import ArgumentParser
import HostInfo
import Metering
import TaskRuntime

struct Info: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Show what this machine offers fargate-run, and how to fix what it lacks.",
        discussion: """
            Kernel, cgroup layout and driver, overlayfs, openat2, pidfd and clone3, the firewall, CNI \
            plugins, the default network, the state root's filesystem and free space, and the prices in \
            use. Every missing prerequisite is listed with the command that fixes it. Exit status 1 when \
            one of them stops tasks from running.
            """)

    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "text or json.")
    var format: InfoFormat = .text

    @Option(name: .long, help: "A price file (JSON, see Docs/METERING.md) to show instead of the built-in us-east-1 prices.")
    var prices: String?

    @Option(name: .long, help: "The cgroup tasks would be made beneath, as run's --cgroup-parent.")
    var cgroupParent: String?

    enum InfoFormat: String, ExpressibleByArgument, CaseIterable { case text, json }

    func run() async throws {
        global.bootstrapLogging()
        let table = try prices.map(PriceTable.load) ?? .usEast1
        let probe = HostProbe(build: .init(version: BuildInfo.version, commit: BuildInfo.commitDescription),
                              stateRoot: StateRoot.resolve(global.root), cgroupParent: cgroupParent, prices: table, priceFile: prices)
        let report = probe.report()
        writeOut(1, format == .json ? try report.json() : report.text)
        if report.hasErrors { throw ExitCode(1) }
    }
}
