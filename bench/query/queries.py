#!/usr/bin/env python3
"""Runs the fleet queries against several Prometheus-compatible endpoints, interleaved, and
prints the median latency of each (query, range) per system side by side with ratios.

usage: queries.py --end SECONDS --runs N name=http://127.0.0.1:PORT ...
The first system named is the one the ratios are about (collector/other)."""
import json, statistics, sys, time, urllib.parse, urllib.request

QUERIES = [
    ("sum_rate_cpu", 'sum by (cluster) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))'),
    ("topk_cpu", 'topk(10, sum by (cluster) (rate(node_cpu_seconds_total{mode!="idle"}[5m])))'),
    ("hist_quantile", 'histogram_quantile(0.99, sum by (le, cluster) (rate(http_request_duration_seconds_bucket[5m])))'),
    ("sum_rate_container", 'sum by (namespace) (rate(container_cpu_usage_seconds_total[5m]))'),
]
INSTANT = [("count_all_series", 'count({__name__=~".+"})')]
RANGES = [("1h", 3600, 15), ("6h", 6 * 3600, 90)]


def main():
    args = sys.argv[1:]
    end = runs = None
    systems = []
    while args:
        a = args.pop(0)
        if a == "--end": end = float(args.pop(0))
        elif a == "--runs": runs = int(args.pop(0))
        else:
            name, url = a.split("=", 1)
            systems.append((name, url.rstrip("/")))
    end = int(end) // 90 * 90  # a multiple of both steps
    cases = []
    for label, rng, step in RANGES:
        for qn, q in QUERIES:
            cases.append((f"{qn} range {label} step {step}s", "/api/v1/query_range",
                          {"query": q, "start": end - rng, "end": end, "step": step}))
    for qn, q in INSTANT:
        cases.append((f"{qn} instant", "/api/v1/query", {"query": q, "time": end}))

    def run(base, path, params):
        body = urllib.parse.urlencode({**params, "nocache": "1"}).encode()
        req = urllib.request.Request(base + path, data=body,
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        t0 = time.perf_counter()
        with urllib.request.urlopen(req, timeout=300) as r:
            raw = r.read()
        dt = time.perf_counter() - t0
        doc = json.loads(raw)
        if doc.get("status") != "success":
            raise RuntimeError(f"{base}{path} {params['query']}: {doc}")
        res = doc["data"]["result"]
        n = len(res)
        pts = sum(len(x.get("values", [])) for x in res) if doc["data"]["resultType"] == "matrix" else n
        return dt, n, pts

    lat = {(c[0], s[0]): [] for c in cases for s in systems}
    shape = {}
    for case in cases:
        for s in systems:  # one warm-up each: page cache and lazy index loading
            try:
                _, n, pts = run(s[1], case[1], case[2])
                shape[(case[0], s[0])] = (n, pts)
            except Exception as e:
                shape[(case[0], s[0])] = ("error", str(e)[:200])
        for _ in range(runs):
            for s in systems:
                if shape[(case[0], s[0])][0] == "error": continue
                try: lat[(case[0], s[0])].append(run(s[1], case[1], case[2])[0])
                except Exception as e: shape[(case[0], s[0])] = ("error", str(e)[:200])

    names = [s[0] for s in systems]
    first = names[0]
    hdr = f"{'query':<44}" + "".join(f"{n + ' ms':>20}" for n in names) + "".join(f"{first + '/' + n:>28}" for n in names[1:])
    print(hdr)
    for case in cases:
        meds = {}
        row = f"{case[0]:<44}"
        for n in names:
            v = lat[(case[0], n)]
            meds[n] = statistics.median(v) * 1000 if v else None
            row += f"{meds[n]:>20.1f}" if meds[n] is not None else f"{'error':>20}"
        for n in names[1:]:
            row += f"{meds[first] / meds[n]:>27.2f}x" if meds[first] and meds[n] else f"{'-':>28}"
        print(row)
    print("# result shape (series, points) per system, warm-up run:")
    for case in cases:
        print("#   " + f"{case[0]:<44}" + "  ".join(f"{n}={shape[(case[0], n)]}" for n in names))


main()
