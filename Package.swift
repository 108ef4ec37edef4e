// swift-tools-version: 6.1
import PackageDescription

// Versions are the ones on this machine's package mirror (/opt/swift-packages).
let package = Package(
    name: "Fleetscope",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "collector", targets: ["CollectorCLI"]),
        .executable(name: "edge-scraper", targets: ["EdgeScraperCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
    ],
    targets: [
        // C libraries from Debian (libsnappy-dev, libprotobuf-c-dev).
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        // protoc-c output for proto/remote.proto, generated once and committed (see proto/README.md).
        .target(name: "RemoteWireC", dependencies: ["CProtobufC"]),
        // RE2 (libre2-dev) behind a small C shim: every user-supplied regex is matched in linear time
        // with Prometheus' syntax. The archive is linked in, so the binaries need no libre2 at run time.
        .target(name: "CRE2", linkerSettings: [
            .unsafeFlags(["-Xlinker", "-l:libre2.a"], .when(platforms: [.linux])),
            .linkedLibrary("re2", .when(platforms: [.macOS])),
        ]),

        // The wire: remote-write 1.0 WriteRequest encode/decode and snappy block format.
        .target(name: "RemoteWrite", dependencies: ["CSnappy", "RemoteWireC", "Storage"]),
        // Shared vocabulary between storage and query: labels, matchers, samples, the Querier protocol.
        .target(name: "Storage", dependencies: ["CRE2"]),
        .target(name: "CRC32CHW"),
        // Durable local files for the TSDB WAL and the edge queue: CRC-32C, POSIX file helpers,
        // the segmented group-commit log. No Foundation (the edge scraper's memory budget).
        .target(name: "DurableIO", dependencies: ["CRC32CHW"], exclude: ["README.md"]),
        .target(name: "TSDB", dependencies: ["Storage", "DurableIO", .product(name: "Logging", package: "swift-log")], exclude: ["README.md"]),
        .target(name: "PromQL", dependencies: ["Storage"]),
        .target(name: "Dashboard", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
        ]),
        .target(name: "Collector", dependencies: [
            "RemoteWrite", "Storage", "TSDB", "PromQL", "Dashboard", "DurableIO",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            // NIOThreadPool: bcrypt runs on threads of its own, not the cooperative pool.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // HTTPS and client certificates on the listener (the same BoringSSL the edge scraper uses).
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
        ]),
        // The edge agent stays off Foundation, Yams and AsyncHTTPClient to fit its 14 MiB budget:
        // NIO for HTTP, its own small YAML reader.
        .target(name: "EdgeScraper", dependencies: [
            "RemoteWrite", "DurableIO",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            // https for remote_write and scrapes (BoringSSL; its pages load only when TLS is used).
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], exclude: ["Delivery/README.md"]),
        .executableTarget(name: "CollectorCLI", dependencies: [
            "Collector",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // The Swift runtime linked statically: only the pages it touches are resident, instead of
        // whole shared libraries (idle RSS 19.5 MiB → see docs/benchmarks.md, Edge).
        .executableTarget(name: "EdgeScraperCLI", dependencies: [
            "EdgeScraper",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationCollections"])]),

        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "RemoteWriteTests", dependencies: ["RemoteWrite", "RemoteWireC"]),
        .testTarget(name: "DurableIOTests", dependencies: ["DurableIO"]),
        .testTarget(name: "TSDBTests", dependencies: ["TSDB", "Storage", "DurableIO"]),
        .testTarget(name: "PromQLTests", dependencies: ["PromQL", "Storage", "RemoteWrite"]),
        .testTarget(name: "CollectorTests", dependencies: ["Collector", "RemoteWrite", "TSDB",
                                                           .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard"]),
        .testTarget(name: "EdgeScraperTests", dependencies: ["EdgeScraper", "RemoteWrite", "Storage", "DurableIO"]),
        // Starts real processes (collector, prometheus, vmagent, node_exporter); each test kills what it starts.
        .testTarget(name: "EndToEndTests", dependencies: ["RemoteWrite", "Storage"]),
    ]
)
