#!/usr/bin/env bash
# Where the collector's ingest CPU goes: `perf record` on the collector while the ingest workload
# is sent, then the top symbols (demangled). Smaller than run.sh by default; needs `perf` (root or
# kernel.perf_event_paranoid <= 1).
#
#   bench/ingest/profile.sh                 # CLUSTERS=1000 STEPS=20 CONCURRENCY=4 TOP=40
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
CLUSTERS=${CLUSTERS:-1000}
STEPS=${STEPS:-20}
CONCURRENCY=${CONCURRENCY:-4}
TOP=${TOP:-40}
need perf linux-perf
check_bins collector
build_fleetbench
WORK=$(mktemp -d /tmp/fleetbench-profile.XXXXXX)
watchdog "${TIMEOUT:-900}"
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" >/dev/null
port=$(free_port)
start collector "$WORK/collector.log" "$BIN/collector" --no-auth --listen "127.0.0.1:$port" --data-dir "$WORK/data" --log-level warning
cpid=$LAST_PID
wait_http "http://127.0.0.1:$port/-/ready" 60
start perf "$WORK/perf.log" perf record -F 499 -g -o "$WORK/perf.data" -p "$cpid"
ppid_=$LAST_PID
sleep 1
"$FLEETBENCH" send --dir "$WORK/load" --url "http://127.0.0.1:$port/api/v1/write" --concurrency "$CONCURRENCY"
sleep 2
kill -INT "$ppid_"; wait "$ppid_" 2>/dev/null || true
stop "$cpid"
demangle() { if command -v swift-demangle >/dev/null; then swift-demangle --simplified; elif [ -x /opt/swift/usr/bin/swift-demangle ]; then /opt/swift/usr/bin/swift-demangle --simplified; else cat; fi; }
echo "## self time by symbol (top $TOP)"
perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -"$TOP" | demangle | sed -E "s/[[:space:]-]+$//" | cut -c1-160 || true
