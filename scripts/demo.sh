#!/usr/bin/env bash
# make demo: a collector on 127.0.0.1:9490 fed by this machine's metrics. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.build/release
DATA=./data
RUN=$DATA/demo-run
mkdir -p "$RUN"
pids=()
cleanup() {
  echo; echo "stopping demo..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

TOKEN_FILE=$RUN/local.token
[ -s "$TOKEN_FILE" ] || $BIN/collector token create --data-dir "$DATA" --cluster "$(hostname)" > "$TOKEN_FILE"

$BIN/collector --listen 127.0.0.1:9490 --data-dir "$DATA" > "$RUN/collector.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -fsS -o /dev/null http://127.0.0.1:9490/-/healthy 2>/dev/null && break; sleep 0.2; done

# Until the edge scraper is wired into the demo, a real node_exporter scraped by a real
# Prometheus (agent-style, remote-writing) feeds the collector.
prometheus-node-exporter --web.listen-address=127.0.0.1:19100 > "$RUN/node-exporter.log" 2>&1 & pids+=($!)
cat > "$RUN/prometheus.yml" <<YML
global: { scrape_interval: 5s, external_labels: { region: local } }
scrape_configs:
  - job_name: node
    static_configs: [ { targets: [ "127.0.0.1:19100" ] } ]
remote_write:
  - url: http://127.0.0.1:9490/api/v1/write
    authorization: { credentials_file: $(realpath "$TOKEN_FILE") }
    queue_config: { batch_send_deadline: 2s }
YML
prometheus --config.file="$RUN/prometheus.yml" --storage.tsdb.path="$RUN/prometheus" \
  --web.listen-address=127.0.0.1:19090 > "$RUN/prometheus.log" 2>&1 & pids+=($!)

cat <<MSG

  Fleetscope collector:  http://127.0.0.1:9490/
  user: admin   password: $(cat "$DATA/initial-admin-password" 2>/dev/null || echo "(see $DATA/initial-admin-password)")

  Try:  curl -u admin:PASSWORD 'http://127.0.0.1:9490/api/v1/query?query=rate(node_cpu_seconds_total[1m])'
        curl -u admin:PASSWORD 'http://127.0.0.1:9490/api/v1/series?match[]=up'
  Logs: $RUN/*.log        Ctrl-C stops the demo.

MSG
wait
