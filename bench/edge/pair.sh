#!/usr/bin/env bash
# Two edge-scraper binaries side by side on the same load, for a CPU difference smaller than
# run.sh can see: run.sh reads CPU in clock ticks (10 ms; one tick is ~0.12 CPU-s per million
# samples at its load), this reads each process's scheduler runtime in nanoseconds
# (/proc/PID/task/*/schedstat) over the same windows. Both scrape the same node_exporter and
# synthetic targets at the same interval and remote-write into one VictoriaMetrics.
#
#   BASE=/tmp/base NEW=.build/release bench/edge/pair.sh    # dirs holding edge-scraper
#   WINDOWS=6 WINDOW=60 WARMUP=20 TARGETS=4
# Per window and binary: CPU ms, samples scraped, CPU-s per million samples, remote-write bytes per
# sample; then the medians and new/base.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
need victoria-metrics victoria-metrics; need prometheus-node-exporter prometheus-node-exporter
: "${BASE:?set BASE to the directory of the baseline edge-scraper}"
NEW=${NEW:-$BIN}
WINDOWS=${WINDOWS:-6}
WINDOW=${WINDOW:-60}
WARMUP=${WARMUP:-20}
TARGETS=${TARGETS:-4}
begin edge-pair $((WINDOWS * WINDOW + WARMUP + 120))

source "$(dirname "$0")/load.sh"
start_edge_load "$TARGETS"

declare -A PID PORT
for who in base new; do
    dir=$BASE; [ "$who" = new ] && dir=$NEW
    case "$dir" in /*) ;; *) dir="$REPO/$dir" ;; esac
    # One letter each: the same wire bytes per sample.
    edge_yml "$WORK/$who.yml" "${who:0:1}" "$WORK/$who-queue"
    PORT[$who]=$(free_port)
    start "edge-$who" "$WORK/$who.log" "$dir/edge-scraper" --config "$WORK/$who.yml" --listen "127.0.0.1:${PORT[$who]}"
    PID[$who]=$LAST_PID
done
for who in base new; do wait_http "http://127.0.0.1:${PORT[$who]}/metrics" 30; done
sleep "$WARMUP"

runtime_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }
metric() { curl -sf "$1" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.0f\n", s }'; }
snapshot() {  # who -> "runtime_ns samples bytes"
    echo "$(runtime_ns "${PID[$1]}") $(metric "http://127.0.0.1:${PORT[$1]}/metrics" edge_scraper_samples_scraped_total) $(metric "http://127.0.0.1:${PORT[$1]}/metrics" edge_scraper_remote_sent_bytes_total)"
}
echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg)"
RESULTS=$WORK/results.txt; : >"$RESULTS"
declare -A S0
for w in $(seq 1 "$WINDOWS"); do
    for who in base new; do S0[$who]=$(snapshot "$who"); done
    sleep "$WINDOW"
    for who in base new; do
        read -r c0 n0 b0 <<<"${S0[$who]}"; read -r c1 n1 b1 <<<"$(snapshot "$who")"
        awk -v w="$w" -v who="$who" -v c=$((c1 - c0)) -v n=$((n1 - n0)) -v b=$((b1 - b0)) -v l="$(cut -d' ' -f1 /proc/loadavg)" \
            'BEGIN { printf "WINDOW %d %-4s cpu_ms=%.1f samples=%d cpu_s_per_M=%.3f sent_B_per_sample=%.3f load=%s\n", w, who, c/1e6, n, (n>0 ? c/1e9/(n/1e6) : -1), (n>0 ? b/n : -1), l }' | tee -a "$RESULTS"
    done
done
med() { grep " $1 " "$RESULTS" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
b=$(med base cpu_s_per_M); n=$(med new cpu_s_per_M)
echo "# medians over $WINDOWS windows of ${WINDOW}s: base cpu_s_per_M=$b sent_B_per_sample=$(med base sent_B_per_sample); new cpu_s_per_M=$n sent_B_per_sample=$(med new sent_B_per_sample); new/base=$(awk -v a="$n" -v b="$b" 'BEGIN {printf "%.3f", a/b}')"
echo "# per window new/base: $(paste <(grep ' base ' "$RESULTS" | sed -n 's/.*cpu_s_per_M=\([0-9.]*\).*/\1/p') <(grep ' new ' "$RESULTS" | sed -n 's/.*cpu_s_per_M=\([0-9.]*\).*/\1/p') | awk '{printf "%.3f ", $2/$1}')"
