#!/usr/bin/env bash
# Edge-scraper binaries side by side, each run as `nobody`: as deployed (the images' USER 65532,
# systemd's DynamicUser), a service user that neither owns nor may write the root-owned binary.
# That matters for resident memory: the kernel pages out file pages (MADV_PAGEOUT) only for a
# process that owns or may write the file, so run.sh, run as root, shows start-up page release
# working where a real agent would not (docs/benchmarks.md, "Issue 15, fifth round").
#
#   bench/edge/nonroot.sh base=/tmp/base new=.build/release vmagent=-   # LABEL=DIR holding edge-scraper; as root
#   REGIONS=1 bench/edge/nonroot.sh ...   # and each agent's resident KiB by region (load.sh's regions)
#   SECTIONS=1 bench/edge/nonroot.sh ...  # and by ELF section of the binary (sections.py)
#
# The label `vmagent` with `-` runs vmagent (also as nobody) on the same targets instead.
#
# All scrape one node_exporter and 4 synthetic targets of 1,000 series every 5 s and remote-write
# into one VictoriaMetrics; VmRSS, VmHWM, RssAnon and RssFile of each SETTLE (75) s after start.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
[ "$(id -u)" = 0 ] || { echo "run as root: the agents are started as nobody" >&2; exit 1; }
need setpriv util-linux; need vmagent victoria-metrics; need prometheus-node-exporter prometheus-node-exporter; need victoria-metrics victoria-metrics
SETTLE=${SETTLE:-75}
begin nonroot 400
chmod 755 "$WORK"
source "$(dirname "$0")/load.sh"
start_edge_load 4
pids=()
for label in "$@"; do
  name=${label%%=*}
  mkdir -p "$WORK/$name"; chown nobody "$WORK/$name"
  p=$(free_port)
  as_nobody=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
  if [ "${label#*=}" = - ]; then
    vmagent_yml "$WORK/$name/vmagent.yml"
    start "$name" "$WORK/$name/log" "${as_nobody[@]}" vmagent -promscrape.config="$WORK/$name/vmagent.yml" \
        -remoteWrite.url="http://127.0.0.1:$vm/api/v1/write" -remoteWrite.label=agent="$name" -httpListenAddr="127.0.0.1:$p" \
        -remoteWrite.tmpDataPath="$WORK/$name/queue" -loggerLevel=WARN
  else
    edge_yml "$WORK/$name/edge.yml" "$name" "$WORK/$name/queue"
    start "$name" "$WORK/$name/log" "${as_nobody[@]}" "$(cd "${label#*=}" && pwd)/edge-scraper" --config "$WORK/$name/edge.yml" --listen "127.0.0.1:$p"
  fi
  pids+=("$LAST_PID")
done
sleep "$SETTLE"
i=0
for label in "$@"; do
  pid=${pids[$i]}; i=$((i+1))
  echo "$label user=$(awk '/^Uid/{print $2}' /proc/$pid/status) rss_KiB=$(awk '/^VmRSS/{print $2}' /proc/$pid/status) hwm_KiB=$(awk '/^VmHWM/{print $2}' /proc/$pid/status) anon_KiB=$(awk '/^RssAnon/{print $2}' /proc/$pid/status) file_KiB=$(awk '/^RssFile/{print $2}' /proc/$pid/status)"
  [ -z "${REGIONS:-}" ] || regions "$pid"
  [ -z "${SECTIONS:-}" ] || python3 "$REPO/bench/edge/sections.py" "$pid"
done
