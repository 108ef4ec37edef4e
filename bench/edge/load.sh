# Sourced by bench/edge/profile.sh and pair.sh (after bench/lib.sh): the load they put an edge
# scraper under, and its config for it.

# start_edge_load N: a real node_exporter, N synthetic targets of 1,000 series and one
# VictoriaMetrics, all answering; sets $ne, $vm (ports) and $targets (the YAML list of targets).
start_edge_load() {
    local tports=() tp i
    ne=$(free_port); vm=$(free_port)
    for i in $(seq 1 "$1"); do tports+=("$(free_port)"); done
    start node_exporter "$WORK/ne.log" prometheus-node-exporter --web.listen-address="127.0.0.1:$ne"
    start targets "$WORK/targets.log" python3 "$REPO/bench/edge/targets.py" --series 1000 "${tports[@]}"
    start victoriametrics "$WORK/vm.log" victoria-metrics -storageDataPath="$WORK/vm" -httpListenAddr="127.0.0.1:$vm" -loggerLevel=WARN
    wait_http "http://127.0.0.1:$ne/metrics" 30; wait_http "http://127.0.0.1:$vm/health" 30
    for tp in "${tports[@]}"; do wait_http "http://127.0.0.1:$tp/metrics" 30; done
    targets=$(printf "'127.0.0.1:%s'," "${tports[@]}"); targets=${targets%,}
}

# edge_yml FILE AGENT QUEUE_DIR: every 5 s, node_exporter and the synthetic targets, into $vm.
edge_yml() {
    cat >"$1" <<YML
global:
  scrape_interval: 5s
  scrape_timeout: 5s
  external_labels: {agent: $2}
scrape_configs:
  - job_name: node
    static_configs: [{targets: ['127.0.0.1:$ne']}]
  - job_name: synthetic
    static_configs: [{targets: [$targets]}]
remote_write:
  - url: http://127.0.0.1:$vm/api/v1/write
node: {enabled: false}
queue: {dir: $3, max_bytes: 512MiB}
YML
}

# vmagent_yml FILE: vmagent's scrape config for the same targets as edge_yml's.
vmagent_yml() {
    printf 'global: {scrape_interval: 5s, scrape_timeout: 5s}\nscrape_configs:\n  - job_name: node\n    static_configs: [{targets: [%s]}]\n  - job_name: synthetic\n    static_configs: [{targets: [%s]}]\n' \
        "'127.0.0.1:$ne'" "$targets" >"$1"
}

# regions PID: one line per region, KiB resident. The binary's own mappings are told apart by permissions
# (r-xp text; r--p read-only data, relocation tables, RELRO; rw-p data and .bss).
regions() {
    awk -v exe="$(readlink "/proc/$1/exe")" '
        /^[0-9a-f]+-[0-9a-f]+ / {
            perms = $2; path = $6
            if (path == exe) r = "bin " perms
            else if (path == "") r = "anon"
            else if (path ~ /^\[/) r = path
            else { n = split(path, p, "/"); r = "lib " p[n] }
            next
        }
        $1 == "Rss:" { kib[r] += $2; total += $2 }
        END { for (k in kib) if (kib[k] > 0) printf "%-32s %8d\n", k, kib[k]; printf "%-32s %8d\n", "TOTAL", total }
    ' "/proc/$1/smaps" | sort
}
