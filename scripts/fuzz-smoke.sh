#!/usr/bin/env bash
# Bounded fuzz run of every cargo-fuzz target in fuzz/ (issue 5, "Bad input"), for CI.
#
# Usage: scripts/fuzz-smoke.sh [SECONDS_PER_TARGET]      (default 30)
#
# - Installs cargo-fuzz from crates.io when it is missing (cargo install --locked).
# - Builds the targets once with `--sanitizer none` (default): the toolchain is stable only, and
#   only the sanitizers need nightly flags (-Zsanitizer); coverage instrumentation
#   (sancov) works on stable. Our code is safe Rust, so panics (what the oracles assert)
#   are the crashes we look for; out-of-memory and timeouts are caught by libFuzzer.
# - Runs each target for SECONDS_PER_TARGET seconds on a copy of its committed corpus
#   (fuzz/corpus/<target>/, plus the saved crashes in fuzz/regressions/<target>/) in a
#   temporary directory, so the tree stays clean, with -max_len, -rss_limit_mb=2048, a
#   per-input -timeout, and -entropic_scale_per_exec_time=1: the device-change seeds
#   derive an RSA key from the parameter (~0.6 s per input), and without this libFuzzer
#   spends the whole budget on them (measured: 1 400 runs in 30 s instead of 116 000,
#   with less coverage).
# - Fails (exit 1) when any target finds a crash (panic, abort, stack overflow), an
#   out-of-memory, a timeout or (with FUZZ_SANITIZER) a leak or memory error, or dies
#   or ends without libFuzzer's final stats; the input is left in fuzz/artifacts/<target>/
#   (git-ignored) and named in the output, and so is the failed target's whole log
#   (fuzz/artifacts/<target>/fuzz-smoke.log; its last lines are printed).
#   Save a real finding under fuzz/regressions/<target>/ so `cargo test` in fuzz/ replays it.
# - Prints one summary line per target.
#
# Environment:
# - FUZZ_TARGETS="a b" runs a subset. Targets run one after the other on one core each.
# - FUZZ_SANITIZER=address (or leak) builds with AddressSanitizer / LeakSanitizer, so leaks
#   fail the run too. The stable toolchain refuses -Zsanitizer, so the script then sets
#   RUSTC_BOOTSTRAP=1 (measured here: it builds and runs; about 5x fewer runs per second).
#   Default: none.
#
# Measured on the project machine (2 shared cores): 30 s per target takes about 6.5 min
# from a clean fuzz/target (build 175 s), 2.7 min with the build cached; installing
# cargo-fuzz, when missing, adds about 140 s.
set -euo pipefail

SECONDS_PER_TARGET="${1:-30}"
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET]  (a positive integer, default 30)" >&2
    exit 2
fi

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FUZZ_DIR="$ROOT/fuzz"
TARGETS="${FUZZ_TARGETS:-apdu_command ber_tlv es10_decode script_parser card_sequence sm_answers es9p_requests sm_requests}"
SANITIZER="${FUZZ_SANITIZER:-none}"
case "$SANITIZER" in
    none) ;;
    address | leak) export RUSTC_BOOTSTRAP=1 ;;
    *)
        echo "FUZZ_SANITIZER must be none, address or leak" >&2
        exit 2
        ;;
esac

# Largest input per target: APDUs are at most 65 544 bytes, but the interesting ones are
# short; sequences and scripts need room for many steps or lines.
max_len() {
    case "$1" in
        apdu_command) echo 1024 ;;
        ber_tlv | es10_decode | sm_answers | es9p_requests) echo 4096 ;;
        # sm_requests: room for an admin body over its 4 KiB cap.
        script_parser | card_sequence | sm_requests) echo 8192 ;;
        *) echo 4096 ;;
    esac
}

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz-smoke: installing cargo-fuzz (cargo install cargo-fuzz --locked)"
    cargo install cargo-fuzz --locked
fi

start=$(date +%s)
echo "fuzz-smoke: building the targets (cargo fuzz build --sanitizer $SANITIZER)"
(cd "$ROOT" && cargo fuzz build --sanitizer "$SANITIZER")
built=$(date +%s)
echo "fuzz-smoke: build took $((built - start)) s"

# The last number matching PATTERN in FILE, or nothing (never a failing status).
stat_of() {
    grep -Eo "$1" "$2" | grep -Eo '[0-9]+$' | tail -1 || true
}

WORK="$(mktemp -d "${TMPDIR:-/tmp}/fuzz-smoke.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

failed=0
summary=()
for t in $TARGETS; do
    corpus="$WORK/corpus/$t"
    mkdir -p "$corpus" "$FUZZ_DIR/artifacts/$t"
    if [ -d "$FUZZ_DIR/corpus/$t" ]; then
        cp "$FUZZ_DIR/corpus/$t"/. "$corpus"/ -r
    fi
    if [ -d "$FUZZ_DIR/regressions/$t" ]; then
        cp "$FUZZ_DIR/regressions/$t"/. "$corpus"/ -r
    fi
    seeds=$(find "$corpus" -type f | wc -l)
    log="$WORK/$t.log"
    echo "fuzz-smoke: $t for ${SECONDS_PER_TARGET} s on $seeds seeds"
    t0=$(date +%s)
    set +e
    (cd "$ROOT" && cargo fuzz run --sanitizer "$SANITIZER" "$t" "$corpus" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -max_len="$(max_len "$t")" \
        -rss_limit_mb=2048 \
        -timeout=30 \
        -entropic_scale_per_exec_time=1 \
        -print_final_stats=1 \
        -artifact_prefix="$FUZZ_DIR/artifacts/$t/") >"$log" 2>&1
    rc=$?
    set -e
    t1=$(date +%s)
    # A target that dies before libFuzzer prints its final stats leaves these empty
    # (each grep finds nothing): "?" in the summary, never an abort of the script.
    runs=$(stat_of 'stat::number_of_executed_units: *[0-9]+' "$log")
    cov=$(stat_of 'cov: [0-9]+' "$log")
    peak=$(stat_of 'stat::peak_rss_mb: *[0-9]+' "$log")
    if [ "$rc" -eq 0 ] && [ -n "$runs" ]; then
        verdict="ok"
    else
        if [ "$rc" -eq 0 ]; then
            verdict="FAILED (no stats)"
        else
            verdict="FAILED (exit $rc)"
        fi
        failed=1
        # Keep the whole log where the artifacts go (git-ignored): $WORK is deleted at exit.
        kept="$FUZZ_DIR/artifacts/$t/fuzz-smoke.log"
        cp "$log" "$kept"
        echo "---- $t: last lines of the libFuzzer log (all of it: $kept) ----"
        grep -E 'ERROR|panicked|SUMMARY|artifact|Test unit written|leak|out-of-memory|timeout' "$log" | tail -20 || true
        tail -40 "$log"
        echo "---- end of $t ----"
    fi
    line=$(printf '%-14s %-18s %10s runs  cov %6s  peak %5s MB  %4ss' \
        "$t" "$verdict" "${runs:-?}" "${cov:-?}" "${peak:-?}" "$((t1 - t0))")
    summary+=("$line")
    echo "fuzz-smoke: $line"
done

end=$(date +%s)
echo
echo "fuzz-smoke summary (${SECONDS_PER_TARGET} s per target, total $((end - start)) s including build):"
for line in "${summary[@]}"; do
    echo "  $line"
done
if [ "$failed" -ne 0 ]; then
    echo "fuzz-smoke: FAILED: see the logs above; crashing inputs are in fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzz-smoke: all targets ok"
