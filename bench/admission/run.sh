#!/usr/bin/env bash
# Admission benchmark: does ingest stay responsive while heavy queries load the collector?
# One pre-generated fleet workload is remote-written twice into one collector: first alone, then
# (other scrapes of the same fleet) while QUERIERS clients each run a heavy query back to back.
#
#   bench/admission/run.sh                   # from the repository root; binaries from ${BIN:-.build/release}
#   CLUSTERS=500 STEPS=20 CONCURRENCY=4 QUERIERS=8 MAX_CONCURRENCY=20 RUNS=3 bench/admission/run.sh
#   HEAVY='sum_over_time(vector(1)[3h:1ms])' bench/admission/run.sh
#
# Per phase and run it prints a RESULT line, then the medians over RUNS:
#   write_p50_ms / write_p99_ms   remote-write request latency (send to answer, fleetbench send)
#   samples/s                     acknowledged samples / wall-clock seconds of the send
#   healthy_p50_ms / _p99_ms      GET /-/healthy every 0.2 s during the send (curl time_total)
#   queries_ok / queries_503      heavy queries answered 200 / refused by admission during the phase
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

CLUSTERS=${CLUSTERS:-500}
STEPS=${STEPS:-20}
CONCURRENCY=${CONCURRENCY:-4}
QUERIERS=${QUERIERS:-8}
MAX_CONCURRENCY=${MAX_CONCURRENCY:-20}
RUNS=${RUNS:-3}
# A generated vector: 10.8 M subquery steps, no stored data needed, ~0.5 GB per query in flight,
# under the default max_samples (50 M) so it runs to the end instead of being refused.
HEAVY=${HEAVY:-sum_over_time(vector(1)[3h:1ms])}

need curl curl
check_bins collector
build_fleetbench
begin admission 1800
RESULTS=$WORK/results.txt
: >"$RESULTS"
HALF=$((STEPS / 2))
echo "# workload: $CLUSTERS clusters x 151 series, $STEPS scrapes (first $HALF alone, last $((STEPS - HALF)) under load), concurrency $CONCURRENCY"
echo "# load: $QUERIERS clients running '$HEAVY' back to back; query.max_concurrency=$MAX_CONCURRENCY"
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" | sed 's/^/#   /'

# healthy_probe URL OUT: /-/healthy latency in ms, one a line, every 0.2 s until killed.
healthy_probe() {
    while true; do
        curl -s -o /dev/null -m 30 -w '%{time_total}\n' "$1" | awk '{printf "%.2f\n", $1*1000}' >>"$2"
        sleep 0.2
    done
}

# querier URL OUT: the heavy query back to back until killed; one HTTP status a line.
querier() {
    while true; do
        curl -s -o /dev/null -m 120 -w '%{http_code}\n' --data-urlencode "query=$HEAVY" "$1/api/v1/query" >>"$2" || echo 000 >>"$2"
    done
}

pct() { sort -g | awk -v q="$1" '{a[NR]=$1} END { if (NR==0) {print "-"; exit} r=int(q*NR+0.999999); if (r<1) r=1; print a[r] }'; }

run_one() {   # run_one RUN
    local run=$1 port data log pid base
    port=$(free_port)
    data="$WORK/data"; rm -rf "$data"; mkdir -p "$data"
    log="$WORK/collector-$run.log"
    printf 'query:\n  max_concurrency: %s\n' "$MAX_CONCURRENCY" >"$WORK/collector.yml"
    start_collector "$log" "$port" --no-auth --data-dir "$data" --config "$WORK/collector.yml" --log-level warning
    pid=$LAST_PID; base="http://127.0.0.1:$port"
    wait_ready collector "$port"
    for phase in alone loaded; do
        local first=0 rounds=$HALF probes=() hfile="$WORK/healthy-$phase-$run.txt" qfile="$WORK/queries-$phase-$run.txt"
        [ "$phase" = loaded ] && { first=$HALF; rounds=$((STEPS - HALF)); }
        : >"$hfile"; : >"$qfile"
        if [ "$phase" = loaded ]; then
            for _ in $(seq 1 "$QUERIERS"); do querier "$base" "$qfile" & PIDS+=("$!"); probes+=("$!"); done
            sleep 3   # let the queries take the cores and their memory first
        fi
        healthy_probe "$base/-/healthy" "$hfile" & PIDS+=("$!"); probes+=("$!")
        local out
        out=$("$FLEETBENCH" send --dir "$WORK/load" --url "$base/api/v1/write" --concurrency "$CONCURRENCY" \
              --first-round "$first" --rounds "$rounds")
        for p in "${probes[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
        echo "#   run $run $phase: $out" | tr '\n' ' '; echo
        local hwm
        hwm=$(hwm_bytes "$pid")
        awk -v phase="$phase" -v run="$run" -v out="$out" -v h50="$(pct 0.5 <"$hfile")" -v h99="$(pct 0.99 <"$hfile")" \
            -v qok="$(grep -c '^200' "$qfile" || true)" -v q503="$(grep -c '^503' "$qfile" || true)" -v hwm="$hwm" 'BEGIN {
            n = split(out, f, /[ \n]/)
            for (i = 1; i <= n; i++) { split(f[i], kv, "="); v[kv[1]] = kv[2] }
            printf "RESULT system=%s run=%d write_p50_ms=%s write_p99_ms=%s samples_per_sec=%s send_errors=%s healthy_p50_ms=%s healthy_p99_ms=%s queries_ok=%d queries_503=%d rss_hwm_MB=%.0f\n",
                phase, run, v["p50_ms"], v["p99_ms"], v["samples_per_sec"], v["errors"], h50, h99, qok, q503, hwm / 1048576 }' | tee -a "$RESULTS"
    done
    stop "$pid"
    rm -rf "$data"
}

for run in $(seq 1 "$RUNS"); do run_one "$run"; done

echo
echo "## admission: medians of $RUNS runs ($CLUSTERS clusters, concurrency $CONCURRENCY, $QUERIERS heavy queriers, max_concurrency $MAX_CONCURRENCY)"
printf '%-8s %13s %13s %12s %15s %15s %11s %12s %11s\n' phase write_p50_ms write_p99_ms samples/s healthy_p50_ms healthy_p99_ms queries_ok queries_503 rss_hwm_MB
for phase in alone loaded; do
    printf '%-8s %13s %13s %12s %15s %15s %11s %12s %11s\n' "$phase" \
        "$(field write_p50_ms "$RESULTS" "$phase" | median)" "$(field write_p99_ms "$RESULTS" "$phase" | median)" \
        "$(field samples_per_sec "$RESULTS" "$phase" | median)" "$(field healthy_p50_ms "$RESULTS" "$phase" | median)" \
        "$(field healthy_p99_ms "$RESULTS" "$phase" | median)" "$(field queries_ok "$RESULTS" "$phase" | median)" \
        "$(field queries_503 "$RESULTS" "$phase" | median)" "$(field rss_hwm_MB "$RESULTS" "$phase" | median)"
done
echo "rss_hwm_MB is the collector's peak RSS since it started (so 'loaded' includes 'alone')."
