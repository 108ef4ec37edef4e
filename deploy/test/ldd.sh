#!/usr/bin/env bash
# Proves both binaries are self-contained: `ldd` names only the C library and what a bare
# Debian/Ubuntu base system ships (libstdc++/libgcc_s come with apt itself); no Swift runtime,
# Foundation, libcurl/GnuTLS/Kerberos/LDAP, snappy, protobuf-c, libyaml. Also `--version` runs on both.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${1:-.build/debug}
allowed='^(linux-vdso\.so\.1|/lib64/ld-linux-x86-64\.so\.2|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libstdc\+\+\.so\.6|libgcc_s\.so\.1|libssl\.so\.3|libcrypto\.so\.3|libz\.so\.1|libsqlite3\.so\.0|libzstd\.so\.1'
allowed+=')$'
status=0
for b in collector edge-scraper; do
  "$BIN/$b" --version >/dev/null || { echo "FAIL ldd: $b --version"; status=1; }
  bad=$(ldd "$BIN/$b" | awk '{print $1}' | grep -Ev "$allowed" || true)
  if [ -n "$bad" ]; then echo "FAIL ldd: $b needs $(echo $bad)"; status=1; else echo "ok $b: $(ldd "$BIN/$b" | awk '{print $1}' | tr '\n' ' ')"; fi
done
[ $status = 0 ] && echo "PASS ldd"
exit $status
