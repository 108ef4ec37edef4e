#!/usr/bin/env bash
# Where the edge scraper's CPU goes in the steady state of bench/edge/run.sh's load (node_exporter
# + TARGETS synthetic targets of 1,000 series every 5 s, remote-write into VictoriaMetrics): CPU by
# thread, voluntary context switches (each one a thread handing work to another and sleeping),
# and a `perf record -g` profile of the window, flat (self) and by caller.
#
#   bench/edge/profile.sh                  # BIN=.build/release; DURATION=60 WARMUP=15 TARGETS=4
#   KEEP=1 bench/edge/profile.sh           # keeps $WORK/perf.data for `perf report -i`
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
source "$(dirname "$0")/edge-yml.sh"
need perf linux-perf; need victoria-metrics victoria-metrics; need prometheus-node-exporter prometheus-node-exporter
check_bins edge-scraper
DURATION=${DURATION:-60}
WARMUP=${WARMUP:-15}
TARGETS=${TARGETS:-4}
begin edge-profile $((DURATION + WARMUP + 900))   # perf report with call graphs is slow on a loaded machine

ne=$(free_port); vm=$(free_port); pe=$(free_port); tports=()
for i in $(seq 1 "$TARGETS"); do tports+=("$(free_port)"); done
start node_exporter "$WORK/ne.log" prometheus-node-exporter --web.listen-address="127.0.0.1:$ne"
start targets "$WORK/targets.log" python3 "$REPO/bench/edge/targets.py" --series 1000 "${tports[@]}"
start victoriametrics "$WORK/vm.log" victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$vm" -loggerLevel=WARN
wait_http "http://127.0.0.1:$ne/metrics" 30; wait_http "http://127.0.0.1:$vm/health" 30
for tp in "${tports[@]}"; do wait_http "http://127.0.0.1:$tp/metrics" 30; done
targets=$(printf "'127.0.0.1:%s'," "${tports[@]}"); targets=${targets%,}
edge_yml edge-scraper "$ne" "$targets" "$vm" "$WORK/edge-queue" >"$WORK/edge.yml"
start edge-scraper "$WORK/edge.log" "$BIN/edge-scraper" --config "$WORK/edge.yml" --listen "127.0.0.1:$pe"
epid=$LAST_PID
wait_http "http://127.0.0.1:$pe/metrics" 30
sleep "$WARMUP"

# Per thread: name, utime+stime ticks, voluntary and involuntary context switches.
threads() {
    for t in /proc/"$epid"/task/*; do
        printf '%s %s %s %s\n' "$(basename "$t")" "$(tr ' ' '_' <"$t/comm")" \
            "$(awk '{print $14+$15}' "$t/stat")" "$(awk '/^voluntary_ctxt_switches/ {v=$2} /^nonvoluntary/ {n=$2} END {print v, n}' "$t/status")"
    done | sort
}
threads >"$WORK/t0"
perf record -q -F ${FREQ:-997} -g -p "$epid" -o "$WORK/perf.data" -- sleep "$DURATION" 2>/dev/null
threads >"$WORK/t1"
echo "# threads over ${DURATION}s: tid name cpu_ticks voluntary_switches involuntary_switches"
join "$WORK/t0" "$WORK/t1" | awk '{printf "%-8s %-22s %6d %8d %8d\n", $1, $2, $7-$3, $8-$4, $9-$5; c+=$7-$3; v+=$8-$4} END {printf "total cpu_ticks=%d voluntary_switches=%d\n", c, v}'
samples=$(curl -sf "http://127.0.0.1:$pe/metrics" | awk '$1 ~ /^edge_scraper_samples_scraped_total/ {print $NF}')
echo "# samples scraped so far: $samples"
stop "$epid" 30
demangle() { if command -v swift-demangle >/dev/null; then swift-demangle --simplified; else cat; fi; }
echo "# flat profile (self), top 45"
perf report -i "$WORK/perf.data" --no-children --sort sym --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -45 | demangle
echo "# with children (inclusive), top 60"
perf report -i "$WORK/perf.data" --children --sort sym --stdio -g none 2>/dev/null | grep -E '^ +[0-9]' | head -60 | demangle
