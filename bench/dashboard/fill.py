#!/usr/bin/env python3
"""Fill a --no-auth collector with N clusters through remote-write, for bench/dashboard.

Each cluster sends a few series (`up` of two targets, pods by phase, the idle CPU counter) at
two timestamps 15 s apart, so the fleet registry sees it and the refresher can compute rates.
About 3% of clusters report every target down and 5% one target down, so the overview has
every colour. Python's standard library only: the protobuf and the snappy framing are written
by hand (snappy with literal-only elements, which every decoder must accept).

usage: fill.py URL CLUSTERS [--batch-series 4000]
"""
import struct
import sys
import time
import urllib.request

REGIONS = ["eu-west", "eu-central", "us-east", "us-west", "ap-south"]


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def field_bytes(tag, payload):
    return bytes([tag]) + varint(len(payload)) + payload


def label(name, value):
    return field_bytes(0x0A, field_bytes(0x0A, name.encode()) + field_bytes(0x12, value.encode()))


def series(labels, samples):
    body = b"".join(label(k, v) for k, v in sorted(labels.items()))
    for t, v in samples:
        body += field_bytes(0x12, b"\x09" + struct.pack("<d", v) + b"\x10" + varint(t))
    return field_bytes(0x0A, body)


def snappy_literal(data):
    """Snappy block format made only of literals: valid, just not compressed."""
    out = bytearray(varint(len(data)))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        if n < 60:
            out.append(n << 2)
        elif n < 256:
            out += bytes([60 << 2, n])
        else:
            out += bytes([61 << 2]) + struct.pack("<H", n)
        out += chunk
    return bytes(out)


def cluster_series(i, now_ms):
    name = "edge-%06d" % (i + 1)
    region = REGIONS[i % len(REGIONS)]
    base = {"cluster": name, "region": region}
    all_down = i % 33 == 7
    one_down = i % 20 == 3
    ts = [now_ms - 15000, now_ms]
    out = []
    for job, down in (("node", all_down), ("kubelet", all_down or one_down)):
        out.append(series(dict(base, __name__="up", job=job, instance=name + ":" + job), [(t, 0.0 if down else 1.0) for t in ts]))
    for phase, n in (("Running", 12), ("Pending", 1 if i % 7 == 0 else 0), ("Failed", 0)):
        out.append(series(dict(base, __name__="kube_pod_status_phase", phase=phase), [(t, float(n)) for t in ts]))
    idle = 1000.0 + i
    out.append(series(dict(base, __name__="node_cpu_seconds_total", cpu="0", mode="idle"),
                      [(ts[0], idle), (ts[1], idle + 15 * (0.4 + (i % 50) / 100))]))
    return out


def post(url, body):
    req = urllib.request.Request(url, data=snappy_literal(body), method="POST", headers={
        "Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0"})
    with urllib.request.urlopen(req, timeout=120) as r:
        if r.status // 100 != 2:
            raise SystemExit("remote-write answered %d" % r.status)


def main():
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    url, clusters = sys.argv[1], int(sys.argv[2])
    batch = int(sys.argv[sys.argv.index("--batch-series") + 1]) if "--batch-series" in sys.argv else 4000
    now_ms = int(time.time() * 1000)
    pending, count, sent = [], 0, 0
    for i in range(clusters):
        s = cluster_series(i, now_ms)
        pending += s
        count += len(s)
        if count >= batch:
            post(url, b"".join(pending))
            sent += count
            pending, count = [], 0
    if pending:
        post(url, b"".join(pending))
        sent += count
    print("filled %d clusters, %d series" % (clusters, sent), file=sys.stderr)


if __name__ == "__main__":
    main()
