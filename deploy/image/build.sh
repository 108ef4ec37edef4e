#!/usr/bin/env bash
# Builds both OCI images with podman (Debian's package) from binaries already built.
# Usage: deploy/image/build.sh [BIN_DIR] [TAG]   (default .build/release, the binaries' version)
# Prints the two image names. Offline: FROM scratch, nothing pulled.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/release}
VERSION=$("$BIN/collector" --version)
TAG=${2:-$VERSION}
SOURCE=${IMAGE_SOURCE:-$(git config --get remote.origin.url 2>/dev/null || echo unknown)}
command -v podman >/dev/null || { echo "podman not found: apt-get install -y podman buildah umoci" >&2; exit 1; }
stage=$(mktemp -d /tmp/fleetscope-image.XXXXXX)
trap 'rm -rf "$stage"' EXIT
for spec in collector:/var/lib/fleetscope edge-scraper:/var/lib/edge-scraper; do
  name=${spec%%:*} state=${spec#*:}
  deploy/image/rootfs.sh "$BIN/$name" "$state" "$stage/$name"
  podman build -q --layers=false -f "deploy/image/$name.Containerfile" \
    --build-arg VERSION="$VERSION" --build-arg SOURCE="$SOURCE" \
    -t "localhost/fleetscope-$name:$TAG" "$stage/$name" >/dev/null
  echo "localhost/fleetscope-$name:$TAG"
done
