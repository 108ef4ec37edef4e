#!/usr/bin/env bash
# Disk benchmark (issue 15): the query benchmark's 6 h fleet set (15 s scrapes, sent oldest-first,
# 40 samples per series per request) loaded into the collector, Prometheus 2.42 and
# VictoriaMetrics in parallel; then, per system, bytes per sample of
#   whole dir  the whole data directory after a clean stop (SIGTERM); nothing forced before it
#              except VictoriaMetrics' /internal/force_flush, as in the other benchmarks
#   blocks     collector: its block directories after the stop; Prometheus: a TSDB snapshot
#              (blocks + the head written out as a block); VictoriaMetrics: = whole dir
#   WAL        collector: fleetscope_tsdb_wal_bytes_written_total / samples (every record it
#              wrote, checkpoints not included); Prometheus: wal/ just before the stop / the samples
#              at or after prometheus_tsdb_head_min_time (uniform load: samples × share of the
#              6 h the head spans), an estimate; VictoriaMetrics has no WAL
#
#   bench/disk/run.sh                        # from the repository root; binaries from ${BIN:-.build/release}
#   CLUSTERS=100 HOURS=6 bench/disk/run.sh
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

CLUSTERS=${CLUSTERS:-100}
HOURS=${HOURS:-6}
CONCURRENCY=${CONCURRENCY:-2}

need prometheus prometheus; need victoria-metrics victoria-metrics; need curl curl; need python3 python3
check_bins collector
build_fleetbench
begin disk 2400
echo "# collector: $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?') $BIN/collector"
STEPS=$((HOURS * 240))
END_MS=$(( ($(date +%s) - 120) * 1000 ))
START_MS=$(( END_MS - HOURS * 3600000 ))
echo "# workload: $CLUSTERS clusters x 151 series, $HOURS h at 15 s ($STEPS scrapes), 40 samples per series per request (a backlog, oldest first)"
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" --samples-per-series 40 --end-ms "$END_MS" | sed 's/^/#   /'
SAMPLES=$(awk -F= '$1=="samples" {print $2}' "$WORK/load/meta.txt")

PC=$(free_port); PP=$(free_port); PV=$(free_port)
mkdir -p "$WORK/collector" "$WORK/prometheus" "$WORK/vm"
start_collector "$WORK/collector.log" "$PC" --no-auth --data-dir "$WORK/collector" --log-level warning; CPID=$LAST_PID
start_prometheus "$WORK/prometheus.log" "$PP" "$WORK/prometheus"; PPID_=$LAST_PID
start_victoriametrics "$WORK/vm.log" "$PV" "$WORK/vm"; VPID=$LAST_PID
wait_ready collector "$PC"; wait_ready prometheus "$PP"; wait_ready victoriametrics "$PV"

echo "# loading $SAMPLES samples into each system (in parallel)"
send_all collector="$PC" prometheus="$PP" vm="$PV"
sleep 5

metric() { curl -sf "$1/metrics" | awk -v n="$2" '$1==n {v=$2} END {print v}'; }  # reads to the end: curl must not get SIGPIPE
C_WAL_WRITTEN=$(metric "http://127.0.0.1:$PC" fleetscope_tsdb_wal_bytes_written_total)
C_WAL_DIR=$(dir_bytes "$WORK/collector/tsdb/wal")
# The same WAL records in both formats, for their size and replay time: a copy of wal/ taken now
# (a maintenance pass racing with the copy may leave a segment out; both copies are the same).
mkdir -p "$WORK/replay-new" && cp -a "$WORK/collector/tsdb/wal" "$WORK/replay-new/wal" && cp -a "$WORK/replay-new" "$WORK/replay-old"
P_HEAD_MIN=$(metric "http://127.0.0.1:$PP" prometheus_tsdb_head_min_time)
P_WAL=$(dir_bytes "$WORK/prometheus/wal")
P_BLOCKS=$(prometheus_snapshot_bytes "$PP" "$WORK/prometheus")
curl -sf "http://127.0.0.1:$PV/internal/force_flush" >/dev/null; sleep 2

T0=$(date +%s.%N); stop "$CPID" 300; T1=$(date +%s.%N)
stop "$PPID_"; stop "$VPID"
C_DIR=$(dir_bytes "$WORK/collector/tsdb")
C_BLOCKS=$(collector_block_bytes "$WORK/collector/tsdb")
C_WAL_LEFT=$(dir_bytes "$WORK/collector/tsdb/wal")
P_DIR=$(dir_bytes "$WORK/prometheus")
V_DIR=$(dir_bytes "$WORK/vm")
echo "# collector stop took $(awk -v a="$T0" -v b="$T1" 'BEGIN {printf "%.1f", b-a}') s; its wal/ held $C_WAL_DIR B before the stop, $C_WAL_LEFT B after"

"$FLEETBENCH" wal-first-format --dir "$WORK/replay-old"
W_NEW=$(dir_bytes "$WORK/replay-new/wal"); W_OLD=$(dir_bytes "$WORK/replay-old/wal")
R_NEW=$("$FLEETBENCH" replay --dir "$WORK/replay-new"); R_OLD=$("$FLEETBENCH" replay --dir "$WORK/replay-old")
echo "# the collector's wal/ after the load, same records: compressed format $W_NEW B, first format $W_OLD B ($(awk -v a="$W_NEW" -v b="$W_OLD" 'BEGIN {printf "%.3f", a/b}')x)"
echo "# replay (TSDB.open) of that copy: compressed: $R_NEW; first format: $R_OLD"

echo
echo "## disk: bytes per sample for these $SAMPLES samples ($CLUSTERS clusters, $HOURS h)"
awk -v n="$SAMPLES" -v cd="$C_DIR" -v cb="$C_BLOCKS" -v cw="$C_WAL_WRITTEN" -v pd="$P_DIR" -v pb="$P_BLOCKS" -v pw="$P_WAL" \
    -v pmin="${P_HEAD_MIN:-0}" -v s="$START_MS" -v e="$END_MS" -v vd="$V_DIR" 'BEGIN {
    share = (e - pmin) / (e - s); if (share > 1) share = 1; if (share <= 0) share = 1
    printf "%-16s %14s %14s %14s\n", "system", "whole_dir_B/smp", "blocks_B/smp", "WAL_B/smp"
    printf "%-16s %14.3f %14.3f %14.3f\n", "collector", cd/n, cb/n, cw/n
    printf "%-16s %14.3f %14.3f %14.3f\n", "prometheus", pd/n, pb/n, pw/(n*share)
    printf "%-16s %14.3f %14.3f %14s\n", "victoriametrics", vd/n, vd/n, "-"
    printf "collector/VictoriaMetrics: whole dir %.2fx, blocks %.2fx; collector/Prometheus blocks %.2fx\n", cd/vd, cb/vd, cb/pb
    printf "RESULT system=collector whole_dir=%d blocks=%d wal_written=%d samples=%d\n", cd, cb, cw, n
    printf "RESULT system=prometheus whole_dir=%d blocks=%d wal_dir=%d head_share=%.3f samples=%d\n", pd, pb, pw, share, n
    printf "RESULT system=victoriametrics whole_dir=%d samples=%d\n", vd, n }'
