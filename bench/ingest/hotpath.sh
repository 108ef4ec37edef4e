#!/usr/bin/env bash
# Micro benchmark of the ingest hot path without HTTP: snappy decompress + WireDecoder +
# the validator's checks + TSDB.append (WAL + head) of pre-generated 2,000-sample requests.
# Prints CPU-ns per sample (process CPU time, so the WAL's fsync thread counts too).
# Builds a small package in $DIR whose targets are symlinks to this tree's sources, so it
# does not rebuild the server stack.  Usage: bench/ingest/hotpath.sh [clusters=200] [scrapes=12]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIR=${DIR:-/tmp/ingest-hotpath}
export PATH=/opt/swift/usr/bin:$PATH
mkdir -p "$DIR/Sources"
for t in RemoteWrite RemoteWireC CSnappy CProtobufC Storage TSDB; do ln -sfn "$ROOT/Sources/$t" "$DIR/Sources/$t"; done
ln -sfn "$ROOT/bench/ingest/hotpath" "$DIR/Sources/IngestBench"
cat > "$DIR/Package.swift" <<'PKG'
// swift-tools-version: 6.1
import PackageDescription
let package = Package(
    name: "IngestHotPath",
    platforms: [.macOS(.v15)],
    dependencies: [.package(url: "https://github.com/apple/swift-log.git", from: "1.16.2")],
    targets: [
        .systemLibrary(name: "CSnappy", pkgConfig: "snappy", providers: [.apt(["libsnappy-dev"])]),
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "RemoteWireC", dependencies: ["CProtobufC"]),
        .target(name: "RemoteWrite", dependencies: ["CSnappy", "RemoteWireC", "Storage"]),
        .target(name: "Storage"),
        .target(name: "TSDB", dependencies: ["Storage", .product(name: "Logging", package: "swift-log")], exclude: ["README.md"]),
        .executableTarget(name: "IngestBench", dependencies: ["RemoteWrite", "TSDB", "Storage"]),
    ]
)
PKG
(cd "$DIR" && swift build -c release --product IngestBench >&2)
"$DIR/.build/release/IngestBench" "${1:-200}" "${2:-12}"
