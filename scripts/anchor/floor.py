#!/usr/bin/env python3
"""Transport floor for bench.py's figures: what the same client stack (requests, a fresh
Session and so a fresh TLS connection per 'download', the same headers) costs for three
ES9+ POSTs that the server refuses at once (body `{}`: no mandatory field), i.e. TLS
handshake + 3 HTTP exchanges with next to no server work. Prints the median per 'download'
and the HTTP status seen. Usage: floor.py URL CA.pem [N]"""
import statistics, sys, time
import requests

url, ca = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 30
hdr = {"Content-Type": "application/json", "X-Admin-Protocol": "gsma/rsp/v2.5.0",
       "User-Agent": "gsma-rsp-lpad"}
fns = ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage"]
times, codes = [], set()
for i in range(n + 3):
    s = requests.Session(); s.verify = ca
    t = time.perf_counter()
    for f in fns:
        r = s.post(f"{url}/gsma/rsp2/es9plus/{f}", data="{}", headers=hdr, timeout=10)
        codes.add(r.status_code)
    if i >= 3:
        times.append(time.perf_counter() - t)
    s.close()
print(f"{url}: floor (TLS + 3 refused POSTs) median {statistics.median(times)*1000:.1f} ms, "
      f"min {min(times)*1000:.1f}, n={n}, HTTP status {sorted(codes)}")
