#!/usr/bin/env bash
# bench/dashboard: how fast the fleet overview opens at 1,000, 10,000 and 125,000 clusters.
# For each size: a fresh --no-auth collector is filled through remote-write (fill.py), then
#   - time to first byte of `/` and latency of the JSON the overview needs (median of 5, curl),
#   - time to a rendered overview in real headless Chromium: the page stamps
#     `data-first-render-ms` (performance.now() when the heat map and the first table page are
#     drawn) on <body>; the wall time of the whole Chromium run minus an empty page's run is
#     printed beside it as a cross-check,
#   - the collector's RSS.
# usage: bench/dashboard/run.sh [SIZES...]   (default: 1000 10000 125000)
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
SIZES=("${@:-1000 10000 125000}")
read -r -a SIZES <<<"${SIZES[*]}"
check_bins collector
need chromium chromium
need curl curl
begin dashboard 1500

chrome() { chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$WORK/chrome" "$@" 2>/dev/null; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# curl_ms URL FIELD: one request, the given timing in ms.
curl_ms() { curl -s -o /dev/null -w "%{$2}" "$1" | awk '{printf "%.1f\n", $1*1000}'; }

# Chromium's own start-up and an empty page, to subtract from the wall time below.
# (One cold start first: it is much slower than the warm ones measured below.)
chrome --dump-dom about:blank >/dev/null
blank_ms=$(for _ in 1 2 3; do t0=$(date +%s%N); chrome --dump-dom about:blank >/dev/null; ms_since "$t0"; done | median)

printf '%-9s %9s %8s %10s %9s %12s %11s %13s %11s %9s\n' clusters fill_s ttfb_ms summary_ms grid_ms clusters_ms grid_bytes rendered_ms wall_ms rss_MiB
for n in "${SIZES[@]}"; do
    port=$(free_port)
    data="$WORK/data-$n"
    start_collector "$WORK/collector-$n.log" "$port" --no-auth --data-dir "$data"
    pid=$LAST_PID
    url="http://127.0.0.1:$port"
    wait_ready collector "$port"
    t0=$(date +%s%N)
    python3 "$(dirname "$0")/fill.py" "$url/api/v1/write" "$n" 2>/dev/null
    fill_s=$(awk -v ms="$(ms_since "$t0")" 'BEGIN {printf "%.1f", ms/1000}')

    ttfb=$(for _ in 1 2 3 4 5; do curl_ms "$url/" time_starttransfer; done | median)
    summary=$(for _ in 1 2 3 4 5; do curl_ms "$url/api/v1/fleet/summary" time_total; done | median)
    grid=$(for _ in 1 2 3 4 5; do curl_ms "$url/api/v1/fleet/grid" time_total; done | median)
    list=$(for _ in 1 2 3 4 5; do curl_ms "$url/api/v1/fleet/clusters?sort=health&limit=100" time_total; done | median)
    grid_bytes=$(curl -s "$url/api/v1/fleet/grid" | wc -c)

    rendered=() walls=()
    for _ in 1 2 3; do
        t0=$(date +%s%N)
        dom=$(chrome --window-size=1400,1000 --virtual-time-budget=20000 --dump-dom "$url/")
        walls+=("$(( $(ms_since "$t0") - blank_ms ))")
        rendered+=("$(grep -o 'data-first-render-ms="[0-9.]*"' <<<"$dom" | head -1 | grep -o '[0-9.]*' || echo -)")
    done
    r_med=$(printf '%s\n' "${rendered[@]}" | grep -v '^-$' | median)
    w_med=$(printf '%s\n' "${walls[@]}" | median)
    rss=$(awk -v b="$(rss_bytes "$pid")" 'BEGIN {printf "%.0f", b/1048576}')
    printf '%-9s %9s %8s %10s %9s %12s %11s %13s %11s %9s\n' "$n" "$fill_s" "$ttfb" "$summary" "$grid" "$list" "$grid_bytes" "$r_med" "$w_med" "$rss"
    stop "$pid" 60
done
echo "# rendered_ms: the page's own performance.now() when the overview was drawn (Chromium's virtual"
echo "# time budget only waits for it; network waits are real time). wall_ms: whole Chromium run"
echo "# minus an empty page's ($blank_ms ms), an upper bound that includes Chromium's own work."
