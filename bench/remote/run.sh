#!/usr/bin/env bash
# storage.remote write path: the same fleet workload remote-written straight into VictoriaMetrics,
# and through the collector (ingest → forward queue → sender) into VictoriaMetrics.
#
#   bench/remote/run.sh                      # from the repository root; binaries from ${BIN:-.build/release}
#   CLUSTERS=1000 STEPS=20 CONCURRENCY=4 RUNS=3 bench/remote/run.sh
#
# Per mode and run a RESULT line, then medians:
#   samples/s      acknowledged samples / wall-clock seconds of the send (for "collector": acknowledged
#                  by the collector, i.e. fsynced in its forward queue)
#   drain_s        after the send, until the forward queue is empty (every sample acknowledged by VM)
#   coll_cpu_s/M   collector utime+stime per 10^6 samples, from before the first request until drained
#   vm_cpu_s/M     VictoriaMetrics' utime+stime per 10^6 samples over the same span (+SETTLE s)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

CLUSTERS=${CLUSTERS:-1000}
STEPS=${STEPS:-20}
CONCURRENCY=${CONCURRENCY:-4}
RUNS=${RUNS:-3}
SETTLE=${SETTLE:-3}

need victoria-metrics victoria-metrics; need curl curl
check_bins collector
build_fleetbench
begin remote 1800
RESULTS=$WORK/results.txt
: >"$RESULTS"
echo "# workload: $CLUSTERS clusters x 151 series, $STEPS scrapes at 15 s, ~2000 samples per request, concurrency $CONCURRENCY, $RUNS runs"
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" | sed 's/^/#   /'

metric() {   # metric URL NAME: the collector's own metric value (first match)
    curl -sf "$1/metrics" | awk -v n="$2" '$1==n {print $2; exit}'
}

run_one() {   # run_one MODE RUN  (MODE: direct | collector)
    local mode=$1 run=$2 vport vpid cport cpid url out c0 v0 c1 v1 t0 t1 samples sps
    vport=$(free_port)
    rm -rf "$WORK/vm" "$WORK/coll"; mkdir -p "$WORK/vm" "$WORK/coll"
    start_victoriametrics "$WORK/vm-$mode-$run.log" "$vport" "$WORK/vm"
    vpid=$LAST_PID; wait_ready victoriametrics "$vport"
    url="http://127.0.0.1:$vport/api/v1/write"
    cpid=
    if [ "$mode" = collector ]; then
        cport=$(free_port)
        printf 'storage:\n  remote:\n    write_url: http://127.0.0.1:%s/api/v1/write\n    query_url: http://127.0.0.1:%s\n    queue: { max_bytes: 4GiB }\n' \
            "$vport" "$vport" >"$WORK/collector.yml"
        start_collector "$WORK/coll-$run.log" "$cport" --no-auth --data-dir "$WORK/coll" --config "$WORK/collector.yml" --log-level warning
        cpid=$LAST_PID; wait_ready collector "$cport"
        url="http://127.0.0.1:$cport/api/v1/write"
    fi
    v0=$(cpu_ticks "$vpid"); c0=0; [ -n "$cpid" ] && c0=$(cpu_ticks "$cpid")
    out=$("$FLEETBENCH" send --dir "$WORK/load" --url "$url" --concurrency "$CONCURRENCY")
    t0=$(date +%s.%N)
    if [ -n "$cpid" ]; then
        until [ "$(metric "http://127.0.0.1:$cport" fleetscope_remote_storage_pending_samples)" = "0.0" ] \
           || [ "$(metric "http://127.0.0.1:$cport" fleetscope_remote_storage_pending_samples)" = "0" ]; do sleep 0.2; done
    fi
    t1=$(date +%s.%N)
    c1=0; [ -n "$cpid" ] && c1=$(cpu_ticks "$cpid")
    sleep "$SETTLE"
    v1=$(cpu_ticks "$vpid")
    echo "#   $mode run $run: $out" | tr '\n' ' '; echo
    samples=$(sed -n 's/.*samples=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
    sps=$(sed -n 's/.*samples_per_sec=\([0-9]*\).*/\1/p' <<<"$out")
    [ -n "$cpid" ] && stop "$cpid"
    stop "$vpid"
    awk -v m="$mode" -v run="$run" -v sps="$sps" -v samples="$samples" -v dc=$((c1-c0)) -v dv=$((v1-v0)) -v tck="$CLK_TCK" \
        -v drain="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}')" 'BEGIN {
        printf "RESULT system=%s run=%d samples=%d samples_per_sec=%d drain_s=%s coll_cpu_s_per_M=%.3f vm_cpu_s_per_M=%.3f\n",
            m, run, samples, sps, drain, (dc/tck)/(samples/1e6), (dv/tck)/(samples/1e6) }' | tee -a "$RESULTS"
}

for run in $(seq 1 "$RUNS"); do
    for mode in direct collector; do run_one "$mode" "$run"; done
done

echo
echo "## remote write: medians of $RUNS runs ($CLUSTERS clusters, $(awk -F= '$1=="samples" {print $2}' "$WORK/load/meta.txt") samples per run, concurrency $CONCURRENCY)"
printf '%-10s %12s %9s %14s %12s\n' mode samples/s drain_s coll_cpu_s/M vm_cpu_s/M
for m in direct collector; do
    printf '%-10s %12s %9s %14s %12s\n' "$m" "$(field samples_per_sec "$RESULTS" "$m" | median)" "$(field drain_s "$RESULTS" "$m" | median)" \
        "$(field coll_cpu_s_per_M "$RESULTS" "$m" | median)" "$(field vm_cpu_s_per_M "$RESULTS" "$m" | median)"
done
machine_info
