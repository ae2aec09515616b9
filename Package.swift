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
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // RE2 behind a plain C API (linear-time matching for cmdline patterns and globs). Linked
        // statically (libre2-dev's libre2.a): RE2's soname differs between Debian releases
        // (libre2-9 in 12, libre2-11 in 13), so one package serves both only without it.
        .target(name: "CRE2", linkerSettings: [.linkedLibrary(":libre2.a")]),
        // The policy language: the model, its TOML parser with source positions and limits, the
        // patterns (RE2, globs). Pure; needs nothing of the stages that use a policy.
        .target(
            name: "FairsharePolicy",
            dependencies: ["CRE2", "CTOMLShim"]
        ),
        // Pure core, one folder per stage: Kernel (formats, files, values), Observe, Decide, Report,
        // Control (the socket's protocol). No I/O. Re-exports FairsharePolicy.
        .target(
            name: "FairshareCore",
            dependencies: ["FairsharePolicy"]
        ),
        // toml++ (Debian's libtomlplusplus-dev, header-only) behind a C API that frees what it
        // allocates; FairshareCore.TOMLDocument copies the parse into Swift values.
        .target(
            name: "CTOMLShim",
            cxxSettings: [.unsafeFlags(["-fexceptions"])]
        ),
        // The edge's ports: cgroup files, processes, units, notifier, journal sink, clock, origin
        // store. Protocols and plain data only; links no libsystemd.
        .target(
            name: "FairshareEdge",
            dependencies: ["FairshareCore", .product(name: "Logging", package: "swift-log")]
        ),
        // The kernel adapters: cgroup v2 files and /proc.
        .target(
            name: "FairshareLinux",
            dependencies: [
                "FairshareCore",
                "FairshareEdge",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]
        ),
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        // The systemd adapters: sd_journal_sendv, sd_notify, units through systemd's D-Bus API.
        .target(
            name: "FairshareSystemd",
            dependencies: [
                "CSystemd",
                "FairshareCore",
                "FairshareEdge",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The agent: observe -> decide -> act -> report, the control socket. Talks to the edges
        // through FairshareEdge's ports only (CgroupTree is written over the cgroup-file port).
        .target(
            name: "FairshareAgent",
            dependencies: [
                "FairshareCore",
                "FairshareEdge",
                "FairshareLinux",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .executableTarget(
            name: "fairshare",
            dependencies: [
                "FairshareAgent",
                "FairshareSystemd",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: figures for the agent's per-pass cost.
        .executableTarget(name: "fairshare-bench", dependencies: ["FairshareCore", "FairshareEdge", "FairshareLinux", "FairshareAgent", "FairshareTestSupport", "CSlowClients"]),
        // `make bench-fairness`: the redistribution and fairness scenarios, simulator column.
        .executableTarget(name: "fairshare-fairness-bench", dependencies: ["FairshareCore", "FairshareTestSupport"]),
        // `make fuzz`: seeded inputs for the policy front end, batches in child processes.
        .executableTarget(name: "fairshare-fuzz", dependencies: ["FairshareCore", "FairshareEdge", "FairshareLinux", "FairshareAgent", "FairshareTestSupport"]),
        // Fakes for the edges: an in-memory kernel (cgroups + processes) with errno injection,
        // a clock, a notifier and a journal that record what they were given.
        .target(
            name: "FairshareTestSupport",
            dependencies: ["FairshareCore", "FairshareEdge", "FairshareLinux", "CSlowClients", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(name: "FairsharePolicyTests", dependencies: ["FairsharePolicy", "FairshareTestSupport"]),
        .testTarget(name: "FairshareCoreTests", dependencies: ["FairshareCore", "FairshareTestSupport"]),
        .testTarget(name: "FairshareSimulationTests", dependencies: ["FairshareCore", "FairshareTestSupport"]),
        .testTarget(
            name: "FairshareLinuxTests",
            dependencies: ["FairshareLinux", "FairshareTestSupport", .product(name: "NIOConcurrencyHelpers", package: "swift-nio")]
        ),
        .testTarget(name: "FairshareSystemdTests", dependencies: ["FairshareSystemd", "FairshareEdge"]),
        // Slow unix-socket clients in C (forked, setuid to another user): the control socket's
        // abuse in tests and `fairshare-bench socket`; Tests/vm/slowclients.c is its CLI.
        .target(name: "CSlowClients"),
        .testTarget(
            name: "FairshareAgentTests",
            dependencies: ["FairshareAgent", "FairshareTestSupport", "CSlowClients"]
        ),
    ],
    cxxLanguageStandard: .cxx17
)
