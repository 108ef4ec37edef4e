# Shared by bench/*/run.sh: process bookkeeping, ports, /proc readings, medians.
# Every process a script starts is recorded in PIDS and killed by PID on exit.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=${BIN:-.build/release}
case "$BIN" in /*) ;; *) BIN="$REPO/$BIN" ;; esac
# FLEETBENCH=path: use that fleetbench as it is (e.g. one built in another checkout) instead of building bench/.
FLEETBENCH_GIVEN=${FLEETBENCH:+1}
FLEETBENCH=${FLEETBENCH:-"$REPO/bench/.build/release/fleetbench"}
CLK_TCK=$(getconf CLK_TCK)
PIDS=()
CGROUPS=()

cleanup() {
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
    sleep 0.5
    for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill -9 "$p" 2>/dev/null || true; done
    sleep 0.2
    for g in "${CGROUPS[@]:-}"; do [ -n "$g" ] && rmdir "$g" 2>/dev/null || true; done
    if [ -n "${WORK:-}" ] && [ -z "${KEEP:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# watchdog SECONDS: the whole script is bounded in time. The sleeper's output goes nowhere so a
# pipe from this script closes when the script ends.
watchdog() {
    local main=$$ f
    f=$(mktemp)
    ( sleep "$1" & echo $! >"$f"; wait; echo "timeout after $1 s, giving up" >/dev/tty 2>/dev/null; kill -TERM "$main" ) >/dev/null 2>&1 </dev/null &
    PIDS+=("$!")
    while [ ! -s "$f" ]; do sleep 0.05; done
    PIDS+=("$(cat "$f")"); rm -f "$f"
}

# begin NAME SECONDS: the work directory ($WORK, removed on exit unless KEEP=1), the whole run
# bounded by the watchdog (TIMEOUT= overrides SECONDS), and the machine line every result starts with.
begin() {
    WORK=$(mktemp -d "/tmp/fleetbench-$1.XXXXXX")
    watchdog "${TIMEOUT:-$2}"
    machine_info
}

need() { command -v "$1" >/dev/null || { echo "missing $1 (apt-get install -y $2)" >&2; exit 1; }; }

build_fleetbench() {
    if [ -n "$FLEETBENCH_GIVEN" ] && [ -x "$FLEETBENCH" ]; then return 0; fi
    if [ ! -x "$FLEETBENCH" ] || [ -n "$(find "$REPO/bench/Sources" "$REPO/bench/Package.swift" "$REPO/Sources" "$REPO/Package.swift" -newer "$FLEETBENCH" 2>/dev/null)" ]; then
        echo "# building bench/ (fleetbench)" >&2
        (cd "$REPO/bench" && "$(command -v swift || echo /opt/swift/usr/bin/swift)" build -c release 2>&1 | tail -3) >&2
    fi
    [ -x "$FLEETBENCH" ] || { echo "could not build $FLEETBENCH" >&2; exit 1; }
}

check_bins() {
    for b in "$@"; do [ -x "$BIN/$b" ] || { echo "$BIN/$b missing: run 'make release' (or set BIN=)" >&2; exit 1; }; done
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_http URL SECONDS: until the URL answers 2xx.
wait_http() {
    local i=0
    while ! curl -sf -o /dev/null "$1"; do
        i=$((i+1)); [ $i -gt $(($2*10)) ] && { echo "timeout waiting for $1" >&2; return 1; }
        sleep 0.1
    done
}

# start NAME LOGFILE CMD...: runs CMD in the background, records its PID in PIDS and LAST_PID.
start() {
    local name=$1 log=$2; shift 2
    "$@" >"$log" 2>&1 &
    LAST_PID=$!
    PIDS+=("$LAST_PID")
}

# stop PID [SECONDS]: SIGTERM, wait for a clean exit (SIGKILL after the deadline).
stop() {
    local pid=$1 t=${2:-60} i=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        i=$((i+1)); if [ $i -gt $((t*10)) ]; then echo "pid $pid did not stop in ${t}s; SIGKILL" >&2; kill -9 "$pid"; break; fi
        sleep 0.1
    done
    wait "$pid" 2>/dev/null || true
}

# The collector and the peers it is compared with, each on 127.0.0.1:PORT with the settings the
# benchmarks share. They are not waited for, so that several start at once: wait_ready after.

# start_collector LOG PORT ARGS...: $BIN/collector listening on PORT, with ARGS (--data-dir, --no-auth, ...).
start_collector() {
    local log=$1 port=$2; shift 2
    start collector "$log" "$BIN/collector" --listen "127.0.0.1:$port" "$@"
}

# start_prometheus LOG PORT DATA: Prometheus accepting remote write, with the admin API for snapshots.
start_prometheus() {
    printf 'global:\n  scrape_interval: 15s\n' >"$WORK/prometheus.yml"
    start prometheus "$1" prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$3" \
        --web.listen-address="127.0.0.1:$2" --web.enable-remote-write-receiver --web.enable-admin-api \
        --storage.tsdb.retention.time=30d
}

# start_victoriametrics LOG PORT DATA [FLAGS...]: single-node VictoriaMetrics with FLAGS added.
start_victoriametrics() {
    local log=$1 port=$2 data=$3; shift 3
    start victoriametrics "$log" victoria-metrics -storageDataPath="$data" -httpListenAddr="127.0.0.1:$port" \
        -retentionPeriod=30d -loggerLevel=WARN "$@"
}

# wait_ready NAME PORT [SECONDS]: until NAME (collector, prometheus, victoriametrics) says it is ready.
wait_ready() {
    local path=/-/ready
    [ "$1" = victoriametrics ] && path=/health
    wait_http "http://127.0.0.1:$2$path" "${3:-60}"
}

# send_all NAME=PORT...: $WORK/load remote-written into every system at once ($CONCURRENCY
# requests each); each one's summary is printed with its name.
send_all() {
    local s pids=()
    for s in "$@"; do
        ( "$FLEETBENCH" send --dir "$WORK/load" --url "http://127.0.0.1:${s#*=}/api/v1/write" --concurrency "$CONCURRENCY" \
            | sed "s/^/#   ${s%%=*}: /" ) &
        PIDS+=("$!"); pids+=("$!")
    done
    wait "${pids[@]}" || true
}

# prometheus_snapshot_bytes PORT DATA: size of a TSDB snapshot (the blocks and the head written out
# as a block); the snapshot is removed after, so that it does not count in DATA's size.
prometheus_snapshot_bytes() {
    local snap
    snap=$(curl -sf -XPOST "http://127.0.0.1:$1/api/v1/admin/tsdb/snapshot" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
    dir_bytes "$2/snapshots/$snap"
    rm -rf "$2/snapshots"
}

# collector_block_bytes TSDB: size of the collector's block directories (not wal/ nor chunks_head/).
collector_block_bytes() { dir_bytes $(find "$1" -mindepth 1 -maxdepth 1 -type d ! -name wal ! -name chunks_head); }

# CPU seconds (user+system) of a process so far, in clock ticks.
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
# Resident set size in bytes.
rss_bytes() { awk '/^VmRSS:/ {print $2*1024}' "/proc/$1/status"; }
# Anonymous part of the RSS (heap, stacks), without file-backed pages such as the binary and shared libraries.
anon_bytes() { awk '/^RssAnon:/ {print $2*1024}' "/proc/$1/status"; }
# Peak resident set size in bytes.
hwm_bytes() { awk '/^VmHWM:/ {print $2*1024}' "/proc/$1/status"; }
# Total size of the paths; 0 for none (du with no path would measure the current directory).
dir_bytes() { [ $# -gt 0 ] || { echo 0; return; }; du -sb "$@" 2>/dev/null | awk '{s+=$1} END {print s+0}'; }

# median of the numbers on stdin (one a line); "-" when there are none.
median() { sort -g | awk '{a[NR]=$1} END { if (NR==0) print "-"; else if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2 }'; }

# field NAME FILE SYSTEM: values of NAME=... on RESULT lines of SYSTEM, one a line.
field() { grep "^RESULT system=$3 " "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1==k {print $2}'; }

machine_info() {
    echo "# date: $(date -u '+%Y-%m-%dT%H:%M:%SZ')  host: nproc=$(nproc) mem=$(free -g | awk '/^Mem:/ {print $2}')GiB cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
}

# cpu_cgroup NAME: sets CG to a new CPU-accounting cgroup (empty where none can be made, e.g. not
# root), removed on exit. Its counter covers every thread a process ever ran, also threads that
# ended, which a sum over /proc/PID/task misses: Dispatch's and NIO's pool threads come and go.
cpu_cgroup() {
    local root=""
    CG=""
    if [ -w /sys/fs/cgroup/cpuacct ]; then root=/sys/fs/cgroup/cpuacct
    elif [ -f /sys/fs/cgroup/cgroup.controllers ] && [ -w /sys/fs/cgroup ]; then root=/sys/fs/cgroup; fi
    [ -n "$root" ] && mkdir "$root/fleetbench-$$-$1" 2>/dev/null || return 0
    CG="$root/fleetbench-$$-$1"
    CGROUPS+=("$CG")
}

# cgroup_cpu_ns DIR: CPU nanoseconds of everything that has run in cgroup DIR (v1 or v2).
cgroup_cpu_ns() {
    if [ -f "$1/cpuacct.usage" ]; then cat "$1/cpuacct.usage"
    else awk '$1 == "usage_usec" { printf "%d\n", $2 * 1000 }' "$1/cpu.stat"; fi
}
