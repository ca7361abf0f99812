// swift-tools-version:6.1
// fargate-run: run Amazon ECS task definitions locally the way AWS Fargate does.
import PackageDescription

let package = Package(
    name: "fargate-run",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fargate-run", targets: ["fargate-run"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // The C: the in-namespace container init and thin syscall wrappers; libarchive's loader.
        .target(name: "CShim", path: "Sources/CShim"),
        .systemLibrary(name: "CSeccomp", path: "Sources/CSeccomp", pkgConfig: "libseccomp",
                       providers: [.apt(["libseccomp-dev"])]),
        // libarchive through pointers loaded on first use (needs libarchive-dev's headers).
        .target(name: "CArchive", path: "Sources/CArchive"),

        // Syscall errors with context, and small file helpers shared by the host-facing modules.
        .target(name: "LinuxSupport", path: "Sources/LinuxSupport"),
        // Task definitions in every shape users have (API JSON, YAML, CloudFormation, Terraform),
        // checked against the ECS API model and Fargate's rules.
        .target(name: "ECSModel", dependencies: [
            .product(name: "Yams", package: "Yams"),
        ], path: "Sources/ECSModel", exclude: ["Generator"]),
        .target(name: "Images", dependencies: [
            "CShim", "CArchive", "LinuxSupport",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/Images"),
        .target(name: "Sandbox", dependencies: [
            "CShim", "CSeccomp", "FargateInit", "FargateMonitor", "LinuxSupport",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/Sandbox"),
        .target(name: "TaskNetwork", dependencies: [
            "CShim", "LinuxSupport", "ECSModel",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/TaskNetwork"),
        // Billing, the ledger, usage samples, and the reports, advice and charts over them.
        .target(name: "Metering", dependencies: [
            "LinuxSupport", "ECSModel",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/Metering"),
        // What `fargate-run info` reports about the host: probes, problems and their fixes.
        .target(name: "HostInfo", dependencies: [
            "CShim", "CArchive", "LinuxSupport", "Sandbox", "TaskNetwork", "Metering",
        ], path: "Sources/HostInfo"),
        .target(name: "TaskRuntime", dependencies: [
            "ECSModel", "Images", "Sandbox", "TaskNetwork", "Metering", "LinuxSupport",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/TaskRuntime"),
        // A small HTTP/1.1 server on swift-nio for the host's APIs (a unix socket, TCP, or a
        // socket bound in a task's network namespace).
        .target(name: "HTTPServing", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], path: "Sources/HTTPServing"),
        // The task metadata endpoint (v2, v3, v4 with stats), task-role credentials and task
        // protection, served inside each task's network namespace at 169.254.170.2.
        .target(name: "TaskMetadata", dependencies: [
            "TaskRuntime", "HTTPServing", "Sandbox", "TaskNetwork", "ECSModel", "LinuxSupport", "CShim",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Sources/TaskMetadata"),
        // The long-running host (`fargate-run serve`): tasks that outlive the terminal, its API
        // and the CLI's client of it.
        .target(name: "TaskHost", dependencies: [
            "TaskRuntime", "HTTPServing", "ECSModel", "Images", "Metering", "Sandbox", "LinuxSupport",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/TaskHost"),
        // ECS services: the scheduler that keeps their tasks, deployments, the circuit breaker,
        // target health, discovery names.
        .target(name: "Services", dependencies: [
            "ECSModel",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/Services"),
        // The Amazon ECS API (JSON 1.1, SigV4) over the host's tasks, with its state in SQLite.
        .target(name: "ECSAPI", dependencies: [
            "TaskHost", "TaskRuntime", "TaskNetwork", "Services", "HTTPServing", "ECSModel", "LinuxSupport", "Sandbox",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/ECSAPI"),
        // C programs compiled by the plugin and embedded as bytes, run from sealed memfds: the
        // container init and pid-namespace holder (freestanding C), and the per-task monitor
        // that keeps a host's containers (conmon's role; with the container init of CShim).
        .plugin(name: "EmbedPlugin", capability: .buildTool(), path: "Sources/EmbedPlugin"),
        // The VERSION file's version and the git commit, as `BuildInfo` (rootfs-tools/build-info.sh).
        .plugin(name: "BuildInfoPlugin", capability: .buildTool(), path: "Sources/BuildInfoPlugin"),
        .target(name: "FargateInit", path: "Sources/FargateInit", exclude: ["init.c", "embed.sh"],
                plugins: ["EmbedPlugin"]),
        .target(name: "FargateMonitor", path: "Sources/FargateMonitor", exclude: ["monitor.c", "embed.sh", "embed-inputs"],
                plugins: ["EmbedPlugin"]),
        // --no-export-dynamic undoes the -export-dynamic that -static-stdlib links with: 40,000
        // exported symbols that the Swift runtime's backtracer makes dladdr() scan at every
        // start (0.45 ms of CPU; Docs/PERFORMANCE.md). Nothing looks our symbols up by name.
        .executableTarget(name: "fargate-run", dependencies: [
            "TaskRuntime", "TaskHost", "TaskMetadata", "ECSAPI", "Services", "HTTPServing", "ECSModel", "Images", "Metering", "TaskNetwork", "Sandbox", "LinuxSupport", "HostInfo",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/fargate-run", linkerSettings: [.unsafeFlags(["-Xlinker", "--no-export-dynamic"])],
        plugins: ["BuildInfoPlugin"]),
        // What usage sampling costs for N tasks (Benchmarks/usage-sampling.sh).
        .executableTarget(name: "usage-bench", dependencies: ["Metering", "Sandbox", "TaskRuntime"], path: "Benchmarks/UsageBench"),
        // Runs inside test containers and tries what a hostile workload would; static.
        .executableTarget(name: "fargate-probe", path: "Tests/Probe", linkerSettings: [.unsafeFlags(["-static-executable", "-Xlinker", "--gc-sections", "-Xlinker", "--strip-all"])]),

        // Helpers for every test target: prerequisites, the test image, temporary directories.
        .target(name: "TestSupport", dependencies: [
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], path: "Tests/TestSupport"),
        .testTarget(name: "ECSModelTests", dependencies: ["ECSModel", "TestSupport"], resources: [.copy("Resources")]),
        .testTarget(name: "ImagesTests", dependencies: ["Images", "CShim", "LinuxSupport", "TestSupport"]),
        .testTarget(name: "LinuxSupportTests", dependencies: ["LinuxSupport", "TestSupport"]),
        .testTarget(name: "SandboxTests", dependencies: ["Sandbox", "TestSupport"]),
        .testTarget(name: "TaskNetworkTests", dependencies: ["TaskNetwork", "CShim", "TestSupport"]),
        .testTarget(name: "MeteringTests", dependencies: ["Metering", "TestSupport"]),
        .testTarget(name: "TaskRuntimeTests", dependencies: ["TaskRuntime", "CShim", "TestSupport",
                                                          .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "HostInfoTests", dependencies: ["HostInfo", "LinuxSupport", "TestSupport"]),
        .testTarget(name: "ServicesTests", dependencies: ["Services", "ECSModel"]),
        .testTarget(name: "ECSAPITests", dependencies: ["ECSAPI", "ECSModel", "HTTPServing", "Services", "TaskNetwork", "TaskRuntime",
                                                      .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TaskHostTests", dependencies: ["TaskHost", "HTTPServing", "TaskRuntime", "TestSupport"]),
        .testTarget(name: "TaskMetadataTests", dependencies: ["TaskMetadata", "TaskRuntime", "HTTPServing", "Sandbox", "ECSModel", "TestSupport",
                                                           .product(name: "NIOPosix", package: "swift-nio")]),
        .testTarget(name: "CommandLineTests", dependencies: [
            "fargate-run", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Drives the built fargate-run binary as users do; depends on it so `swift test` builds it.
        .testTarget(name: "EndToEndTests", dependencies: ["TestSupport", "fargate-run", "fargate-probe"], exclude: ["ECSClients"]),
    ]
)
