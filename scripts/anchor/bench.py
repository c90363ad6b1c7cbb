#!/usr/bin/env python3
"""Anchor benchmark client: pySim's contrib/es9p_client.py (LPA + software eUICC in one),
unmodified, imported and driven in a loop, so that Python start-up and asn1tools' schema
compilation are paid once and not per download.

Each download is a fresh Es9pClient (its own requests.Session, so a fresh TLS connection,
as an LPA makes per download) calling do_download(): initiateAuthentication,
authenticateClient, getBoundProfilePackage, then the client decrypts and checks the BPP
and writes the UPP. Timed per download (wall clock), and per ES9+ call the time spent
inside requests' Session.request (= server + TLS + loopback), the rest being the client's
own work. The server's CPU time is read from /proc/<server-pid>/stat before and after.

Usage (venv python, PYTHONPATH=<pysim checkout>, run from the pysim root):
  bench.py --label NAME --server-pid PID --url https://testsmdpplus1.example.com
           --pki smdpp-data/anchor --ca CA.pem --out DIR
           (--matching-id ID | --matching-ids FILE) [--downloads N] [--clients C]
           [--json OUT.json]
With --clients C > 1, C processes run at once, each doing N/C downloads; the rate is the
number of downloads over the wall time from the first start to the last end.
"""

import argparse
import contextlib
import io
import json
import logging
import multiprocessing as mp
import os
import statistics
import sys
import time

HERE = os.getcwd()
sys.path.insert(0, os.path.join(HERE, "contrib"))
import es9p_client  # noqa: E402  (pySim's client, unmodified)
import requests  # noqa: E402

logging.getLogger().setLevel(logging.WARNING)  # es9p_client sets DEBUG at import
logging.getLogger("pySim.esim.http_json_api").setLevel(logging.WARNING)  # DEBUG there too

CLK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """utime+stime of a process and its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


# Time spent inside HTTP requests, per ES9+ function, for the current download.
_http = {}
_orig_request = requests.Session.request


def _timed_request(self, method, url, *a, **kw):
    t = time.perf_counter()
    try:
        return _orig_request(self, method, url, *a, **kw)
    finally:
        fn = url.rsplit("/", 1)[-1]
        _http[fn] = _http.get(fn, 0.0) + (time.perf_counter() - t)


requests.Session.request = _timed_request


def make_opts(args, matching_id):
    return argparse.Namespace(
        url=args.url,
        server_ca_cert=args.ca,
        certificate_path=os.path.join(args.pki, "eUICC"),
        euicc_certificate="CERT_EUICC_ECDSA_NIST.der",
        euicc_private_key="SK_EUICC_ECDSA_NIST.pem",
        eum_certificate="../EUM/CERT_EUM_ECDSA_NIST.der",
        ci_certificate="../CertificateIssuer/CERT_CI_ECDSA_NIST.der",
        command="download",
        matchingId=matching_id,
        output_path=args.out,
        confirmation_code=None,
    )


def one_download(args, matching_id):
    """Returns (wall seconds, {function: http seconds}); raises on any failure."""
    _http.clear()
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink):
        c = es9p_client.Es9pClient(make_opts(args, matching_id))
        t = time.perf_counter()
        c.do_download()
        wall = time.perf_counter() - t
    if "SUCCESS: Storing files" not in sink.getvalue():
        raise RuntimeError("no SUCCESS line")
    return wall, dict(_http)


def worker(args, ids, q):
    res = []
    try:
        for mid in ids:
            res.append(one_download(args, mid))
        q.put(("ok", res))
    except Exception as e:  # report, do not hang the parent
        q.put(("err", f"{type(e).__name__}: {e}"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--label", required=True)
    p.add_argument("--server-pid", type=int, required=True)
    p.add_argument("--url", required=True)
    p.add_argument("--pki", required=True)
    p.add_argument("--ca", required=True)
    p.add_argument("--out", required=True)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--matching-id")
    g.add_argument("--matching-ids", help="file, one matchingId a line (one per download)")
    p.add_argument("--downloads", type=int, default=30)
    p.add_argument("--clients", type=int, default=1)
    p.add_argument("--json")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    n = args.downloads
    if args.matching_ids:
        with open(args.matching_ids) as f:
            ids = [l.strip() for l in f if l.strip()]
        if len(ids) < n:
            sys.exit(f"{len(ids)} matchingIds for {n} downloads")
        ids = ids[:n]
    else:
        ids = [args.matching_id] * n

    cpu0 = proc_cpu(args.server_pid)
    t0 = time.perf_counter()
    results = []
    if args.clients == 1:
        for mid in ids:
            results.append(one_download(args, mid))
    else:
        ctx = mp.get_context("fork")
        q = ctx.Queue()
        chunks = [ids[i :: args.clients] for i in range(args.clients)]
        procs = [ctx.Process(target=worker, args=(args, ch, q)) for ch in chunks]
        for pr in procs:
            pr.start()
        for _ in procs:
            kind, val = q.get()
            if kind != "ok":
                sys.exit(f"a client failed: {val}")
            results.extend(val)
        for pr in procs:
            pr.join()
    total = time.perf_counter() - t0
    cpu = proc_cpu(args.server_pid) - cpu0

    walls = [w for w, _ in results]
    https = [sum(h.values()) for _, h in results]
    per_fn = {}
    for _, h in results:
        for k, v in h.items():
            per_fn.setdefault(k, []).append(v)
    ms = lambda xs: statistics.median(xs) * 1000  # noqa: E731
    summary = {
        "label": args.label,
        "downloads": len(results),
        "clients": args.clients,
        "total_s": total,
        "downloads_per_s": len(results) / total,
        "median_ms": ms(walls),
        "p90_ms": sorted(walls)[int(0.9 * (len(walls) - 1))] * 1000,
        "median_http_ms": ms(https),
        "median_client_ms": ms([w - h for w, h in zip(walls, https)]),
        "median_http_ms_by_function": {k: ms(v) for k, v in sorted(per_fn.items())},
        "server_cpu_ms_per_download": cpu * 1000 / len(results),
        "per_download_ms": [round(w * 1000, 2) for w in walls],
        "per_download_http_ms": [{k: round(v * 1000, 2) for k, v in h.items()} for _, h in results],
    }
    print(
        "{label}: {downloads} downloads, {clients} client(s): {downloads_per_s:.2f}/s, "
        "median {median_ms:.1f} ms (p90 {p90_ms:.1f}), in HTTP {median_http_ms:.1f} ms, "
        "client work {median_client_ms:.1f} ms, server CPU {server_cpu_ms_per_download:.1f} "
        "ms/download".format(**summary)
    )
    print("  HTTP median by function (ms): " + ", ".join(
        f"{k} {v:.1f}" for k, v in summary["median_http_ms_by_function"].items()))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
