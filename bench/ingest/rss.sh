#!/usr/bin/env bash
# Collector resident memory per active series, several binaries side by side in one run (issue 15).
#
#   GDB=1 RUNS=2 bench/ingest/rss.sh base=/tmp/base new=.build/release vm=-
#
# Each LABEL=BINDIR is a directory holding a `collector`; the label `vm` runs VictoriaMetrics
# instead. Rounds alternate the binaries over one generated load (as bench/ingest/run.sh's), and
# each run prints VmRSS / RssAnon per series and RssFile 5 s (SETTLE) after the send, with the
# server's CPU seconds. GDB=1 then attaches gdb to the collector: glibc's malloc_stats() (system
# vs in-use bytes, per arena, written to the collector's log) and RSS after a malloc_trim(0).
# FLEETBENCH=path uses an existing fleetbench (gen and send only).
set -euo pipefail

source "$(dirname "$0")/../lib.sh"
CLUSTERS=${CLUSTERS:-2000}; STEPS=${STEPS:-20}; CONCURRENCY=${CONCURRENCY:-4}; RUNS=${RUNS:-1}; SETTLE=${SETTLE:-5}
begin ingrss 3000
probe() {  # probe PID LABEL: glibc's own view (malloc_stats), then RSS after malloc_trim(0) and its CPU
  local pid=$1 label=$2 log="$WORK/$2.log"
  [ -n "${GDB:-}" ] || return 0
  : > "$WORK/gdb.out"
  gdb -p "$pid" -batch -ex 'call (void)malloc_stats()' >"$WORK/gdb.out" 2>&1 || true
  local k0=$(cpu_ticks "$pid")
  gdb -p "$pid" -batch -ex 'call (int)malloc_trim(0)' >>"$WORK/gdb.out" 2>&1 || true
  local k1=$(cpu_ticks "$pid"); echo "#   $label malloc_trim cpu_ticks=$((k1-k0)) (1 tick = 10 ms)"
  sleep 1
  echo "#   $label malloc_stats: $(grep -A1000 'Arena 0' "$log" | grep -E 'Total|system bytes|in use bytes' | tail -3 | tr -s ' \n' ' ') arenas=$(grep -c '^Arena' "$log")"
  echo "#   $label after malloc_trim(0): rss_MB=$(( $(awk '/^VmRSS/{print $2}' /proc/$pid/status) >> 10)) anon_B_per_series=$(( $(awk '/^RssAnon/{print $2*1024}' /proc/$pid/status) / SERIES))"
}
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" >/dev/null
SERIES=$(awk -F= '$1=="series" {print $2}' "$WORK/load/meta.txt")
echo "# series=$SERIES  $(date -u +%FT%TZ) load: $(cut -d' ' -f1-3 /proc/loadavg)"
for run in $(seq 1 "$RUNS"); do
  for spec in "$@"; do
    label=${spec%%=*}; BIN=${spec#*=}
    port=$(free_port); data="$WORK/d-$label"; rm -rf "$data"; mkdir -p "$data"
    if [ "$label" = vm ]; then
      start_victoriametrics "$WORK/$label.log" "$port" "$data"; pid=$LAST_PID; wait_ready victoriametrics "$port"
    else
      start_collector "$WORK/$label.log" "$port" --no-auth --data-dir "$data" --log-level warning
      pid=$LAST_PID; wait_ready collector "$port"
    fi
    c0=$(cpu_ticks "$pid")
    out=$("$FLEETBENCH" send --dir "$WORK/load" --url "http://127.0.0.1:$port/api/v1/write" --concurrency "$CONCURRENCY")
    sleep "$SETTLE"
    c1=$(cpu_ticks "$pid")
    st=/proc/$pid/status
    rss=$(awk '/^VmRSS/{print $2*1024}' $st); anon=$(awk '/^RssAnon/{print $2*1024}' $st); file=$(awk '/^RssFile/{print $2*1024}' $st)
    thr=$(awk '/^Threads/{print $2}' $st)
    echo "RESULT $label run=$run rss_B_per_series=$((rss/SERIES)) anon_B_per_series=$((anon/SERIES)) file_MB=$((file>>20)) rss_MB=$((rss>>20)) threads=$thr cpu_s=$(awk -v t=$((c1-c0)) -v h=$CLK_TCK 'BEGIN{printf "%.2f", t/h}') load=$(cut -d' ' -f1 /proc/loadavg) send: $(echo $out | tr '\n' ' ' | cut -c1-160)"
    [ "$label" = vm ] || probe "$pid" "$label"; stop "$pid"; rm -rf "$data"
  done
done
