#!/usr/bin/env python3
"""Summarise a run-anchor.sh result folder: per mode the per-round figures of both
servers and the ratio ours / osmo-smdpp (downloads per second; for times the inverse, so
that > 1 always means ours is faster), and our server's own per-request durations."""
import glob
import json
import os
import re
import statistics
import sys

out = sys.argv[1]


def load(kind, mode):
    res = {}
    for p in glob.glob(os.path.join(out, f"{kind}-{mode}-r*.json")):
        r = int(re.search(r"-r(\d+)\.json$", p).group(1))
        with open(p) as f:
            res[r] = json.load(f)
    return res


print(f"results: {out}\n")
for mode in ("seq", "conc"):
    o, u = load("osmo", mode), load("ours", mode)
    rounds = sorted(set(o) & set(u))
    if not rounds:
        continue
    print(f"### {mode}\n")
    print("| round | server | downloads/s | median ms | p90 ms | in HTTP ms | client ms | server CPU ms/download |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    ratios, cpu_ratios, http_ratios = [], [], []
    for r in rounds:
        for name, d in (("osmo-smdpp", o[r]), ("sm-cli smdp serve", u[r])):
            print(f"| {r} | {name} | {d['downloads_per_s']:.2f} | {d['median_ms']:.1f} | "
                  f"{d['p90_ms']:.1f} | {d['median_http_ms']:.1f} | {d['median_client_ms']:.1f} | "
                  f"{d['server_cpu_ms_per_download']:.1f} |")
        ratios.append(u[r]["downloads_per_s"] / o[r]["downloads_per_s"])
        http_ratios.append(o[r]["median_http_ms"] / u[r]["median_http_ms"])
        cpu_ratios.append(o[r]["server_cpu_ms_per_download"] / max(u[r]["server_cpu_ms_per_download"], 1e-9))
    f = lambda xs: f"{min(xs):.2f}-{max(xs):.2f} (median {statistics.median(xs):.2f})"  # noqa: E731
    print(f"\nratio ours/osmo-smdpp, downloads per second: {f(ratios)}")
    print(f"ratio osmo/ours, median time inside HTTP: {f(http_ratios)}")
    print(f"ratio osmo/ours, server CPU per download: {f(cpu_ratios)}\n")
    print("HTTP median by function (ms), per round, osmo-smdpp | ours:")
    for r in rounds:
        a = o[r]["median_http_ms_by_function"]
        b = u[r]["median_http_ms_by_function"]
        print(f"  r{r}: " + ", ".join(f"{k} {a[k]:.1f} | {b[k]:.1f}" for k in sorted(a)))
    print()

# Our server's own per-request durations (its stderr log: "... <function> 200 <x>ms"), in
# request order: 3 warm-up downloads (9 requests), then the sequential ones, then the
# concurrent ones (3 requests per download).
line = re.compile(r"es9p \S+ (\w+) (\d{3}) ([\d.]+)ms$")
per = {"seq": {}, "conc": {}}
for p in sorted(glob.glob(os.path.join(out, "ours-r*.err"))):
    r = int(re.search(r"-r(\d+)\.err$", p).group(1))
    with open(os.path.join(out, f"ours-seq-r{r}.json")) as f:
        nseq = json.load(f)["downloads"]
    reqs = []
    with open(p) as f:
        for l in f:
            m = line.search(l.rstrip("\n"))
            if m:
                reqs.append((m.group(1), float(m.group(3))))
    for i, (fn, ms) in enumerate(reqs):
        if i < 9:
            continue
        mode = "seq" if i < 9 + 3 * nseq else "conc"
        per[mode].setdefault(fn, []).append(ms)
for mode, d in per.items():
    if d:
        tot = sum(statistics.median(v) for v in d.values())
        print(f"sm-cli smdp serve's own log, {mode}, median per request (ms; all rounds): "
              + ", ".join(f"{k} {statistics.median(v):.2f} (n={len(v)})" for k, v in sorted(d.items()))
              + f"; sum of medians {tot:.2f}")
