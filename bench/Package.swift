// swift-tools-version: 6.1
import PackageDescription

// The benchmark tool: pre-generates a fleet workload as remote-write bodies, sends them with N
// connections, and flushes a stopped collector's head into blocks for the on-disk number.
// The project's own RemoteWrite/Storage/TSDB sources are compiled in through the symlinks under
// Shared/ (SwiftPM rejects target paths outside the package root), so this package needs no
// library product from the root package and does not build the server stack.
let package = Package(
    name: "FleetscopeBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .systemLibrary(name: "CSnappy", path: "Shared/CSnappy", pkgConfig: "snappy"),
        .systemLibrary(name: "CProtobufC", path: "Shared/CProtobufC", pkgConfig: "libprotobuf-c"),
        .target(name: "RemoteWireC", dependencies: ["CProtobufC"], path: "Shared/RemoteWireC"),
        .target(name: "CRE2", path: "Shared/CRE2", linkerSettings: [.unsafeFlags(["-Xlinker", "-l:libre2.a"])]),
        .target(name: "Storage", dependencies: ["CRE2"], path: "Shared/Storage"),
        .target(name: "RemoteWrite", dependencies: ["CSnappy", "RemoteWireC", "Storage"], path: "Shared/RemoteWrite"),
        .target(name: "CRC32CHW", path: "Shared/CRC32CHW"),
        .target(name: "TSDB", dependencies: ["Storage", "CRC32CHW", .product(name: "Logging", package: "swift-log")],
                path: "Shared/TSDB", exclude: ["README.md"]),
        .target(name: "PromQL", dependencies: ["Storage"], path: "Shared/PromQL"),
        .executableTarget(name: "fleetbench", dependencies: [
            "RemoteWrite", "Storage", "TSDB", "PromQL", .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/fleetbench",
                // Plain threads and locks around blocking sockets; Swift 6 data-race checking would
                // only add ceremony to this throwaway client.
                swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
