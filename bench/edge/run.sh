#!/usr/bin/env bash
# Edge benchmark: the edge scraper, vmagent and Prometheus in agent mode scrape the same targets
# (a real node_exporter + synthetic targets of ~1,000 series each) at the same interval, at the
# same time, and remote-write into one VictoriaMetrics, each with its own `agent` external label.
#
#   bench/edge/run.sh                        # from the repository root; binaries from ${BIN:-.build/release}
#   DURATION=120 INTERVAL=5 TARGETS=4 RUNS=3 bench/edge/run.sh
#
# Measured over DURATION seconds after a WARMUP, per agent:
#   RSS            VmRSS at the end (and peak VmHWM, and RssAnon: RSS without file-backed pages such as the binary)
#   cpu_s/M        agent utime+stime over the window / samples VictoriaMetrics received from it in the window
#   wire B/sample  the agent's own counter of remote-write bytes sent (compressed bodies: edge_scraper_remote_sent_bytes_total,
#                  vmagent_remotewrite_bytes_sent_total, prometheus_remote_storage_bytes_total) over the window / those samples
# "samples received" = sum(count_over_time({agent="X"}[window])) in VictoriaMetrics: one yardstick for all three.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

DURATION=${DURATION:-120}
WARMUP=${WARMUP:-20}
INTERVAL=${INTERVAL:-5}
TARGETS=${TARGETS:-4}
RUNS=${RUNS:-3}

need prometheus prometheus; need vmagent victoria-metrics; need victoria-metrics victoria-metrics
need prometheus-node-exporter prometheus-node-exporter; need curl curl; need python3 python3
check_bins edge-scraper
begin edge $(( RUNS * (DURATION + WARMUP + 60) + 120 ))
RESULTS=$WORK/results.txt; : >"$RESULTS"

# Metric value (summed over label sets) from a /metrics page.
metric() { curl -sf "$1" | awk -v m="$2" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%.0f\n", s }'; }

run_once() {
    local run=$1 ne vm pe pv pp tports=() tp targets d
    d="$WORK/run$run"; mkdir -p "$d"
    ne=$(free_port); vm=$(free_port); pe=$(free_port); pv=$(free_port); pp=$(free_port)
    for i in $(seq 1 "$TARGETS"); do tports+=("$(free_port)"); done
    local infra=()
    start node_exporter "$d/ne.log" prometheus-node-exporter --web.listen-address="127.0.0.1:$ne"; infra+=("$LAST_PID")
    start targets "$d/targets.log" python3 "$REPO/bench/edge/targets.py" --series 1000 "${tports[@]}"; infra+=("$LAST_PID")
    start_victoriametrics "$d/vm.log" "$vm" "$d/vm" -search.disableCache -search.latencyOffset=0s; infra+=("$LAST_PID")
    wait_http "http://127.0.0.1:$ne/metrics" 30; wait_ready victoriametrics "$vm" 30
    for tp in "${tports[@]}"; do wait_http "http://127.0.0.1:$tp/metrics" 30; done
    targets=$(printf "'127.0.0.1:%s'," "${tports[@]}"); targets=${targets%,}
    local scrape="scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$ne']}]
  - job_name: synthetic
    static_configs: [{targets: [$targets]}]"
    cat >"$d/edge.yml" <<YML
global:
  scrape_interval: ${INTERVAL}s
  scrape_timeout: ${INTERVAL}s
  external_labels: {agent: edge-scraper}
$scrape
remote_write:
  - url: http://127.0.0.1:$vm/api/v1/write
node: {enabled: false}
queue: {dir: $d/edge-queue, max_bytes: 512MiB}
YML
    cat >"$d/prom.yml" <<YML
global:
  scrape_interval: ${INTERVAL}s
  scrape_timeout: ${INTERVAL}s
  external_labels: {agent: prometheus-agent}
$scrape
remote_write:
  - url: http://127.0.0.1:$vm/api/v1/write
YML
    printf 'global:\n  scrape_interval: %ss\n  scrape_timeout: %ss\n%s\n' "$INTERVAL" "$INTERVAL" "$scrape" >"$d/vmagent.yml"
    start edge-scraper "$d/edge.log" "$BIN/edge-scraper" --config "$d/edge.yml" --listen "127.0.0.1:$pe"
    local epid=$LAST_PID
    start vmagent "$d/vmagent.log" vmagent -promscrape.config="$d/vmagent.yml" -remoteWrite.url="http://127.0.0.1:$vm/api/v1/write" \
        -remoteWrite.label=agent=vmagent -httpListenAddr="127.0.0.1:$pv" -remoteWrite.tmpDataPath="$d/vmagent-queue" -loggerLevel=WARN
    local vpid=$LAST_PID
    start prometheus-agent "$d/prom.log" prometheus --enable-feature=agent --config.file="$d/prom.yml" \
        --storage.agent.path="$d/prom-agent" --web.listen-address="127.0.0.1:$pp"
    local ppid=$LAST_PID
    wait_http "http://127.0.0.1:$pe/metrics" 30; wait_http "http://127.0.0.1:$pv/metrics" 30; wait_http "http://127.0.0.1:$pp/metrics" 30
    sleep "$WARMUP"

    local t0 t1 ce0 cv0 cp0 ce1 cv1 cp1 be0 bv0 bp0 be1 bv1 bp1
    t0=$(date +%s)
    ce0=$(cpu_ticks $epid); cv0=$(cpu_ticks $vpid); cp0=$(cpu_ticks $ppid)
    be0=$(metric "http://127.0.0.1:$pe/metrics" edge_scraper_remote_sent_bytes_total)
    bv0=$(metric "http://127.0.0.1:$pv/metrics" vmagent_remotewrite_bytes_sent_total)
    bp0=$(metric "http://127.0.0.1:$pp/metrics" prometheus_remote_storage_bytes_total)
    sleep "$DURATION"
    t1=$(date +%s)
    ce1=$(cpu_ticks $epid); cv1=$(cpu_ticks $vpid); cp1=$(cpu_ticks $ppid)
    be1=$(metric "http://127.0.0.1:$pe/metrics" edge_scraper_remote_sent_bytes_total)
    bv1=$(metric "http://127.0.0.1:$pv/metrics" vmagent_remotewrite_bytes_sent_total)
    bp1=$(metric "http://127.0.0.1:$pp/metrics" prometheus_remote_storage_bytes_total)
    local re rv rp he hv hp ae av ap
    re=$(rss_bytes $epid); rv=$(rss_bytes $vpid); rp=$(rss_bytes $ppid)
    ae=$(anon_bytes $epid); av=$(anon_bytes $vpid); ap=$(anon_bytes $ppid)
    he=$(hwm_bytes $epid); hv=$(hwm_bytes $vpid); hp=$(hwm_bytes $ppid)
    sleep $((INTERVAL + 2))   # let the last batches of the window arrive
    curl -sf "http://127.0.0.1:$vm/internal/force_flush" >/dev/null; sleep 2
    local agent n cpu bytes rss hwm anon
    for agent in edge-scraper vmagent prometheus-agent; do
        n=$(curl -sf "http://127.0.0.1:$vm/api/v1/query" --data-urlencode "query=sum(count_over_time({agent=\"$agent\"}[$((t1 - t0))s]))" \
            --data-urlencode "time=$t1" | sed -n 's/.*"value":\[[^,]*,"\([0-9.e+]*\)"\].*/\1/p')
        case $agent in
        edge-scraper) cpu=$((ce1 - ce0)); bytes=$((be1 - be0)); rss=$re; hwm=$he; anon=$ae ;;
        vmagent) cpu=$((cv1 - cv0)); bytes=$((bv1 - bv0)); rss=$rv; hwm=$hv; anon=$av ;;
        prometheus-agent) cpu=$((cp1 - cp0)); bytes=$((bp1 - bp0)); rss=$rp; hwm=$hp; anon=$ap ;;
        esac
        awk -v a="$agent" -v r="$run" -v n="${n:-0}" -v cpu="$cpu" -v tck="$CLK_TCK" -v b="$bytes" -v rss="$rss" -v hwm="$hwm" -v anon="$anon" 'BEGIN {
            printf "RESULT system=%s run=%d samples=%d rss_MiB=%.1f hwm_MiB=%.1f anon_MiB=%.1f cpu_s=%.2f cpu_s_per_M=%.3f wire_B_per_sample=%.3f\n",
                a, r, n, rss/1048576, hwm/1048576, anon/1048576, cpu/tck, (n>0 ? (cpu/tck)/(n/1e6) : -1), (n>0 ? b/n : -1) }' | tee -a "$RESULTS"
    done
    for p in $ppid $vpid $epid; do stop "$p" 30; done
    for p in "${infra[@]}"; do stop "$p" 10; done
    rm -rf "$d"
}

echo "# $TARGETS synthetic targets x 1000 series + node_exporter, every ${INTERVAL}s, ${DURATION}s measured after ${WARMUP}s, $RUNS runs"
for run in $(seq 1 "$RUNS"); do run_once "$run"; done

echo
echo "## edge agents: medians of $RUNS runs"
printf '%-18s %10s %10s %10s %12s %12s %14s\n' agent RSS_MiB peak_MiB anon_MiB cpu_s/M_smp wire_B/smp samples/window
for a in edge-scraper vmagent prometheus-agent; do
    printf '%-18s %10s %10s %10s %12s %12s %14s\n' "$a" "$(field rss_MiB "$RESULTS" "$a" | median)" "$(field hwm_MiB "$RESULTS" "$a" | median)" "$(field anon_MiB "$RESULTS" "$a" | median)" \
        "$(field cpu_s_per_M "$RESULTS" "$a" | median)" "$(field wire_B_per_sample "$RESULTS" "$a" | median)" "$(field samples "$RESULTS" "$a" | median)"
done
m() { field "$1" "$RESULTS" "$2" | median; }
awk -v er="$(m rss_MiB edge-scraper)" -v vr="$(m rss_MiB vmagent)" -v ec="$(m cpu_s_per_M edge-scraper)" -v vc="$(m cpu_s_per_M vmagent)" \
    -v ew="$(m wire_B_per_sample edge-scraper)" -v pw="$(m wire_B_per_sample prometheus-agent)" 'BEGIN {
    printf "target RSS <= 0.5x vmagent: edge/vmagent = %.2fx %s\n", er/vr, (er <= 0.5*vr ? "MET" : "MISSED")
    printf "target CPU/sample <= 0.7x vmagent: edge/vmagent = %.2fx %s\n", ec/vc, (ec <= 0.7*vc ? "MET" : "MISSED")
    printf "target wire bytes/sample <= Prometheus agent: edge/prometheus = %.2fx %s\n", ew/pw, (ew <= pw ? "MET" : "MISSED") }'
