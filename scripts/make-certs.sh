#!/usr/bin/env bash
# Makes a private CA and certificates for the collector's TLS and edge client certificates
# (ECDSA P-256, openssl only). Used by the tests and fine for a small fleet; see README, Security.
#
#   make-certs.sh ca     DIR NAME                      -> DIR/NAME.crt, DIR/NAME.key (10 years)
#   make-certs.sh server DIR CA NAME SANS              -> SANS like "DNS:collector.example.com,IP:10.0.0.5"
#   make-certs.sh client DIR CA NAME CN [SANS] [START END]
#        CN (and SANS like "DNS:store-17.edge,URI:spiffe://fleet/store-17") name the cluster;
#        START/END (YYYYMMDDHHMMSSZ) set an explicit validity window, e.g. an expired one for tests.
# Validity defaults to DAYS (env, 825 days for server and client certificates).
set -euo pipefail
umask 077
kind=${1:?usage: make-certs.sh ca|server|client DIR ...}
dir=${2:?DIR}
mkdir -p "$dir"
cd "$dir"
days=${DAYS:-825}
ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)

case "$kind" in
ca)
    name=${3:?NAME}
    openssl req -x509 "${ec[@]}" -keyout "$name.key" -out "$name.crt" -days 3650 -subj "/CN=$name" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    ;;
server|client)
    ca=${3:?CA}; name=${4:?NAME}
    if [ "$kind" = server ]; then
        cn=$name; sans=${5:?SANS}; usage=serverAuth; start=""; end=""
    else
        cn=${5:?CN}; sans=${6:-}; usage=clientAuth; start=${7:-}; end=${8:-}
    fi
    openssl req "${ec[@]}" -keyout "$name.key" -out "$name.csr" -subj "/CN=$cn" 2>/dev/null
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature"
        echo "extendedKeyUsage=$usage"
        [ -n "$sans" ] && echo "subjectAltName=$sans"
    } > "$name.ext"
    # `openssl ca` is the one that takes explicit start and end dates; it needs a tiny database.
    db=".ca-$ca"
    mkdir -p "$db"
    [ -f "$db/index.txt" ] || touch "$db/index.txt"
    [ -f "$db/serial" ] || openssl rand -hex 8 > "$db/serial"
    cat > "$db/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $db/index.txt
new_certs_dir = $db
serial = $db/serial
default_md = sha256
policy = p
unique_subject = no
[p]
commonName = supplied
CNF
    validity=(-days "$days")
    [ -n "$start" ] && validity=(-startdate "$start" -enddate "$end")
    openssl ca -batch -notext -config "$db/ca.cnf" -cert "$ca.crt" -keyfile "$ca.key" -in "$name.csr" \
        -out "$name.crt" -extfile "$name.ext" "${validity[@]}" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
    ;;
*)
    echo "unknown kind $kind (ca, server, client)" >&2; exit 2 ;;
esac
