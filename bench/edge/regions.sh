#!/usr/bin/env bash
# Resident memory of edge-scraper binaries by region, side by side: every binary given scrapes the
# same targets as bench/edge/run.sh (node_exporter + TARGETS synthetic targets of 1,000 series every
# 5 s, remote-write into one VictoriaMetrics) at the same time, so a link or start-up change is
# compared with its baseline under the same load. After WARMUP + DURATION seconds each process's
# /proc/PID/smaps is summed per mapping: the binary's text, read-only data and writable data, each
# shared library, anonymous memory (heap, thread stacks, pages dirtied by relocation) and the rest.
#
#   bench/edge/regions.sh /tmp/base/edge-scraper .build/release/edge-scraper
#   DURATION=45 WARMUP=15 TARGETS=4 bench/edge/regions.sh A B ...     # KiB per region, threads
#   SECTIONS=1 bench/edge/regions.sh A B     # and the binary's resident KiB by ELF section (sections.py)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/load.sh"
need victoria-metrics victoria-metrics; need prometheus-node-exporter prometheus-node-exporter
[ $# -ge 1 ] || { echo "usage: $0 EDGE-SCRAPER-BINARY..." >&2; exit 2; }
DURATION=${DURATION:-45}
WARMUP=${WARMUP:-15}
TARGETS=${TARGETS:-4}
begin edge-regions $((DURATION + WARMUP + 120))

start_edge_load "$TARGETS"

pids=(); names=(); n=0
for bin in "$@"; do
    n=$((n + 1)); d="$WORK/edge$n"; mkdir -p "$d"; port=$(free_port)
    edge_yml "$d/edge.yml" "edge$n" "$d/queue"
    start "edge$n" "$d/edge.log" "$bin" --config "$d/edge.yml" --listen "127.0.0.1:$port"
    pids+=("$LAST_PID"); names+=("$bin")
    wait_http "http://127.0.0.1:$port/metrics" 30
done
sleep $((WARMUP + DURATION))

i=0
for pid in "${pids[@]}"; do
    echo "## ${names[$i]}  threads=$(ls "/proc/$pid/task" | wc -l)  $(grep -E '^(VmRSS|RssAnon|RssFile)' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
    regions "$pid"
    [ -z "${SECTIONS:-}" ] || python3 "$REPO/bench/edge/sections.py" "$pid"
    i=$((i + 1))
done
for pid in "${pids[@]}"; do stop "$pid" 30; done
