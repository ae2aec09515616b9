// swift-tools-version:6.2
import PackageDescription

let package = Package(
    name: "fairshare",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fairshare", targets: ["fairshare"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
    ],
    targets: [
        // Pure core: policy, classification, weights, stat parsers, status model. No I/O.
        .target(
            name: "FairshareCore",
            dependencies: [.product(name: "TOMLKit", package: "TOMLKit")]
        ),
        // The kernel edge: cgroup v2 files and /proc, behind small protocols.
        .target(
            name: "FairshareLinux",
            dependencies: [
                "FairshareCore",
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // The journal (as a swift-log handler), sd_notify, and units through systemd's D-Bus API.
        .target(
            name: "FairshareSystemd",
            dependencies: [
                "CSystemd",
                "FairshareCore",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The agent: observe -> decide -> act -> report, the control socket, the lifecycle.
        .target(
            name: "FairshareAgent",
            dependencies: [
                "FairshareCore",
                "FairshareLinux",
                "FairshareSystemd",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(
            name: "fairshare",
            dependencies: [
                "FairshareAgent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: figures for the agent's per-pass cost.
        .executableTarget(name: "fairshare-bench", dependencies: ["FairshareCore", "FairshareLinux", "FairshareAgent", "FairshareTestSupport"]),
        // `make bench-fairness`: the redistribution and fairness scenarios, simulator column.
        .executableTarget(name: "fairshare-fairness-bench", dependencies: ["FairshareCore", "FairshareTestSupport"]),
        // `make fuzz`: seeded inputs for the policy front end, batches in child processes.
        .executableTarget(name: "fairshare-fuzz", dependencies: ["FairshareCore", "FairshareLinux", "FairshareAgent", "FairshareTestSupport"]),
        // Fakes for the edges: an in-memory kernel (cgroups + processes) with errno injection,
        // a clock, a notifier and a journal that record what they were given.
        .target(
            name: "FairshareTestSupport",
            dependencies: ["FairshareCore", "FairshareLinux", "FairshareSystemd", "FairshareAgent"]
        ),
        .testTarget(name: "FairshareCoreTests", dependencies: ["FairshareCore"]),
        .testTarget(name: "FairshareSimulationTests", dependencies: ["FairshareCore", "FairshareTestSupport"]),
        .testTarget(name: "FairshareLinuxTests", dependencies: ["FairshareLinux", "FairshareTestSupport"]),
        .testTarget(name: "FairshareSystemdTests", dependencies: ["FairshareSystemd"]),
        .testTarget(
            name: "FairshareAgentTests",
            dependencies: ["FairshareAgent", "FairshareTestSupport"]
        ),
    ]
)
