#!/usr/bin/env bash
# Stages a minimal root filesystem for one binary: the binary, exactly the shared libraries
# `ldd` names (the C library and the few base-system ones the binaries may use), the CA bundle
# for https, and an unprivileged user (65532, as distroless' "nonroot") owning the state
# directory. The Containerfiles copy it FROM scratch, so nothing is pulled from a registry.
# Usage: rootfs.sh BINARY STATE_DIR OUT_DIR
# OUT_DIR/rootfs is the tree; OUT_DIR/state the (empty) state directory, which the Containerfile
# copies with --chown (COPY makes everything else root's).
set -euo pipefail
bin=$1 state=$2 out=$3
rm -rf "$out"; root=$out/rootfs; mkdir -p "$out/state" "$root/usr/local/bin" "$root/etc/ssl/certs" "$root/tmp" "$root/proc" "$root/sys" "$root/dev"
install -m 0755 "$bin" "$root/usr/local/bin/"
# Every library the dynamic loader resolves, and the loader itself, under the same paths.
for lib in $(ldd "$bin" | awk '$3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'); do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:%s:/sbin/nologin\n' "$state" > "$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chmod 0700 "$out/state"
