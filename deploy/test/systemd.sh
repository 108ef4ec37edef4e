#!/usr/bin/env bash
# Proves the units parse and name existing binaries (`systemd-analyze verify` with the binaries
# at the unit's paths, in a temporary root), that their ExecStart flags are ones the binaries
# accept, and that the hardening settings are there. Skips when systemd-analyze is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=$(realpath "${1:-.build/debug}")
U=deploy/systemd
for k in ProtectSystem=strict StateDirectory= NoNewPrivileges=yes CapabilityBoundingSet=; do
  for f in $U/*.service; do grep -q "^$k" "$f" || { echo "FAIL systemd: $f lacks $k"; exit 1; }; done
done
grep -q '^DynamicUser=yes' $U/fleetscope-edge-scraper.service || { echo "FAIL systemd: edge unit not DynamicUser"; exit 1; }
grep -q '^User=fleetscope' $U/fleetscope-collector.service || { echo "FAIL systemd: collector unit has no service user"; exit 1; }
# The flags in ExecStart are accepted: `--help` of the named subcommand lists each of them.
"$BIN/collector" serve --help | grep -q -- '--data-dir' || exit 1
for f in $(grep '^ExecStart=' $U/fleetscope-collector.service | grep -o -- ' --[a-z-]*' | sort -u); do "$BIN/collector" serve --help | grep -q -- "$f" || { echo "FAIL systemd: collector has no $f"; exit 1; }; done
for f in $(grep '^ExecStart=' $U/fleetscope-edge-scraper.service | grep -o -- ' --[a-z-]*' | sort -u); do "$BIN/edge-scraper" run --help | grep -q -- "$f" || { echo "FAIL systemd: edge-scraper has no $f"; exit 1; }; done
if command -v systemd-analyze >/dev/null; then
  T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
  mkdir -p "$T/usr/local/bin" "$T/etc/systemd/system" "$T/bin"
  # Stand-ins at the units' paths (verify checks they are executable; the flags are checked above).
  for x in usr/local/bin/collector usr/local/bin/edge-scraper bin/kill; do printf '#!/bin/sh\n' > "$T/$x"; chmod 755 "$T/$x"; done
  cp $U/*.service "$T/etc/systemd/system/"
  out=$(systemd-analyze verify --root="$T" "$T"/etc/systemd/system/*.service 2>&1 | grep -v "Failed to\|network-online\|docs\|Documentation" || true)
  if echo "$out" | grep -qi "unknown\|invalid\|error\|not executable\|bad"; then echo "FAIL systemd-analyze: $out"; exit 1; fi
  echo "ok systemd-analyze verify: ${out:-no complaints}"
else
  echo "SKIP systemd-analyze (not installed)"
fi
echo "PASS systemd"
