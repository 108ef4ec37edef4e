#!/usr/bin/env bash
# Query benchmark: the same 6 h of fleet data (15 s scrapes, sent oldest-first) loaded into the
# collector, Prometheus 2.42 and VictoriaMetrics; then the fleet queries as 1 h and 6 h range
# queries and one instant query over every series, interleaved, median of QRUNS runs each.
#
#   bench/query/run.sh                       # from the repository root; binaries from ${BIN:-.build/release}
#   CLUSTERS=100 HOURS=6 QRUNS=5 bench/query/run.sh
#   KEEP=1 bench/query/run.sh                # keep the data; then, collector stopped, in-process timings
#                                            # split into storage and evaluation, with CPU time:
#   bench/.build/release/fleetbench query --dir WORK/collector/tsdb --query Q --start S --end E --step 90
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

CLUSTERS=${CLUSTERS:-100}
HOURS=${HOURS:-6}
QRUNS=${QRUNS:-5}
CONCURRENCY=${CONCURRENCY:-2}

need prometheus prometheus; need victoria-metrics victoria-metrics; need curl curl; need python3 python3
check_bins collector
build_fleetbench
begin query 2400
STEPS=$((HOURS * 240))
END_MS=$(( ($(date +%s) - 120) * 1000 ))
echo "# workload: $CLUSTERS clusters x 151 series, $HOURS h at 15 s ($STEPS scrapes), 40 samples per series per request (a backlog, oldest first)"
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" --samples-per-series 40 --end-ms "$END_MS" | sed 's/^/#   /'
SAMPLES=$(awk -F= '$1=="samples" {print $2}' "$WORK/load/meta.txt")
SERIES=$(awk -F= '$1=="series" {print $2}' "$WORK/load/meta.txt")

PC=$(free_port); PP=$(free_port); PV=$(free_port)
mkdir -p "$WORK/collector" "$WORK/prometheus" "$WORK/vm"
start_collector "$WORK/collector.log" "$PC" --no-auth --data-dir "$WORK/collector" --log-level warning; CPID=$LAST_PID
start_prometheus "$WORK/prometheus.log" "$PP" "$WORK/prometheus"; PPID_=$LAST_PID
# No rollup-result cache and no latency offset: every run computes the answer from storage, as the others do.
start_victoriametrics "$WORK/vm.log" "$PV" "$WORK/vm" -search.disableCache -search.latencyOffset=0s; VPID=$LAST_PID
wait_ready collector "$PC"; wait_ready prometheus "$PP"; wait_ready victoriametrics "$PV"

echo "# loading $SAMPLES samples into each system (in parallel; load speed is not what this measures)"
send_all collector="$PC" prometheus="$PP" vm="$PV"
curl -sf "http://127.0.0.1:$PV/internal/force_flush" >/dev/null
sleep 5
echo "# RSS after load: collector=$(rss_bytes $CPID) prometheus=$(rss_bytes $PPID_) victoriametrics=$(rss_bytes $VPID) bytes ($SERIES series)"

echo
echo "## query latency, median of $QRUNS runs (after one warm-up), $CLUSTERS clusters / $SERIES series / $HOURS h"
# PROFILE=1: perf-record the collector while it answers (the latencies are then a little higher).
if [ -n "${PROFILE:-}" ]; then
    need perf linux-perf
    start perf "$WORK/perf.log" perf record -F 499 -g -o "$WORK/perf.data" -p "$CPID"; PERF_PID=$LAST_PID; sleep 1
fi
python3 "$REPO/bench/query/queries.py" --end $((END_MS / 1000)) --runs "$QRUNS" \
    collector="http://127.0.0.1:$PC" prometheus="http://127.0.0.1:$PP" victoriametrics="http://127.0.0.1:$PV"
if [ -n "${PROFILE:-}" ]; then
    kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true
    echo "## collector self time by symbol while answering (top ${TOP:-30})"
    perf report -i "$WORK/perf.data" --no-children --sort symbol --stdio 2>/dev/null | grep -E '^ +[0-9.]+%' | head -"${TOP:-30}" \
        | { if [ -x /opt/swift/usr/bin/swift-demangle ]; then /opt/swift/usr/bin/swift-demangle --simplified; else cat; fi; } | sed -E "s/[[:space:]-]+$//" | cut -c1-160 || true
fi

# On-disk size of the same 6 h of data, persisted (see bench/ingest/run.sh for what each number includes).
P_BLOCKS=$(prometheus_snapshot_bytes "$PP" "$WORK/prometheus")
curl -sf "http://127.0.0.1:$PV/internal/force_flush" >/dev/null; sleep 2
stop "$CPID"; stop "$PPID_"; stop "$VPID"
"$FLEETBENCH" flush-tsdb --dir "$WORK/collector/tsdb" >/dev/null
C_BLOCKS=$(collector_block_bytes "$WORK/collector/tsdb")
V_ALL=$(dir_bytes "$WORK/vm")
echo
echo "## on-disk bytes per sample for these $SAMPLES samples ($HOURS h), persisted"
awk -v c="$C_BLOCKS" -v p="$P_BLOCKS" -v v="$V_ALL" -v n="$SAMPLES" 'BEGIN {
    printf "collector blocks (head flushed)      %12d B  %.3f B/sample\n", c, c/n
    printf "prometheus snapshot (blocks + head)  %12d B  %.3f B/sample\n", p, p/n
    printf "victoriametrics storageDataPath      %12d B  %.3f B/sample\n", v, v/n
    printf "collector/VictoriaMetrics = %.2fx, collector/Prometheus = %.2fx\n", c/v, c/p }'
