#!/usr/bin/env bash
# Ingest benchmark: one pre-generated fleet workload remote-written into the collector,
# Prometheus 2.42 and VictoriaMetrics, one after another, with the same concurrency.
#
#   bench/ingest/run.sh                      # from the repository root; binaries from ${BIN:-.build/release}
#   CLUSTERS=2000 STEPS=20 CONCURRENCY=4 RUNS=3 SYSTEMS="collector prometheus victoriametrics" bench/ingest/run.sh
#
# Per system and run it prints a RESULT line, then the medians over RUNS as a table:
#   samples/s        acknowledged samples / wall-clock seconds of the send
#   cpu_s_per_M      server utime+stime (/proc/PID/stat) from just before the first request to
#                    5 s after the last acknowledgement (so deferred flushing counts), per 10^6 samples
#   rss_per_series   VmRSS after those 5 s / active series
#   disk_B_per_sample  see the notes printed at the end
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

CLUSTERS=${CLUSTERS:-2000}
STEPS=${STEPS:-20}
CONCURRENCY=${CONCURRENCY:-4}
RUNS=${RUNS:-3}
SYSTEMS=${SYSTEMS:-collector prometheus victoriametrics}
SETTLE=${SETTLE:-5}

need prometheus prometheus; need victoria-metrics victoria-metrics; need curl curl
case " $SYSTEMS " in *" collector "*) check_bins collector ;; esac
build_fleetbench
begin ingest 1800
RESULTS=$WORK/results.txt
: >"$RESULTS"
echo "# workload: $CLUSTERS clusters x 151 series, $STEPS scrapes at 15 s, ~2000 samples per request, concurrency $CONCURRENCY, $RUNS runs"
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" | sed 's/^/#   /'
SERIES=$(awk -F= '$1=="series" {print $2}' "$WORK/load/meta.txt")

run_one() {   # run_one SYSTEM RUN
    local sys=$1 run=$2 port url pid data log
    port=$(free_port)
    data="$WORK/$sys-data"; rm -rf "$data"; mkdir -p "$data"
    log="$WORK/$sys-$run.log"
    case $sys in
    collector) start_collector "$log" "$port" --no-auth --data-dir "$data" --log-level warning ;;
    prometheus) start_prometheus "$log" "$port" "$data" ;;
    victoriametrics) start_victoriametrics "$log" "$port" "$data" ;;
    esac
    pid=$LAST_PID; wait_ready "$sys" "$port"
    url="http://127.0.0.1:$port/api/v1/write"
    local c0 c1 out samples sps rss disk_blocks disk_dir
    c0=$(cpu_ticks "$pid")
    out=$("$FLEETBENCH" send --dir "$WORK/load" --url "$url" --concurrency "$CONCURRENCY")
    sleep "$SETTLE"
    c1=$(cpu_ticks "$pid")
    rss=$(rss_bytes "$pid")
    echo "#   $sys run $run: $out" | tr '\n' ' '; echo
    samples=$(sed -n 's/.*samples=\([0-9]*\).*/\1/p' <<<"$out" | head -1)
    sps=$(sed -n 's/.*samples_per_sec=\([0-9]*\).*/\1/p' <<<"$out")
    # Persist, then measure what is on disk.
    case $sys in
    collector)
        stop "$pid"
        disk_dir=$(dir_bytes "$data/tsdb")               # WAL + head chunk files after a clean shutdown
        "$FLEETBENCH" flush-tsdb --dir "$data/tsdb" >/dev/null
        disk_blocks=$(collector_block_bytes "$data/tsdb") ;;
    prometheus)
        disk_blocks=$(prometheus_snapshot_bytes "$port" "$data")  # the head written out as a block (index + chunks + meta)
        stop "$pid"
        disk_dir=$(dir_bytes "$data") ;;                  # WAL + chunks_head after a clean shutdown
    victoriametrics)
        curl -sf "http://127.0.0.1:$port/internal/force_flush" >/dev/null
        sleep 2
        stop "$pid"
        disk_dir=$(dir_bytes "$data")                    # data/ + indexdb/ after force_flush and a clean shutdown
        disk_blocks=$disk_dir ;;
    esac
    awk -v sys="$sys" -v run="$run" -v sps="$sps" -v samples="$samples" -v dt=$((c1-c0)) -v tck="$CLK_TCK" \
        -v rss="$rss" -v series="$SERIES" -v blk="$disk_blocks" -v dir="$disk_dir" -v out="$out" 'BEGIN {
        err = out ~ /errors=0 / ? 0 : 1
        printf "RESULT system=%s run=%d samples=%d samples_per_sec=%d cpu_s_per_M=%.3f rss_per_series=%.0f block_B_per_sample=%.3f dir_B_per_sample=%.3f send_errors=%d\n",
            sys, run, samples, sps, (dt/tck)/(samples/1e6), rss/series, blk/samples, dir/samples, err }' | tee -a "$RESULTS"
    rm -rf "$data"
}

for run in $(seq 1 "$RUNS"); do
    for sys in $SYSTEMS; do run_one "$sys" "$run"; done
done

echo
echo "## ingest: medians of $RUNS runs ($CLUSTERS clusters, $SERIES active series, $(awk -F= '$1=="samples" {print $2}' "$WORK/load/meta.txt") samples per run, concurrency $CONCURRENCY)"
printf '%-16s %12s %12s %16s %18s %18s\n' system samples/s cpu_s/M_smp RSS_B/series disk_B/smp_block disk_B/smp_dir
for sys in $SYSTEMS; do
    printf '%-16s %12s %12s %16s %18s %18s\n' "$sys" \
        "$(field samples_per_sec "$RESULTS" "$sys" | median)" "$(field cpu_s_per_M "$RESULTS" "$sys" | median)" \
        "$(field rss_per_series "$RESULTS" "$sys" | median)" "$(field block_B_per_sample "$RESULTS" "$sys" | median)" \
        "$(field dir_B_per_sample "$RESULTS" "$sys" | median)"
done
ref() { field "$1" "$RESULTS" "$2" | median; }
awk -v cc="$(ref cpu_s_per_M collector)" -v vc="$(ref cpu_s_per_M victoriametrics)" \
    -v cr="$(ref rss_per_series collector)" -v pr="$(ref rss_per_series prometheus)" \
    -v cd="$(ref block_B_per_sample collector)" -v vd="$(ref block_B_per_sample victoriametrics)" 'BEGIN {
    if (cc != "-" && vc != "-" && vc > 0) printf "target cpu/sample <= VictoriaMetrics: collector/VM = %.2fx %s\n", cc/vc, (cc<=vc ? "MET" : "MISSED")
    if (cr != "-" && pr != "-" && pr > 0) printf "target RSS/series <= 0.5x Prometheus: collector/Prometheus = %.2fx %s\n", cr/pr, (cr<=0.5*pr ? "MET" : "MISSED")
    if (cd != "-" && vd != "-" && vd > 0) printf "target disk/sample < VictoriaMetrics: collector/VM = %.2fx %s\n", cd/vd, (cd<vd ? "MET" : "MISSED")
}'
cat <<'NOTE'
disk_B/smp_block: collector = its blocks after the stopped data dir's head was flushed into blocks (fleetbench
  flush-tsdb = TSDB.flushHead: chunks + index + meta.json, no WAL); prometheus = a /api/v1/admin/tsdb/snapshot,
  i.e. the head written as one block (chunks + index + meta.json + tombstones); victoriametrics = the whole
  -storageDataPath (data/ + indexdb/ + metadata) after /internal/force_flush and a clean shutdown.
disk_B/smp_dir: the whole data directory after a clean shutdown, before any flush (collector: wal/ + chunks_head/;
  prometheus: wal/ + chunks_head/ without the snapshot; victoriametrics: same as block).
NOTE
