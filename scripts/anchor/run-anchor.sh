#!/bin/bash
# Anchor benchmark: the same ES9+ client (pySim's contrib/es9p_client.py, driven in a loop
# by bench.py) downloading the same TS.48 profile with the same test PKI and the same TLS
# pair from osmocom's osmo-smdpp and from `sm-cli smdp serve`, each in turn on
# 127.0.0.1:443 as testsmdpplus1.example.com (osmo-smdpp refuses an smdpAddress with a
# port, so both use 443 and the same URL).
#
# Per round and server: 3 warm-up downloads (not counted), SEQ sequential downloads,
# then CONC downloads by CLIENTS processes at once. Rounds alternate which server goes
# first. Fresh state per round: osmo-smdpp's session shelve removed, a new SM store with
# one order per download for ours (orders are made before the server starts, untimed).
#
# Needs: /etc/hosts `127.0.0.1 testsmdpplus1.example.com`; $PYSIM (pySim checkout, default /tmp/pysim)
# with smdpp-data/anchor (contrib/generate_smdpp_certs.py's PKI with DPtls replaced by
# tls/leaf.*, see tls/mk-tls.sh); $PYSIM_VENV (default /tmp/pysim-venv); $SM (default target/release/sm-cli).
# Usage: run-anchor.sh [ROUNDS] (env SEQ=30 CONC=32 CLIENTS=4 OUT=/tmp/anchor-results/<utc> OSMO_NODELAY=0)
set -euo pipefail
ROUNDS=${1:-3}
SEQ=${SEQ:-30}
CONC=${CONC:-32}
CLIENTS=${CLIENTS:-4}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-/tmp/anchor-results/$(date -u +%Y%m%dT%H%M%SZ)}
PYSIM=${PYSIM:-/tmp/pysim}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SM=${SM:-$ROOT/target/release/sm-cli}
UPP=$PYSIM/smdpp-data/upp/TS48V2-SAIP2-1-BERTLV-UNIQUE.der
URL=https://testsmdpplus1.example.com
mkdir -p "$OUT"
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE
. "${PYSIM_VENV:-/tmp/pysim-venv}/bin/activate"
export PYTHONPATH=$PYSIM
cd "$PYSIM"

SERVER_PID=
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
  fi
}
trap stop_server EXIT

wait_listening() {
  for _ in $(seq 1 100); do
    if ss -ltn 'sport = :443' | grep -q 127.0.0.1:443; then return 0; fi
    sleep 0.1
  done
  echo "server did not listen on 443" >&2
  return 1
}

bench() { # LABEL ARGS...
  local label=$1; shift
  echo "  load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/log.txt"
  python3 "$HERE/bench.py" --label "$label" --server-pid "$SERVER_PID" --url "$URL" \
    --pki smdpp-data/anchor --ca "$HERE/tls/ca.pem" --out "$OUT/upp" "$@" | tee -a "$OUT/log.txt"
}

run_osmo() { # ROUND
  local r=$1
  rm -f smdpp-data/sm-dp-sessions-NIST*
  # OSMO_NODELAY=1: diagnostic variant, TCP_NODELAY on osmo-smdpp's connections
  local prog=osmo-smdpp.py
  [ "${OSMO_NODELAY:-0}" = 1 ] && prog=$HERE/osmo-nodelay.py
  python3 "$prog" -c anchor -p '443:interface=127.0.0.1' > "$OUT/osmo-r$r.log" 2>&1 &
  SERVER_PID=$!
  wait_listening
  local mid=(--matching-id TS48V2-SAIP2-1-BERTLV-UNIQUE)
  bench "warmup-osmo-r$r" "${mid[@]}" --downloads 3 > /dev/null
  bench "osmo-smdpp seq r$r" "${mid[@]}" --downloads "$SEQ" --json "$OUT/osmo-seq-r$r.json"
  bench "osmo-smdpp conc r$r" "${mid[@]}" --downloads "$CONC" --clients "$CLIENTS" \
    --json "$OUT/osmo-conc-r$r.json"
  stop_server
}

run_ours() { # ROUND
  local r=$1 db="$OUT/sm-r$r.sqlite3" ids="$OUT/ids-r$r.txt"
  rm -f "$db" "$ids"
  for _ in $(seq 1 $((3 + SEQ + CONC))); do
    "$SM" --sm-db "$db" --json smdp order --package "$UPP" --address testsmdpplus1.example.com \
      | python3 -c 'import json,sys; print(json.load(sys.stdin)["matching_id"])' >> "$ids"
  done
  "$SM" --sm-db "$db" smdp serve --listen 127.0.0.1:443 --hostname testsmdpplus1.example.com \
    --pki smdpp-data/anchor --tls-cert "$HERE/tls/leaf.pem" --tls-key "$HERE/tls/leaf.key" \
    > "$OUT/ours-r$r.out" 2> "$OUT/ours-r$r.err" &
  SERVER_PID=$!
  wait_listening
  sed -n 1,3p "$ids" > "$ids.warm"
  sed -n "4,$((3 + SEQ))p" "$ids" > "$ids.seq"
  sed -n "$((4 + SEQ)),\$p" "$ids" > "$ids.conc"
  bench "warmup-ours-r$r" --matching-ids "$ids.warm" --downloads 3 > /dev/null
  bench "sm-cli smdp serve seq r$r" --matching-ids "$ids.seq" --downloads "$SEQ" \
    --json "$OUT/ours-seq-r$r.json"
  bench "sm-cli smdp serve conc r$r" --matching-ids "$ids.conc" --downloads "$CONC" \
    --clients "$CLIENTS" --json "$OUT/ours-conc-r$r.json"
  stop_server
}

{
  echo "anchor benchmark, started $(date -u +%FT%TZ), rounds $ROUNDS, seq $SEQ, conc $CONC x $CLIENTS clients"
  echo "nproc $(nproc); $(uname -srm); sm-cli: $("$SM" --version), main $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "pySim $(git -C "$PYSIM" rev-parse --short HEAD), OSMO_NODELAY=${OSMO_NODELAY:-0}"
} | tee "$OUT/log.txt"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r" | tee -a "$OUT/log.txt"
  if [ $((r % 2)) -eq 1 ]; then run_osmo "$r"; run_ours "$r"; else run_ours "$r"; run_osmo "$r"; fi
done
echo "finished $(date -u +%FT%TZ)" | tee -a "$OUT/log.txt"
python3 "$HERE/summarise.py" "$OUT" | tee "$OUT/summary.md"
