#!/usr/bin/env bash
# Writes Sources/EdgeScraperCLI/edge-scraper.order: the symbols of every function the edge scraper
# runs at start and while scraping, one a line, for lld's --symbol-ordering-file (Package.swift).
# lld lays those functions out together at the front of .text, so the pages the agent touches hold
# code it runs instead of neighbours it never calls: the binary's resident text drops from ~8 MiB to
# what it really uses (docs/benchmarks.md, "Edge agent, issue 15"). A stale file is harmless: names
# that no longer exist are skipped (--no-warn-symbol-ordering), new functions are placed after.
#
#   bench/edge/order-file.sh             # BIN=.build/release (a release build), needs valgrind; WARMUP, DURATION
#
# The run: valgrind --tool=callgrind on a copy without debug info (valgrind 3.19 cannot read the
# toolchain's DWARF 5), scraping node_exporter and 2 synthetic targets every 5 s, with the built-in
# node collector on (the default config), remote-writing into VictoriaMetrics, /metrics read once,
# then SIGTERM (the shutdown path). Every function callgrind saw in the edge-scraper binary is kept,
# in two blocks: first what the steady state runs (a callgrind dump after WARMUP seconds starts that
# part, one before SIGTERM ends it), then what only start-up and shutdown ran. The agent drops its
# start-up pages once it has settled (StartupPages); with start-up code in a block of its own those
# pages stay out, instead of sharing pages with code that runs at every scrape.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need valgrind valgrind; need victoria-metrics victoria-metrics; need prometheus-node-exporter prometheus-node-exporter
check_bins edge-scraper
DURATION=${DURATION:-40}
WARMUP=${WARMUP:-20}
begin order-file $((WARMUP + DURATION + 300))

strip --strip-debug -o "$WORK/edge-scraper" "$BIN/edge-scraper"
ne=$(free_port); vm=$(free_port); pe=$(free_port); t1=$(free_port); t2=$(free_port)
start node_exporter "$WORK/ne.log" prometheus-node-exporter --web.listen-address="127.0.0.1:$ne"
start targets "$WORK/targets.log" python3 "$REPO/bench/edge/targets.py" --series 1000 "$t1" "$t2"
start victoriametrics "$WORK/vm.log" victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$vm" -loggerLevel=WARN
wait_http "http://127.0.0.1:$ne/metrics" 30; wait_http "http://127.0.0.1:$vm/health" 30
wait_http "http://127.0.0.1:$t1/metrics" 30; wait_http "http://127.0.0.1:$t2/metrics" 30
cat >"$WORK/edge.yml" <<YML
global:
  scrape_interval: 5s
  scrape_timeout: 5s
  external_labels: {agent: edge-scraper}
scrape_configs:
  - job_name: node-exporter
    static_configs: [{targets: ['127.0.0.1:$ne']}]
  - job_name: synthetic
    static_configs: [{targets: ['127.0.0.1:$t1', '127.0.0.1:$t2']}]
    metric_relabel_configs:
      - {source_labels: [__name__], regex: 'synthetic_never_.*', action: drop}
remote_write:
  - url: http://127.0.0.1:$vm/api/v1/write
queue: {dir: $WORK/queue, max_bytes: 64MiB}
YML
start edge-scraper "$WORK/edge.log" valgrind --tool=callgrind --demangle=no --compress-strings=no --compress-pos=no \
    --dump-instr=no --callgrind-out-file="$WORK/callgrind.out" "$WORK/edge-scraper" --config "$WORK/edge.yml" --listen "127.0.0.1:$pe"
epid=$LAST_PID
wait_http "http://127.0.0.1:$pe/metrics" 120
# Each dump holds the functions that ran since the one before: .1 start-up, .2 the steady state,
# the final file shutdown.
sleep "$WARMUP"; callgrind_control -d "$epid" >/dev/null
sleep "$DURATION"
curl -sf "http://127.0.0.1:$pe/metrics" >/dev/null
callgrind_control -d "$epid" >/dev/null
stop "$epid" 180
# ob= names the object of the fn= lines after it; keep the functions of the edge-scraper binary.
functions() { awk '/^ob=/ { mine = ($0 ~ /edge-scraper$/) } /^fn=/ && mine { n = substr($0, 4); if (n !~ /^[(]|^0x/) print n }' "$@"; }
steady=$(ls "$WORK"/callgrind.out*.2 2>/dev/null || true)
[ -n "$steady" ] || { echo "no steady-state dump from callgrind_control" >&2; exit 1; }
{ functions "$steady"; functions "$WORK"/callgrind.out*; } | awk '!($0 in seen) { seen[$0] = 1; print }' \
    >"$REPO/Sources/EdgeScraperCLI/edge-scraper.order"
echo "$(functions "$steady" | sort -u | wc -l) steady-state functions first" 
echo "$(wc -l <"$REPO/Sources/EdgeScraperCLI/edge-scraper.order") functions in Sources/EdgeScraperCLI/edge-scraper.order"
