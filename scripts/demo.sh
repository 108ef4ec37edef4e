#!/usr/bin/env bash
# make demo: a collector on 127.0.0.1:9490, fed by an edge scraper for this machine and a
# simulated fleet of a few hundred clusters in several regions (some failing now and then).
# Ctrl-C stops everything. Knobs: DEMO_CLUSTERS (default 300), DEMO_SERIES (default 120).
# Says what it does while it does it: tokens, collector, then the simulator's phases (every
# cluster's live sample first, the hour of history beside it).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release}
DATA=${DEMO_DATA:-./data}
RUN=$DATA/demo-run
CLUSTERS=${DEMO_CLUSTERS:-300}
SERIES=${DEMO_SERIES:-120}
mkdir -p "$RUN"
pids=()
say() { echo "[demo $(date +%H:%M:%S)] $*"; }
cleanup() {
  echo; echo "stopping demo..."
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Ingest tokens are per cluster: one for this machine, one per simulated cluster. Made once
# and kept in the data dir, so a second `make demo` reuses them.
LOCAL=$(hostname)
TOKEN_FILE=$RUN/local.token
[ -s "$TOKEN_FILE" ] || $BIN/collector token create --data-dir "$DATA" --cluster "$LOCAL" > "$TOKEN_FILE"
FLEET_TOKENS=$RUN/fleet-tokens-$CLUSTERS.txt
if [ ! -s "$FLEET_TOKENS" ]; then
  say "creating $CLUSTERS ingest tokens for the simulated fleet (once; kept in $RUN for the next run)..."
  # The simulator names its clusters edge-00001, edge-00002, ... (SimCluster.clusterName).
  for i in $(seq 1 "$CLUSTERS"); do
    name=$(printf 'edge-%05d' "$i")
    echo "$name $($BIN/collector token create --data-dir "$DATA" --cluster "$name")"
    if [ $((i % 50)) -eq 0 ] || [ "$i" -eq "$CLUSTERS" ]; then say "  tokens: $i of $CLUSTERS" >&2; fi
  done > "$FLEET_TOKENS.tmp"
  mv "$FLEET_TOKENS.tmp" "$FLEET_TOKENS"
else
  say "reusing the $CLUSTERS ingest tokens in $FLEET_TOKENS"
fi

# A collector still answering on the port is another demo's (still writing its data out after
# Ctrl-C, say): wait for it, or the health check below would be answered by it.
for i in $(seq 1 120); do
  curl -fsS -o /dev/null http://127.0.0.1:9490/-/healthy 2>/dev/null || break
  [ "$i" -eq 1 ] && say "127.0.0.1:9490 is taken by another collector (a demo still stopping?); waiting up to 60 s..."
  [ "$i" -eq 120 ] && { say "127.0.0.1:9490 is still taken: stop the other collector and run make demo again"; exit 1; }
  sleep 0.5
done

say "starting the collector (log: $RUN/collector.log)..."
$BIN/collector --listen 127.0.0.1:9490 --data-dir "$DATA" > "$RUN/collector.log" 2>&1 & cpid=$!; pids+=($cpid)
up=0
for _ in $(seq 1 150); do
  kill -0 "$cpid" 2>/dev/null || break
  curl -fsS -o /dev/null http://127.0.0.1:9490/-/healthy 2>/dev/null && { up=1; break; }
  sleep 0.2
done
if [ "$up" != 1 ]; then
  say "the collector did not come up; the end of $RUN/collector.log:"
  tail -n 5 "$RUN/collector.log"
  exit 1
fi
say "collector up"

# This machine, through our own edge scraper: built-in node collector, disk queue.
cat > "$RUN/edge.yml" <<YML
global:
  scrape_interval: 15s
  external_labels: { region: local, site: $LOCAL }
node:
  enabled: true
remote_write:
  - url: http://127.0.0.1:9490/api/v1/write
    authorization: { credentials_file: $(realpath "$TOKEN_FILE") }
queue:
  dir: $(realpath "$RUN")/edge-queue
  max_bytes: 256MiB
YML
$BIN/edge-scraper --config "$RUN/edge.yml" --listen 127.0.0.1:9491 > "$RUN/edge-scraper.log" 2>&1 & pids+=($!)

# The fleet: every cluster's current sample first (the fleet shows within one 15 s interval),
# the last hour of history beside it, then live every 15 s until Ctrl-C. Samples are a pure
# function of time, so a second `make demo` rewrites the same hour with the same values.
say "starting $CLUSTERS simulated clusters: live first, the last hour of history beside it..."
: > "$RUN/simulate.log"
$BIN/edge-scraper simulate --clusters "$CLUSTERS" --series-per-cluster "$SERIES" \
  --remote-write http://127.0.0.1:9490/api/v1/write --token-file "$FLEET_TOKENS" \
  --interval 15s --duration 0 --backfill 1h --fail-fraction 0.08 > "$RUN/simulate.log" 2>&1 & pids+=($!)

cat <<MSG

  Fleetscope dashboard:  http://127.0.0.1:9490/
  user: admin   password: $(cat "$DATA/initial-admin-password" 2>/dev/null || echo "(see $DATA/initial-admin-password)")

  Fed by: an edge scraper for this machine (cluster "$LOCAL") and $CLUSTERS simulated clusters.
  Try:  curl -u admin:PASSWORD 'http://127.0.0.1:9490/api/v1/query?query=sum by (region) (up)'
        curl -u admin:PASSWORD 'http://127.0.0.1:9490/api/v1/fleet/summary'
  Logs: $RUN/*.log        Ctrl-C stops the demo.

MSG
# The simulator's phase lines (live, backfilling, backfill done), as they happen. tail is the
# process the cleanup stops (the filter ends with it); --pid also ends it should this script die.
tail --pid=$$ -n +1 -F "$RUN/simulate.log" 2>/dev/null > >(
  grep --line-buffered -o '\] simulate: \(live.*\|backfill.*\)' | while IFS= read -r line; do say "${line#] simulate: }"; done
) & pids+=($!)
wait
