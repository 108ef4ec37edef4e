// swift-tools-version: 6.1
import PackageDescription

/// How edge-scraper is linked on Linux, for the resident memory of 125,000 edge agents (docs/benchmarks.md,
/// "Edge agent, issue 15"): with lld, the functions the agent runs laid out together (the order file,
/// made by bench/edge/order-file.sh), identical functions folded, and no dynamic symbol table of every
/// Swift symbol (-static-stdlib exports them all; nothing looks them up). It stays a position-
/// independent executable although non-PIE saved ~1.7 MiB more (no relocation table read at start):
/// the agent parses untrusted scrape bodies with C code linked in (snappy, libyaml, RE2, BoringSSL),
/// and address randomisation of that code is worth more than the megabytes. Its relocations are
/// packed (DT_RELR: 1.4 MB of RELA entries → 12 KB, ~2.5 MiB less resident): lld records a need
/// for GLIBC_ABI_DT_RELR, so a glibc older than 2.36 refuses to start it with that message instead
/// of running it unrelocated (the images carry the build host's glibc, Debian bookworm's 2.36).
let edgeScraperSources: String = String(#filePath.dropLast("Package.swift".count)) + "Sources/EdgeScraperCLI/"
let edgeScraperLinkFlags: [String] = ["-use-ld=lld"] + [
    "--icf=all", "--no-export-dynamic", "-z", "pack-relative-relocs",
    "--symbol-ordering-file=" + edgeScraperSources + "edge-scraper.order",
    "--no-warn-symbol-ordering",
].flatMap { ["-Xlinker", $0] }

// Versions are the ones on this machine's package mirror (/opt/swift-packages).
let package = Package(
    name: "Fleetscope",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "collector", targets: ["CollectorCLI"]),
        .executable(name: "edge-scraper", targets: ["EdgeScraperCLI"]),
        // For bench/ (fleetbench): the wire, storage and query engine without the server stack.
        .library(name: "FleetscopeBenchSupport", targets: ["RemoteWrite", "Storage", "TSDB", "PromQL"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // C libraries from Debian (libsnappy-dev, libprotobuf-c-dev). Snappy's archive is linked in
        // by RemoteWrite (below), so the binaries need no libsnappy at run time.
        .systemLibrary(name: "CSnappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        // zlib (zlib1g-dev): gzip for API answers when the client accepts it, as Prometheus does.
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // protoc-c output for proto/remote.proto, generated once and committed (see proto/README.md).
        // The reference decoder the tests compare WireDecoder against: only test targets use it,
        // so the shipped binaries do not link protobuf-c.
        .target(name: "RemoteWireC", dependencies: ["CProtobufC"]),
        // RE2 (libre2-dev) behind a small C shim: every user-supplied regex is matched in linear time
        // with Prometheus' syntax. The archive is linked in, so the binaries need no libre2 at run time.
        .target(name: "CRE2", linkerSettings: [
            .unsafeFlags(["-Xlinker", "-l:libre2.a"], .when(platforms: [.linux])),
            .linkedLibrary("re2", .when(platforms: [.macOS])),
        ]),
        // libyaml (libyaml-dev) behind one Foundation-free node tree: the edge and the collector read
        // the same YAML. The archive is linked in, as for RE2.
        .systemLibrary(name: "CYAML", providers: [.apt(["libyaml-dev"])]),
        .target(name: "YAMLTree", dependencies: ["CYAML"], linkerSettings: [
            .unsafeFlags(["-Xlinker", "-l:libyaml.a"], .when(platforms: [.linux])),
            .linkedLibrary("yaml", .when(platforms: [.macOS])),
        ]),

        // The wire: remote-write 1.0 WriteRequest encode/decode and snappy block format.
        .target(name: "RemoteWrite", dependencies: ["CSnappy", "Storage"], linkerSettings: [
            .unsafeFlags(["-Xlinker", "-l:libsnappy.a"], .when(platforms: [.linux])),
            .linkedLibrary("snappy", .when(platforms: [.macOS])),
        ]),
        // Shared vocabulary between storage and query: labels, matchers, samples, the Querier protocol.
        .target(name: "Storage", dependencies: ["CRE2"]),
        .target(name: "CRC32CHW"),
        // Durable local files for the TSDB WAL, the edge queue and the collector's forward queue:
        // CRC-32C, POSIX file helpers, the segmented group-commit log, the acknowledged queue.
        // No Foundation (the edge scraper's memory budget).
        .target(name: "DurableIO", dependencies: ["CRC32CHW", .product(name: "Logging", package: "swift-log")], exclude: ["README.md"]),
        // Snappy compresses WAL records (archive linked in, as for RemoteWrite).
        .target(name: "TSDB", dependencies: ["Storage", "DurableIO", "CSnappy", .product(name: "Logging", package: "swift-log")],
                exclude: ["README.md"], linkerSettings: [
                    .unsafeFlags(["-Xlinker", "-l:libsnappy.a"], .when(platforms: [.linux])),
                    .linkedLibrary("snappy", .when(platforms: [.macOS])),
                ]),
        .target(name: "PromQL", dependencies: ["Storage"]),
        // Web/ (JavaScript, CSS) is compiled into the binary: nothing is read from disk at run time.
        // Its package.json only tells node that the .js files are ES modules.
        .target(name: "Dashboard", dependencies: [
            .product(name: "Hummingbird", package: "hummingbird"),
        ], exclude: ["Web/package.json"], resources: [.embedInCode("Web")]),
        .target(name: "Collector", dependencies: [
            "RemoteWrite", "Storage", "TSDB", "PromQL", "Dashboard", "CZlib", "YAMLTree", "DurableIO",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            // NIOThreadPool: bcrypt runs on threads of its own, not the cooperative pool.
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            // The notifier's HTTP client (Rules/AlertPoster.swift), instead of URLSession and libcurl.
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Crypto", package: "swift-crypto"),
            // RSA signature checks (RS256) of the identity provider's tokens (Auth/OIDC).
            .product(name: "CryptoExtras", package: "swift-crypto"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            // HTTPS and client certificates on the listener (the same BoringSSL the edge scraper uses).
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            // The forward sender's client to storage.remote.write_url (Remote/): pooled keep-alive
            // connections, HTTPS and timeouts from swift-server's maintained client.
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            // state.postgres: the state several collectors share (users, tokens, audit, fleet
            // registry, rule lease), through Vapor's maintained NIO client with its connection pool.
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], exclude: ["Remote/README.md"]),
        // Sets the Swift runtime's global-executor hook (the agent runs its jobs on NIO's event loop).
        .target(name: "CEdgeExecutorHook"),
        // The edge agent stays off Foundation and AsyncHTTPClient to fit its 14 MiB budget:
        // NIO for HTTP, YAMLTree for YAML.
        .target(name: "EdgeScraper", dependencies: [
            "RemoteWrite", "YAMLTree", "DurableIO", "CEdgeExecutorHook",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            // https for remote_write and scrapes (BoringSSL; its pages load only when TLS is used).
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            // SIGTERM/SIGINT/SIGHUP as an async sequence (Dispatch only, no Foundation).
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ], exclude: ["Delivery/README.md"]),
        // The Swift runtime and Foundation linked statically, as the edge scraper: the binary runs
        // on a bare Debian/Ubuntu host or FROM scratch with the C libraries only (Tests/Deploy).
        .executableTarget(name: "CollectorCLI", dependencies: [
            "Collector",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [.unsafeFlags(["-static-stdlib"] + [
            // Foundation's archives refer to each other in both directions: one group resolves them.
            "--start-group", "-lFoundation", "-lFoundationEssentials", "-lFoundationInternationalization", "-lCoreFoundation",
            "-l_FoundationICU", "-l_FoundationCShims", "-l_FoundationCollections", "--end-group",
        ].flatMap { ["-Xlinker", $0] }, .when(platforms: [.linux]))]),
        // The Swift runtime linked statically: only the pages it touches are resident, instead of
        // whole shared libraries (idle RSS 19.5 MiB → see docs/benchmarks.md, Edge).
        .executableTarget(name: "EdgeScraperCLI", dependencies: [
            "EdgeScraper",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], exclude: ["edge-scraper.order"],
        linkerSettings: [.unsafeFlags(["-static-stdlib", "-Xlinker", "-l_FoundationCShims", "-Xlinker", "-l_FoundationCollections"]),
                         .unsafeFlags(edgeScraperLinkFlags, .when(platforms: [.linux]))]),

        // What several test targets share: free ports, child processes stopped by PID with bounded
        // waits, tools run to completion, temp dirs, HTTP and remote-write clients. Tests only.
        .target(name: "TestSupport", dependencies: ["RemoteWrite", "Storage"], path: "Tests/TestSupport"),
        .testTarget(name: "StorageTests", dependencies: ["Storage"]),
        .testTarget(name: "RemoteWriteTests", dependencies: ["RemoteWrite", "RemoteWireC", "TestSupport"]),
        .testTarget(name: "DurableIOTests", dependencies: ["DurableIO", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "TSDBTests", dependencies: ["TSDB", "Storage", "DurableIO", "TestSupport"]),
        .testTarget(name: "PromQLTests", dependencies: ["PromQL", "Storage", "RemoteWrite", "TestSupport"]),
        .testTarget(name: "CollectorTests", dependencies: ["Collector", "RemoteWrite", "TSDB", "TestSupport",
                                                           .product(name: "GRDB", package: "GRDB.swift"),
                                                           // Signing test tokens (Auth/OIDC tests).
                                                           .product(name: "CryptoExtras", package: "swift-crypto"),
                                                           .product(name: "PostgresNIO", package: "postgres-nio")]),
        // js/: node's tests of the dashboard's modules (make js-check), not Swift.
        .testTarget(name: "DashboardTests", dependencies: ["Dashboard"], exclude: ["js"]),
        .testTarget(name: "EdgeScraperTests", dependencies: ["EdgeScraper", "RemoteWrite", "Storage", "YAMLTree", "DurableIO", "TestSupport"]),
        // Starts real processes (collector, prometheus, vmagent, node_exporter); each test kills what it starts.
        // OIDCProvider/: the Python side of the single sign-on test (a real idpyoidc provider).
        .testTarget(name: "EndToEndTests", dependencies: ["RemoteWrite", "Storage", "TestSupport"], exclude: ["OIDCProvider"]),
    ]
)
