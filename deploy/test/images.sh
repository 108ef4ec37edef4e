#!/usr/bin/env bash
# Builds both OCI images from the binaries in BIN_DIR (default .build/debug), unpacks each
# image's root filesystem with umoci and runs the binary in a chroot of that filesystem alone,
# as the image's unprivileged user (containers cannot run on this machine: cgroups).
# Proves: the images carry everything the binaries need (no host library leaks in through the
# chroot); labels hold the binaries' version and a source; the user is 65532, not root; the
# collector answers /-/ready and keeps data in its state directory; the edge scraper scrapes a
# local target and delivers it through its default queue directory to the collector.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/debug}
for t in podman umoci chroot curl python3; do command -v $t >/dev/null || { echo "SKIP images: $t missing (apt-get install -y podman buildah umoci)"; exit 0; }; done
T=$(mktemp -d /tmp/fleetscope-images.XXXXXX)
pids=()
# The servers run under unshare (inroot): stop each server first, then what started it, or unshare
# outlives the test with the server under it.
kill_tree() { local c; for c in $(pgrep -P "$1"); do kill_tree "$c"; done; kill "$1" 2>/dev/null || true; }
cleanup() { for p in "${pids[@]}"; do kill_tree "$p"; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL images: $*" >&2; for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
VERSION=$("$BIN/collector" --version)
# Runs a command in ROOTFS as the image's user, with /proc mounted as a container runtime
# mounts it (the Swift runtime reads its arguments from /proc/self/cmdline), in a private mount
# namespace that ends with the command (--kill-child: killing the returned PID ends both).
# Always run in a subshell (`&` or `$(...)`), which it replaces: `$!` is then unshare's PID, not a
# subshell's whose death would leave unshare and the server running.
inroot() { local r=$1; shift; exec unshare -m --kill-child -- bash -c 'mount -t proc proc "$0/proc" && exec chroot --userspec=65532:65532 "$0" "$@"' "$r" "$@"; }

mapfile -t images < <(deploy/image/build.sh "$BIN" deploytest)
[ ${#images[@]} = 2 ] || fail "build.sh named ${#images[@]} images"
for img in "${images[@]}"; do
  name=${img#localhost/fleetscope-}; name=${name%%:*}
  v=$(podman image inspect -f '{{index .Labels "org.opencontainers.image.version"}}' "$img")
  [ "$v" = "$VERSION" ] || fail "$img: version label '$v', binary says '$VERSION'"
  s=$(podman image inspect -f '{{index .Labels "org.opencontainers.image.source"}}' "$img")
  [ -n "$s" ] || fail "$img: no source label"
  u=$(podman image inspect -f '{{.Config.User}}' "$img")
  [ "$u" = "65532:65532" ] || fail "$img: runs as '$u', want 65532:65532"
  podman push -q "$img" "oci:$T/oci:$name" >/dev/null
  umoci unpack --image "$T/oci:$name" "$T/$name" > /dev/null
  podman rmi -f "$img" >/dev/null
  size=$(du -sm "$T/$name/rootfs" | cut -f1)
  got=$(inroot "$T/$name/rootfs" "/usr/local/bin/$name" --version) || fail "$name --version in its image failed"
  [ "$got" = "$VERSION" ] || fail "$name --version in its image: '$got'"
  echo "ok $img: --version $got as 65532, labels version+source, rootfs ${size} MB"
done

# The collector from its image, as its user, on the image's own state directory.
P=$(port)
inroot "$T/collector/rootfs" /usr/local/bin/collector serve --no-auth \
  --listen "127.0.0.1:$P" --data-dir /var/lib/fleetscope > "$T/collector.log" 2>&1 & pids+=($!)
for _ in $(seq 1 150); do curl -fsS -o /dev/null "http://127.0.0.1:$P/-/ready" 2>/dev/null && break; sleep 0.2; done
curl -fsS "http://127.0.0.1:$P/-/ready" | grep -q Ready || fail "collector in its image not ready"
[ -d "$T/collector/rootfs/var/lib/fleetscope/tsdb/wal" ] || fail "collector wrote no TSDB into /var/lib/fleetscope"
echo "ok collector image: /-/ready answers, TSDB in /var/lib/fleetscope"

# A local target for the edge scraper: a static exposition served by python on 127.0.0.1.
mkdir -p "$T/target"
printf '# TYPE deploy_test_metric gauge\ndeploy_test_metric{kind="image"} 42\n' > "$T/target/metrics"
TP=$(port)
python3 -m http.server "$TP" --bind 127.0.0.1 --directory "$T/target" > "$T/target.log" 2>&1 & pids+=($!)
EP=$(port)
mkdir -p "$T/edge-scraper/rootfs/etc/edge-scraper"
cat > "$T/edge-scraper/rootfs/etc/edge-scraper/edge.yml" <<YML
global: { scrape_interval: 1s, external_labels: { cluster: image-test } }
scrape_configs:
  - job_name: local
    static_configs: [ { targets: ["127.0.0.1:$TP"] } ]
remote_write:
  - url: http://127.0.0.1:$P/api/v1/write
    queue_config: { batch_send_deadline: 200ms }
node: { enabled: false }
YML
inroot "$T/edge-scraper/rootfs" /usr/local/bin/edge-scraper \
  --config /etc/edge-scraper/edge.yml --listen "127.0.0.1:$EP" > "$T/edge.log" 2>&1 & pids+=($!)
val=""
for _ in $(seq 1 100); do
  val=$(curl -fsS --data-urlencode 'query=deploy_test_metric{job="local",cluster="image-test"}' "http://127.0.0.1:$P/api/v1/query" \
        | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
  [ "$val" = 42 ] && break; sleep 0.2
done
[ "$val" = 42 ] || fail "the edge scraper in its image did not deliver the scraped target (got '$val')"
[ -d "$T/edge-scraper/rootfs/var/lib/edge-scraper/queue" ] || fail "no queue in the default /var/lib/edge-scraper/queue"
echo "ok edge-scraper image: scraped 127.0.0.1:$TP, delivered to the collector through /var/lib/edge-scraper/queue"
echo "PASS images"
