#!/usr/bin/env bash
# Login-storm benchmark: /-/healthy and remote-write latency (p50/p99) while clients hammer the
# collector with wrong HTTP Basic passwords (issue 11 item 4). Authentication on, one fresh
# collector per phase so throttling state does not carry over.
#
#   bench/auth/run.sh                           # from the repository root; binaries from ${BIN:-.build/release}
#   ATTACKERS="0 16 64" SECONDS_PER_PHASE=20 bench/auth/run.sh
#
# Phases, for each N in ATTACKERS:
#   one address  N clients from 127.0.0.1 guessing admin's password: throttling engages after 5
#                failures, the rest are answered 429 without bcrypt
#   spread       N clients, every attempt from a fresh 127.x.y.z address with a fresh user name
#                (a botnet): throttling never engages, only bcrypt's own bounded pool protects
# Meanwhile one client GETs /-/healthy and one remote-writes (~2000 samples a request, ingest
# token) every INTERVAL_MS; the RESULT line has their latency percentiles and the login answers.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

ATTACKERS=${ATTACKERS:-0 16 64}
SECONDS_PER_PHASE=${SECONDS_PER_PHASE:-20}
INTERVAL_MS=${INTERVAL_MS:-20}

need curl curl
check_bins collector
build_fleetbench
begin auth 1200
RESULTS=$WORK/results.txt
: >"$RESULTS"
echo "# each phase ${SECONDS_PER_PHASE}s; /-/healthy and one remote-write (~2000 samples) every ${INTERVAL_MS} ms"
"$FLEETBENCH" gen --out "$WORK/load" --clusters 50 --steps 10 | sed 's/^/#   /'

phase() {   # phase ATTACKERS SPREAD
    local n=$1 spread=$2 port data log pid token
    port=$(free_port)
    data="$WORK/data-$n-$spread"; rm -rf "$data"; mkdir -p "$data"
    log="$WORK/collector-$n-$spread.log"
    start_collector "$log" "$port" --data-dir "$data" --log-level error
    pid=$LAST_PID; wait_ready collector "$port"
    token=$("$BIN/collector" token create --data-dir "$data" --cluster bench-1 --label region=eu | tail -1)
    "$FLEETBENCH" login-storm --port "$port" --token "$token" --dir "$WORK/load" --attackers "$n" \
        --seconds "$SECONDS_PER_PHASE" --interval-ms "$INTERVAL_MS" --spread "$spread" | tee -a "$RESULTS"
    stop "$pid"
    rm -rf "$data"
}

for n in $ATTACKERS; do
    phase "$n" 0
    [ "$n" -gt 0 ] && phase "$n" 1
done

echo
echo "## login storm: latency while N clients send wrong passwords (ms)"
printf '%-10s %-12s %10s %10s %10s %10s %10s %10s %10s\n' attackers source health_p50 health_p99 ingest_p50 ingest_p99 logins/s 401 429
grep '^RESULT ' "$RESULTS" | while read -r line; do
    get() { tr ' ' '\n' <<<"$line" | awk -F= -v k="$1" '$1==k {print $2}'; }
    printf '%-10s %-12s %10s %10s %10s %10s %10s %10s %10s\n' "$(get attackers)" "$([ "$(get spread)" = 1 ] && echo spread || echo one-address)" \
        "$(get health_p50_ms)" "$(get health_p99_ms)" "$(get ingest_p50_ms)" "$(get ingest_p99_ms)" \
        "$(get logins_per_s)" "$(get login_401)" "$(get login_429)"
done
