#!/usr/bin/env bash
# Snapshot during ingest, stop, restore into an empty data dir, start, same answers.
# Proves: POST /api/v1/admin/tsdb/snapshot answers Prometheus' JSON for an admin and 403 for a
# viewer; the snapshot (blocks + WAL + both SQLite files) opens as a data directory; a query
# over the snapshotted range answers the same before and after the restore; users and ingest
# tokens survive (the admin logs in, the cluster's token still writes).
# Usage: deploy/test/snapshot-restore.sh [BIN_DIR]   (default .build/debug)
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/debug}")
T=$(mktemp -d /tmp/fleetscope-snapshot.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$T"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$T"/*.log; do echo "--- $f"; tail -20 "$f"; done >&2; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ready() { for _ in $(seq 1 150); do curl -fsS -o /dev/null "http://127.0.0.1:$1/-/ready" 2>/dev/null && return 0; sleep 0.2; done; fail "collector on $1 not ready"; }

P=$(port)
TOKEN=$("$BIN/collector" token create --data-dir "$T/data" --cluster store-1)
"$BIN/collector" --listen "127.0.0.1:$P" --data-dir "$T/data" > "$T/collector1.log" 2>&1 & c1=$!; pids+=($c1)
wait_ready "$P"
PW=$(cat "$T/data/initial-admin-password")
printf 'viewer-pass-1\n' > "$T/vpw"
"$BIN/collector" user add --data-dir "$T/data" --name vic --password-file "$T/vpw" --role viewer --scope all >/dev/null
echo "$TOKEN" > "$T/token"

# Ingest runs through the snapshot: one cluster's of samples, 10 minutes of history first.
"$BIN/edge-scraper" simulate --clusters 1 --series-per-cluster 50 --remote-write "http://127.0.0.1:$P/api/v1/write" \
  --token-file "$T/token" --interval 15s --duration 0 --backfill 10m > "$T/simulate.log" 2>&1 & sim=$!; pids+=($sim)
points='import json,sys; print(sum(len(r["values"]) for r in json.load(sys.stdin)["data"]["result"]))'
for _ in $(seq 1 100); do
  n=$(curl -fsS -u "admin:$PW" --data-urlencode 'query={cluster="store-1"}[10m]' "http://127.0.0.1:$P/api/v1/query" | python3 -c "$points")
  [ "$n" -gt 1000 ] && break; sleep 0.3
done
[ "$n" -gt 1000 ] || fail "ingest did not arrive ($n samples)"

code=$(curl -s -o "$T/viewer.json" -w '%{http_code}' -u "vic:viewer-pass-1" -X POST "http://127.0.0.1:$P/api/v1/admin/tsdb/snapshot")
[ "$code" = 403 ] || fail "viewer got $code for a snapshot, want 403"
curl -fsS -u "admin:$PW" -X POST "http://127.0.0.1:$P/api/v1/admin/tsdb/snapshot" > "$T/snap.json" || fail "snapshot request failed"
NAME=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["status"]=="success", d; print(d["data"]["name"])' "$T/snap.json") || fail "bad answer $(cat "$T/snap.json")"
SNAP="$T/data/snapshots/$NAME"
[ -d "$SNAP/tsdb/wal" ] && [ -f "$SNAP/fleetscope.sqlite" ] || fail "snapshot $SNAP lacks tsdb/wal or fleetscope.sqlite: $(ls -R "$SNAP" | head)"
[ ! -e "$SNAP.tmp" ] || fail "temporary snapshot directory left behind"

# The answer to compare: a range that ends before the snapshot began, at a fixed evaluation time.
AT=$(python3 -c 'import time; print(int(time.time()) - 30)')
# Raw samples (a range selector), so every stored value and timestamp is compared.
ask() { curl -fsS -u "admin:$PW" --data-urlencode 'query={cluster="store-1"}[5m]' --data-urlencode "time=$AT" "http://127.0.0.1:$1/api/v1/query"; }
ask "$P" > "$T/before.json"
kill "$sim" "$c1"; wait "$c1" 2>/dev/null || true

# Restore: the snapshot's contents into an empty data directory, as docs/operations.md says.
mkdir -m 700 "$T/restored"
cp -a "$SNAP/." "$T/restored/"
P2=$(port)
"$BIN/collector" --listen "127.0.0.1:$P2" --data-dir "$T/restored" > "$T/collector2.log" 2>&1 & c2=$!; pids+=($c2)
wait_ready "$P2"
ask "$P2" > "$T/after.json"
python3 - "$T/before.json" "$T/after.json" <<'PY' || fail "answers differ after restore"
import json, sys
b, a = (json.load(open(f)) for f in sys.argv[1:3])
key = lambda r: sorted(r["metric"].items())
rb = sorted(((key(r), r["values"]) for r in b["data"]["result"]))
ra = sorted(((key(r), r["values"]) for r in a["data"]["result"]))
assert len(rb) >= 40, f"too few series before: {len(rb)}"
assert rb == ra, f"before {len(rb)} series, after {len(ra)}; first difference: {next((x, y) for x, y in zip(rb, ra) if x != y) if len(rb) == len(ra) else ''}"
print(f"same {sum(len(v) for _, v in rb)} samples of {len(rb)} series before and after the restore")
PY
# The restored SQLite: the cluster's token still writes, the viewer still logs in.
curl -fsS -o /dev/null -u "vic:viewer-pass-1" "http://127.0.0.1:$P2/api/v1/labels" || fail "viewer cannot log in after restore"
"$BIN/edge-scraper" simulate --clusters 1 --series-per-cluster 10 --remote-write "http://127.0.0.1:$P2/api/v1/write" \
  --token-file "$T/token" --interval 15s --duration 1s > "$T/simulate2.log" 2>&1 || fail "the restored token does not write"
echo "PASS snapshot-restore ($NAME)"
