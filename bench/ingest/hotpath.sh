#!/usr/bin/env bash
# Micro benchmark of the ingest hot path without HTTP: snappy decompress + WireDecoder + the
# validator's checks + TSDB.append (WAL + head) of pre-generated 2,000-sample requests of the
# fleetbench workload. Prints CPU-ns per sample.  Usage: bench/ingest/hotpath.sh [clusters=200] [scrapes=12]
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
build_fleetbench
"$FLEETBENCH" ingest-hotpath --clusters "${1:-200}" --scrapes "${2:-12}"
