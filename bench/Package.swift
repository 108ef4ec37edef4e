// swift-tools-version: 6.1
import PackageDescription

// The benchmark tool: pre-generates a fleet workload as remote-write bodies, sends them with N
// connections, and flushes a stopped collector's head into blocks for the on-disk number.
// The project's RemoteWrite/Storage/TSDB/PromQL come from the root package's
// FleetscopeBenchSupport library, so the target graph is declared once (../Package.swift) and
// only those targets are built here, not the server stack.
let package = Package(
    name: "FleetscopeBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Named, so the reference below does not depend on the checkout's directory name.
        .package(name: "Fleetscope", path: ".."),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(name: "fleetbench", dependencies: [
            .product(name: "FleetscopeBenchSupport", package: "Fleetscope"),
            .product(name: "Logging", package: "swift-log"),
        ], path: "Sources/fleetbench",
                // Plain threads and locks around blocking sockets; Swift 6 data-race checking would
                // only add ceremony to this throwaway client.
                swiftSettings: [.swiftLanguageMode(.v5)]),
    ]
)
