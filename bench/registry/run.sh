#!/usr/bin/env bash
# bench/registry (issue 13): a 125,000-cluster fleet registry on the embedded SQLite and on
# PostgreSQL (a private instance started here: initdb + postgres on loopback, as the unprivileged
# `postgres` user when run as root, stopped by PID). Per state store, a fresh --no-auth collector
# is filled through remote-write (bench/dashboard/fill.py: a few series per cluster), then:
#   fill_s        wall time of the fill (ingest and the in-memory registry)
#   persist_s     from the end of the fill until every cluster is written to the store
#   rows/s        clusters written / time inside the registry's flushes
#                 (fleetscope_fleet_registry_rows_written_total / ..._flush_seconds_total)
#   summary_ms, clusters_ms   median of 5 of /api/v1/fleet/summary and the clusters page's
#                 JSON (/api/v1/fleet/clusters?sort=health&limit=100)
#   restart_s     a second collector on the same store: start until /-/ready (it loads the registry)
# usage: CLUSTERS=125000 STORES="sqlite postgres" bench/registry/run.sh
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
CLUSTERS=${CLUSTERS:-125000}
STORES=${STORES:-sqlite postgres}
check_bins collector
need curl curl; need python3 python3
begin registry 2400

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi; }

start_postgres() {   # sets PG_URL and PG_PID
    [ -x "$PGBIN/postgres" ] || { echo "no PostgreSQL (apt-get install -y postgresql)" >&2; exit 1; }
    local dir=$WORK/pg port; port=$(free_port)
    mkdir -p "$dir"; echo "bench-pw" >"$dir/pw"
    # The postgres user must reach its directory through the (root-only) work dir.
    if [ "$(id -u)" = 0 ]; then chmod 711 "$WORK"; chown -R postgres:postgres "$dir"; fi
    as_pg "$PGBIN/initdb" -D "$dir/data" -U fleetscope --pwfile "$dir/pw" --auth scram-sha-256 -E UTF8 >"$WORK/initdb.log" 2>&1
    local server=("$PGBIN/postgres" -D "$dir/data" -h 127.0.0.1 -p "$port" -k "$dir")
    # setpriv execs in place, so the PID is the postmaster's.
    if [ "$(id -u)" = 0 ]; then server=(setpriv --reuid=postgres --regid=postgres --init-groups -- "${server[@]}"); fi
    start postgres "$WORK/postgres.log" "${server[@]}"
    PG_PID=$LAST_PID
    for _ in $(seq 100); do PGPASSWORD=bench-pw "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break; sleep 0.2; done
    PGPASSWORD=bench-pw "$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U fleetscope fleetscope
    PG_URL="postgres://fleetscope:bench-pw@127.0.0.1:$port/fleetscope"
}

metric() { curl -sf "$1/metrics" | awk -v n="$2" '$1==n {print $2; exit}'; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
curl_ms() { curl -s -o /dev/null -w "%{time_total}" "$1" | awk '{printf "%.1f\n", $1*1000}'; }

printf '%-9s %9s %8s %10s %9s %10s %12s %10s %9s\n' store clusters fill_s persist_s rows/s summary_ms clusters_ms restart_s rss_MiB
for store in $STORES; do
    data="$WORK/data-$store"; mkdir -p "$data"
    : >"$WORK/collector-$store.yml"
    if [ "$store" = postgres ]; then
        start_postgres
        printf 'state:\n  postgres: "%s"\n' "$PG_URL" >"$WORK/collector-$store.yml"
    fi
    port=$(free_port); url="http://127.0.0.1:$port"
    start_collector "$WORK/collector-$store.log" "$port" --no-auth --data-dir "$data" --config "$WORK/collector-$store.yml" --log-level warning
    pid=$LAST_PID
    wait_ready collector "$port"
    t0=$(date +%s%N)
    python3 "$REPO/bench/dashboard/fill.py" "$url/api/v1/write" "$CLUSTERS" 2>/dev/null
    fill_ms=$(ms_since "$t0")
    t1=$(date +%s%N)
    until [ "$(metric "$url" fleetscope_fleet_registry_rows_written_total | awk '{printf "%d", $1}')" -ge "$CLUSTERS" ] 2>/dev/null; do sleep 0.5; done
    persist_ms=$(ms_since "$t1")
    rows=$(metric "$url" fleetscope_fleet_registry_rows_written_total)
    secs=$(metric "$url" fleetscope_fleet_registry_flush_seconds_total)
    summary=$(for _ in 1 2 3 4 5; do curl_ms "$url/api/v1/fleet/summary"; done | median)
    list=$(for _ in 1 2 3 4 5; do curl_ms "$url/api/v1/fleet/clusters?sort=health&limit=100"; done | median)
    rss=$(awk -v b="$(rss_bytes "$pid")" 'BEGIN {printf "%.0f", b/1048576}')
    stop "$pid" 120
    # A second collector on the same store (same data dir for SQLite): how long loading the registry takes.
    port=$(free_port)
    t2=$(date +%s%N)
    start_collector "$WORK/collector-$store-2.log" "$port" --no-auth --data-dir "$data" --config "$WORK/collector-$store.yml" --log-level warning
    pid=$LAST_PID
    wait_ready collector "$port" 300
    restart_ms=$(ms_since "$t2")
    known=$(curl -sf "http://127.0.0.1:$port/api/v1/fleet/summary" | python3 -c 'import json,sys; d=json.load(sys.stdin)["data"]; print(d.get("total", d.get("clusters", "?")))' 2>/dev/null || echo "?")
    stop "$pid" 120
    [ "$store" = postgres ] && stop "$PG_PID" 60
    awk -v s="$store" -v n="$CLUSTERS" -v f="$fill_ms" -v p="$persist_ms" -v r="$rows" -v t="$secs" -v sm="$summary" -v l="$list" -v rs="$restart_ms" -v m="$rss" \
        'BEGIN {printf "%-9s %9d %8.1f %10.1f %9.0f %10s %12s %10.1f %9s\n", s, n, f/1000, p/1000, (t > 0 ? r/t : 0), sm, l, rs/1000, m}'
    echo "# $store: after the restart the summary counts $known clusters" >&2
done
echo "# persist_s includes up to one flush interval (10 s) of waiting; rows/s counts only time inside flushes."
