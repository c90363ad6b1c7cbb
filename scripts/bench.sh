#!/usr/bin/env bash
# scripts/bench.sh: the benchmarks of issue 5, each against a baseline measured in the
# same run (results and how to read them: docs/benchmarks.md). Benchmarks, not timed
# tests: the script fails only when a tool fails, never because a figure is slow.
#
#   scripts/bench.sh [--quick] [--no-build] [--out FILE]
#
#  1. the machine: nproc, CPU model, kernel, whether pcscd logs APDUs;
#  2. APDU round trip through pcscd + vpcd (target/release/rtt-bench): GetEID and a 1 KiB
#     ES10 message as chained STORE DATA (lpac's 120-byte blocks), on card-sim and on the
#     floor-card (answers 90 00 to everything) over the same pcscd; ratios to the floor;
#  3. the device-change cryptography (apdu example crypto_bench): Argon2id, RSA-2048 key
#     generation from seeds, sign, verify, seal, open;
#  4. each flow (provision, device change, rekey) split into KDF, key generation, card
#     signatures, APDU traffic (against the floor-card), SM store and SM cryptography
#     (target/release/flow-bench, production KDF);
#  5. a whole SGP.22 profile download into card-sim (lpac's APDUs), its card-side time
#     split into transport (the same APDUs on the floor-card: the ratio), ECDSA/ECDH,
#     SCP03t, the package checks and the state writes (target/release/download-bench);
#  6. downloads per second against one sm-cli smdp serve (target/release/smdp-bench);
#  7. device-change flows per second with the SM in the terminal (--sm-db, the baseline)
#     against one server on SQLite and, with PostgreSQL, one server and two servers on
#     PostgreSQL (target/release/remote-flow-bench, issue 12);
#  8. the SM store at 1, 10^4 (and 10^5, 10^6) subscriptions: lookup and durable update,
#     with their ratio to the 1-subscription store, on SQLite and, with PostgreSQL, on
#     PostgreSQL (sm-cli's store_scaling benchmark).
#
# PostgreSQL: used when $VEUICC_PG_URL is set (postgres://USER@HOST:PORT/, the password
# in $PGPASSWORD: what `. $STACK_DIR/pg.env` gives after scripts/pg-up.sh, as
# scripts/test.sh does) and its database `sm` answers; each benchmark works in a fresh
# schema of it and drops it. Without it those parts are skipped, and the script says so.
#
# --quick (CI): fewer iterations, one flow run each, the store up to 10^4 rows with the
# debug test build `cargo test --workspace` already made, 3 downloads, the remote flows
# with 1 and 4 cards and 2 rounds; about 30 s, a minute with PostgreSQL (measured on the
# project machine with --no-build: 28 s and 54 s).
# Without it: 2000 round trips, 5 runs of each flow, the store up to 10^6 rows in release
# (about 1.5 GB of disk in a temporary directory, and with PostgreSQL as much again in the
# database and 11 more minutes to fill it), 15 downloads, the remote flows with 1, 4 and
# 16 cards and 5 rounds.
#
# The PC/SC stack: the one described by $VEUICC_STACK_DIR (or $STACK_DIR, or <repo>/.stack)
# when its stack.env exists and pcscd answers, else this script brings up its own
# (scripts/stack-up.sh --cards 0 --slots 16 in $STACK_DIR, default <repo>/.stack-bench)
# and takes it down at the end. --no-build uses the binaries already in target/release.

set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1
quick=0
build=1
out=''
while [ $# -gt 0 ]; do
    case "$1" in
    --quick) quick=1; shift ;;
    --no-build) build=0; shift ;;
    --out) out=${2:-}; shift 2 || exit 2 ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "bench.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done
if [ -n "$out" ]; then
    exec > >(tee "$out") 2>&1
fi

failed=0
section() { printf '\n=== %s\n' "$*"; }
run() {
    "$@" || {
        echo "bench.sh: FAILED: $*" >&2
        failed=1
    }
}

if [ "$build" = 1 ]; then
    section "build (release)"
    cargo build --release -p card-sim -p sm-cli -p system-tests --bins || exit 1
    cargo build --release -p apdu --example crypto_bench || exit 1
fi
export VEUICC_CARD_SIM=${VEUICC_CARD_SIM:-$ROOT/target/release/card-sim}
export VEUICC_SM_CLI=${VEUICC_SM_CLI:-$ROOT/target/release/sm-cli}
export CRYPTO_BENCH=${CRYPTO_BENCH:-$ROOT/target/release/examples/crypto_bench}

# The stack: an existing one, or our own.
stack_dir=${VEUICC_STACK_DIR:-${STACK_DIR:-$ROOT/.stack}}
ours=0
if ! { [ -f "$stack_dir/stack.env" ] && timeout 10 pcsc_scan -r >/dev/null 2>&1; }; then
    export STACK_DIR=${STACK_DIR:-$ROOT/.stack-bench}
    stack_dir=$STACK_DIR
    section "stack up ($STACK_DIR)"
    # shellcheck source=scripts/stack-up.sh
    . "$ROOT/scripts/stack-up.sh" --cards 0 --slots 16 --no-build || exit 1
    ours=1
    # shellcheck disable=SC2317  # runs from the EXIT trap
    down() {
        section "stack down"
        # shellcheck source=scripts/stack-down.sh
        . "$ROOT/scripts/stack-down.sh" || true
    }
    trap down EXIT
fi
export VEUICC_STACK_DIR=$stack_dir

section "machine"
echo "date:    $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "commit:  $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' (+ local changes)')"
echo "nproc:   $(nproc)"
echo "CPU:     $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
echo "kernel:  $(uname -srm)"
pcscd_pid=$(pgrep -x pcscd | head -n1 || true)
if [ -n "$pcscd_pid" ] && tr '\0' ' ' <"/proc/$pcscd_pid/cmdline" | grep -qE '(^| )(-a|--apdu)( |$)'; then
    echo "pcscd:   pid $pcscd_pid, logs every APDU (-a)$([ "$ours" = 1 ] && echo ', started by this script')"
else
    echo "pcscd:   pid ${pcscd_pid:-?}, no APDU logging"
fi
echo "mode:    $([ "$quick" = 1 ] && echo quick || echo full)"

q=()
[ "$quick" = 1 ] && q=(--quick)

section "APDU round trip through pcscd + vpcd, against the floor-card"
run "$ROOT/target/release/rtt-bench" "${q[@]}"

section "device-change cryptography (one operation each)"
run "$CRYPTO_BENCH" "${q[@]}"

section "device-change flows, split"
run "$ROOT/target/release/flow-bench" "${q[@]}"

section "a whole profile download, split"
run "$ROOT/target/release/download-bench" "${q[@]}"

section "SM-DP+: downloads per second against one sm-cli smdp serve"
if [ "$quick" = 1 ]; then
    run "$ROOT/target/release/smdp-bench" --cards 1,4 --rounds 2
else
    # As many cards at once as the stack has free slots, up to 16.
    run "$ROOT/target/release/smdp-bench" --cards 1,4,16 --rounds 5
fi

# PostgreSQL, when there is one (see the top): the database `sm` of $VEUICC_PG_URL.
pg=''
if [ -n "${VEUICC_PG_URL:-}" ]; then
    if psql -X -q -d "${VEUICC_PG_URL}sm" -c 'SELECT 1' >/dev/null 2>&1; then
        pg=${VEUICC_PG_URL}sm
    else
        echo "bench.sh: PostgreSQL (\$VEUICC_PG_URL, database sm) does not answer: its benchmarks are skipped"
    fi
fi

section "the SM behind the network: device-change flows per second, --sm-db against 1 and 2 servers"
if [ -n "$pg" ]; then
    pg_args=(--postgres "$pg")
else
    pg_args=(--no-postgres)
    echo "PostgreSQL: skipped (no \$VEUICC_PG_URL; scripts/pg-up.sh starts one): only --sm-db and 1 server on SQLite"
fi
if [ "$quick" = 1 ]; then
    run "$ROOT/target/release/remote-flow-bench" --cards 1,4 --rounds 2 "${pg_args[@]}"
else
    run "$ROOT/target/release/remote-flow-bench" --cards 1,4,16 --rounds 5 "${pg_args[@]}"
fi

section "SM store: lookup (get) and durable update (record_failure) by size"
store=$(mktemp)
if [ "$quick" = 1 ]; then
    profile=(); max=10000
else
    profile=(--release); max=1000000
fi
if [ -n "$pg" ]; then
    export SM_STORE_BENCH_POSTGRES=$pg
elif [ -z "${SM_STORE_BENCH_POSTGRES:-}" ]; then
    echo "PostgreSQL: skipped (no \$VEUICC_PG_URL): the store on SQLite only"
fi
# The store's tests live in sm-cli's library (--lib; `--bin sm-cli` holds none).
if SM_STORE_BENCH_MAX=$max cargo test -q "${profile[@]}" -p sm-cli --lib store_scaling \
    -- --ignored --nocapture >"$store" 2>&1; then
    # The benchmark prints a header line starting with "db" and one line per database
    # and size (tab-separated), and "# " lines (the PostgreSQL server, each floor).
    awk -F'\t' '
        $1 == "db" { go = 1
            printf "%-9s %-9s %9s %9s %11s %8s %12s %12s %10s\n", "db", "rows", "size MiB", "get p50", "get p50 x1", "get p99", "update p50", "update x1", "update p99"
            next }
        go && /^# / { print; next }
        go && $2 ~ /^[0-9]+$/ {
            if (!($1 in g1)) { g1[$1] = $8; f1[$1] = $11 }
            printf "%-9s %-9s %9s %7s us %10.2fx %5s us %9s us %11.2fx %7s us\n", $1, $2, $6, $8, $8 / g1[$1], $9, $11, $11 / f1[$1], $12
        }' "$store"
    grep -q '^db' "$store" || { echo "bench.sh: FAILED: store_scaling printed no figures" >&2; failed=1; }
    echo "(${profile[*]:-debug} build; x1 = the ratio to the same database holding 1 subscription; an index lookup grows with log n; the floor is an empty read transaction)"
else
    cat "$store"
    echo "bench.sh: FAILED: the SM store benchmark" >&2
    failed=1
fi
rm -f "$store"

section "result"
if [ "$failed" = 0 ]; then
    echo "all benchmarks ran (figures above; docs/benchmarks.md explains them)"
else
    echo "some benchmarks FAILED (see above)"
fi
exit "$failed"
