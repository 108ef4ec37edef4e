#!/usr/bin/env python3
"""Synthetic scrape targets: each port serves /metrics with SERIES series (default 1000) in the
Prometheus text format; counters grow and gauges move between scrapes, as a real exporter's do.

usage: targets.py [--series N] PORT...   (runs until killed)"""
import random, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

args = sys.argv[1:]
series = 1000
if args and args[0] == "--series":
    series = int(args[1]); args = args[2:]
ports = [int(p) for p in args]


def make_body_fn(idx):
    rnd = random.Random(idx)
    families = []
    per = 20
    for f in range(series // per):
        kind = "counter" if f % 2 == 0 else "gauge"
        name = f"app_{'requests' if kind == 'counter' else 'queue_depth'}_{f}" + ("_total" if kind == "counter" else "")
        families.append((name, kind, [rnd.random() * 1e6 for _ in range(per)]))
    lock = threading.Lock()

    def body():
        with lock:
            out = []
            for name, kind, vals in families:
                out.append(f"# HELP {name} Synthetic {kind} for the edge benchmark.\n# TYPE {name} {kind}\n")
                for i in range(len(vals)):
                    if kind == "counter":
                        vals[i] += rnd.randint(0, 500)
                        v = f"{vals[i]:.0f}"
                    else:
                        vals[i] = abs(vals[i] + rnd.uniform(-5, 5))
                        v = f"{vals[i]:.3f}"
                    out.append(f'{name}{{shard="{i}",pod="worker-{i % 7}",namespace="ns-{i % 3}"}} {v}\n')
            return "".join(out).encode()
    return body


def serve(port, idx):
    body = make_body_fn(idx)

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            b = body()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(b)))
            self.end_headers()
            self.wfile.write(b)

        def log_message(self, *a):
            pass

    ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()


for i, p in enumerate(ports):
    threading.Thread(target=serve, args=(p, i), daemon=True).start()
threading.Event().wait()
