#!/usr/bin/env bash
# Two edge-scraper binaries side by side on the same load, for a CPU difference smaller than
# run.sh can see: run.sh reads CPU in clock ticks (10 ms; one tick is ~0.12 CPU-s per million
# samples at its load), this reads each process's scheduler runtime in nanoseconds
# over the same windows: a CPU-accounting cgroup per agent when the script can make one (it counts
# threads that ended within a window too), else the sum over /proc/PID/task/*/schedstat. Both scrape the same node_exporter and
# synthetic targets at the same interval and remote-write into one VictoriaMetrics.
#
#   BASE=/tmp/base NEW=.build/release bench/edge/pair.sh    # dirs holding edge-scraper
#   WINDOWS=6 WINDOW=60 WARMUP=20 TARGETS=4
# Per window and binary: CPU ms, samples scraped, CPU-s per million samples, remote-write bytes per
# sample; then the medians and new/base. VMAGENT=1 runs vmagent beside them on the same targets,
# measured the same way (its samples: vm_promscrape_scraped_samples_sum), for the ratio to vmagent
# without run.sh's 10 ms clock ticks (one tick there is ~5 % of a window's CPU).
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

declare -A PID PORT CGDIR
# start_measured WHO LOG CMD...: CMD in a CPU-accounting cgroup of its own where one can be made.
start_measured() {
    local who=$1 log=$2; shift 2
    cpu_cgroup "$who"; CGDIR[$who]=$CG
    if [ -n "$CG" ]; then start "$who" "$log" sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$@"
    else start "$who" "$log" "$@"; fi
    PID[$who]=$LAST_PID
}
for who in base new; do
    dir=$BASE; [ "$who" = new ] && dir=$NEW
    case "$dir" in /*) ;; *) dir="$REPO/$dir" ;; esac
    # One letter each: the same wire bytes per sample.
    edge_yml "$WORK/$who.yml" "${who:0:1}" "$WORK/$who-queue"
    PORT[$who]=$(free_port)
    start_measured "$who" "$WORK/$who.log" "$dir/edge-scraper" --config "$WORK/$who.yml" --listen "127.0.0.1:${PORT[$who]}"
done
AGENTS="base new"
if [ "${VMAGENT:-}" = 1 ]; then
    need vmagent victoria-metrics
    vmagent_yml "$WORK/vmagent.yml"
    PORT[vmagent]=$(free_port)
    start_measured vmagent "$WORK/vmagent.log" vmagent -promscrape.config="$WORK/vmagent.yml" -remoteWrite.url="http://127.0.0.1:$vm/api/v1/write" \
        -remoteWrite.label=agent=v -httpListenAddr="127.0.0.1:${PORT[vmagent]}" -remoteWrite.tmpDataPath="$WORK/vmagent-queue" -loggerLevel=WARN
    AGENTS="base new vmagent"
fi
for who in $AGENTS; do wait_http "http://127.0.0.1:${PORT[$who]}/metrics" 30; done
sleep "$WARMUP"

runtime_ns() { cat /proc/"$1"/task/*/schedstat | awk '{s += $1} END {printf "%d\n", s}'; }
cpu_ns() { if [ -n "${CGDIR[$1]}" ]; then cgroup_cpu_ns "${CGDIR[$1]}"; else runtime_ns "${PID[$1]}"; fi; }
metric() { curl -sf "$1" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.0f\n", s }'; }
snapshot() {  # who -> "runtime_ns samples bytes"
    local m=http://127.0.0.1:${PORT[$1]}/metrics
    if [ "$1" = vmagent ]; then
        echo "$(cpu_ns "$1") $(metric "$m" vm_promscrape_scraped_samples_sum) $(metric "$m" vmagent_remotewrite_bytes_sent_total)"
    else
        echo "$(cpu_ns "$1") $(metric "$m" edge_scraper_samples_scraped_total) $(metric "$m" edge_scraper_remote_sent_bytes_total)"
    fi
}
echo "# load at start: $(cut -d' ' -f1-3 /proc/loadavg); CPU from $([ -n "${CGDIR[base]}" ] && echo "a cgroup per agent" || echo "the threads alive at each reading (no cgroup could be made)")"
RESULTS=$WORK/results.txt; : >"$RESULTS"
declare -A S0
for w in $(seq 1 "$WINDOWS"); do
    for who in $AGENTS; do S0[$who]=$(snapshot "$who"); done
    sleep "$WINDOW"
    for who in $AGENTS; do
        read -r c0 n0 b0 <<<"${S0[$who]}"; read -r c1 n1 b1 <<<"$(snapshot "$who")"
        awk -v w="$w" -v who="$who" -v c=$((c1 - c0)) -v n=$((n1 - n0)) -v b=$((b1 - b0)) -v l="$(cut -d' ' -f1 /proc/loadavg)" \
            'BEGIN { printf "WINDOW %d %-7s cpu_ms=%.1f samples=%d cpu_s_per_M=%.3f sent_B_per_sample=%.3f load=%s\n", w, who, c/1e6, n, (n>0 ? c/1e9/(n/1e6) : -1), (n>0 ? b/n : -1), l }' | tee -a "$RESULTS"
    done
done
med() { grep " $1 " "$RESULTS" | sed -n "s/.*$2=\([0-9.]*\).*/\1/p" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
b=$(med base cpu_s_per_M); n=$(med new cpu_s_per_M)
echo "# medians over $WINDOWS windows of ${WINDOW}s: base cpu_s_per_M=$b sent_B_per_sample=$(med base sent_B_per_sample); new cpu_s_per_M=$n sent_B_per_sample=$(med new sent_B_per_sample); new/base=$(awk -v a="$n" -v b="$b" 'BEGIN {printf "%.3f", a/b}')"
echo "# per window new/base: $(paste <(grep ' base ' "$RESULTS" | sed -n 's/.*cpu_s_per_M=\([0-9.]*\).*/\1/p') <(grep ' new ' "$RESULTS" | sed -n 's/.*cpu_s_per_M=\([0-9.]*\).*/\1/p') | awk '{printf "%.3f ", $2/$1}')"
if [ "${VMAGENT:-}" = 1 ]; then
    v=$(med vmagent cpu_s_per_M)
    echo "# vmagent cpu_s_per_M=$v sent_B_per_sample=$(med vmagent sent_B_per_sample); new/vmagent=$(awk -v a="$n" -v b="$v" 'BEGIN {printf "%.3f", a/b}') base/vmagent=$(awk -v a="$b" -v b="$v" 'BEGIN {printf "%.3f", a/b}')"
    echo "# per window new/vmagent: $(paste <(grep ' vmagent ' "$RESULTS" | sed -n 's/.*cpu_s_per_M=\([0-9.]*\).*/\1/p') <(grep ' new ' "$RESULTS" | sed -n 's/.*cpu_s_per_M=\([0-9.]*\).*/\1/p') | awk '{printf "%.3f ", $2/$1}')"
fi
