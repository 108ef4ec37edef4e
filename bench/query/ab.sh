#!/usr/bin/env bash
# A/B of two collector binaries on the same stored data: the query benchmark's 6 h of fleet data
# is loaded once (by B), the collector stopped (its head written out as blocks), the directory
# copied, and then A and B serve the two copies at the same time while queries.py asks both,
# interleaved, the same fleet queries. For changes to the read path (chunk decoding, the
# querier), where the peers' numbers are not what is in question.
#
#   BIN_A=/tmp/base BIN_B=.build/release bench/query/ab.sh     # dirs holding a collector binary
#   CLUSTERS=100 HOURS=6 QRUNS=7 ...
set -euo pipefail
source "$(dirname "$0")/../lib.sh"

CLUSTERS=${CLUSTERS:-100}
HOURS=${HOURS:-6}
QRUNS=${QRUNS:-7}
CONCURRENCY=${CONCURRENCY:-2}
BIN_A=$(cd "${BIN_A:?BIN_A: the directory of collector A}" && pwd)
BIN_B=$(cd "${BIN_B:-$BIN}" && pwd)
need python3 python3; need curl curl
BIN=$BIN_A check_bins collector; BIN=$BIN_B check_bins collector
build_fleetbench
begin query-ab 3000
STEPS=$((HOURS * 240))
END_MS=$(( ($(date +%s) - 120) * 1000 ))
"$FLEETBENCH" gen --out "$WORK/load" --clusters "$CLUSTERS" --steps "$STEPS" --samples-per-series 40 --end-ms "$END_MS" | sed 's/^/#   /'

P=$(free_port)
BIN=$BIN_B start_collector "$WORK/load.log" "$P" --no-auth --data-dir "$WORK/b" --log-level warning
wait_ready collector "$P"
echo "# loading into B ($BIN_B/collector), then stopping it"
send_all collector="$P"
stop "$LAST_PID" 300
cp -a "$WORK/b" "$WORK/a"
echo "# blocks: $(find "$WORK/b/tsdb" -mindepth 1 -maxdepth 1 -type d ! -name wal ! -name chunks_head | wc -l), $(dir_bytes "$WORK/b/tsdb") bytes"

PA=$(free_port); PB=$(free_port)
BIN=$BIN_A start_collector "$WORK/a.log" "$PA" --no-auth --data-dir "$WORK/a" --log-level warning
BIN=$BIN_B start_collector "$WORK/b.log" "$PB" --no-auth --data-dir "$WORK/b" --log-level warning
wait_ready collector "$PA" 300; wait_ready collector "$PB" 300
echo
echo "## query latency, median of $QRUNS runs: A = $BIN_A/collector, B = $BIN_B/collector (ratio = A/B)"
python3 "$REPO/bench/query/queries.py" --end $((END_MS / 1000)) --runs "$QRUNS" A="http://127.0.0.1:$PA" B="http://127.0.0.1:$PB"
