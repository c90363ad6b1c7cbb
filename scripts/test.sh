#!/usr/bin/env bash
# scripts/test.sh: every test tier, through the real PC/SC stack. The one test command
# of the README and of .ci/run.
#
#   scripts/test.sh [--no-deps] [--skip-bench]
#
#  1. installs missing Debian packages (scripts/install-deps.sh; skipped with --no-deps);
#  2. checks formatting and lints (cargo fmt --check, cargo clippy -D warnings), that no
#     two files import each other in a circle (scripts/check-imports.py), licences and
#     duplicate crates (cargo deny check bans licenses, deny.toml; installs cargo-deny
#     from crates.io when missing), builds card-sim, sm-cli and the system-test tools
#     (release);
#  3. brings the stack up (scripts/stack-up.sh --cards 0 --slots 16): its own pcscd with
#     16 vpcd slots, pcsc-lite's most (or the pcscd that already runs), every slot free for the system tests;
#  4. starts a PostgreSQL server of its own (scripts/pg-up.sh: a temporary cluster on
#     loopback, stopped by its PID at the end) for the store's second database (issue 12);
#  5. cargo test --workspace --no-fail-fast: the in-process tier (apdu, card logic, sm-cli) and the
#     system tier (tests/: card-sim processes behind pcscd, sm-cli, opensc-tool, scriptor;
#     the remote-SM tests also on PostgreSQL, VEUICC_TEST_POSTGRES); then sm-cli's library
#     tests again with every store on PostgreSQL over TLS (SM_TEST_POSTGRES); then the device-change
#     story of scripts/demo.sh against a remote SM (`demo.sh --kdf test --remote`: `sm-cli
#     smdp serve` on a free loopback port, every flow with `--sm`), once on an SQLite store
#     and once on PostgreSQL (`--sm-db postgres://...?sslmode=require`), on cards of its own on slots 0
#     and 1 of the same pcscd (about 4 s each);
#  6. replays every scripts/*.apdu against fresh cards on slots 0 and 1 (`card-sim --slot N
#     --ephemeral --seed N+1 --test-profiles 2 --kdf-floor test`, what the recorded
#     scripts expect), first with `sm-cli script run` (every answer checked), then with scriptor as an
#     independent witness (scripts/scriptor-check.sh: status words checked) when the
#     script is scriptor-compatible;
#  7. a fuzz smoke (scripts/fuzz-smoke.sh, FUZZ_SECONDS per target, default 20);
#     the GetEID round-trip benchmark and scripts/bench.sh, quick mode (figures only;
#     skipped with --skip-bench);
#  8. tears the stack down (and PostgreSQL) (always, also on failure or Ctrl-C) and prints a summary.
#
# With CI set, system tests that cannot reach the stack fail instead of skipping.
# Environment: STACK_DIR (default <repo>/.stack-test), TEST_TIMEOUT (seconds for
# cargo test, default 2700).

set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
export STACK_DIR=${STACK_DIR:-$ROOT/.stack-test}
export VEUICC_STACK_DIR=$STACK_DIR
deps=1
bench=1
while [ $# -gt 0 ]; do
    case "$1" in
    --no-deps) deps=0; shift ;;
    --skip-bench) bench=0; shift ;;
    -h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
done

summary=()
failed=0
# step NAME CMD...: runs CMD, records "NAME: ok|FAILED (N s)".
step() {
    local name=$1 start=$SECONDS rc=0
    shift
    echo
    echo "=== $name"
    "$@" || rc=$?
    if [ "$rc" -eq 0 ]; then
        summary+=("$(printf '%-44s ok      %4d s' "$name" $((SECONDS - start)))")
    else
        summary+=("$(printf '%-44s FAILED  %4d s (exit %d)' "$name" $((SECONDS - start)) "$rc")")
        failed=1
    fi
    return 0
}

# shellcheck disable=SC2317  # runs from the EXIT trap
finish() {
    local rc=$?
    trap - EXIT INT TERM
    echo
    echo "=== tear down"
    # shellcheck source=scripts/stack-down.sh
    . "$ROOT/scripts/stack-down.sh" || true
    "$ROOT/scripts/pg-down.sh" || true
    echo
    echo "=== summary (total $SECONDS s)"
    printf '  %s\n' "${summary[@]}"
    if [ "$failed" -ne 0 ] || [ "$rc" -ne 0 ]; then
        echo "RESULT: FAILED"
        exit 1
    fi
    echo "RESULT: all passed"
    exit 0
}
trap finish EXIT
trap 'echo "test.sh: interrupted" >&2; failed=1; exit 130' INT TERM

if [ "$deps" = 1 ]; then
    step "install missing packages" "$ROOT/scripts/install-deps.sh"
fi

step "cargo fmt --check" cargo fmt --all -- --check
step "cargo clippy --all-targets -D warnings" \
    cargo clippy --workspace --all-targets -- -D warnings
step "no import circles (scripts/check-imports.py)" python3 "$ROOT/scripts/check-imports.py"

# Licences and duplicate crates (deny.toml). Advisories are not checked: their database
# is fetched from GitHub, which CI cannot reach (README).
deny() {
    if ! cargo deny --version >/dev/null 2>&1; then
        # Measured on the project machine: about 3 min (2 shared cores).
        echo "test.sh: installing cargo-deny (cargo install --locked cargo-deny)"
        cargo install --locked cargo-deny || return 1
    fi
    cargo deny check bans licenses
}
step "cargo deny check bans licenses" deny

build() {
    cargo build --release -p card-sim -p sm-cli -p system-tests --bins
}
step "cargo build --release (card-sim, sm-cli, tools)" build
[ "$failed" -eq 0 ] || exit 1

export VEUICC_CARD_SIM=$ROOT/target/release/card-sim
export VEUICC_SM_CLI=$ROOT/target/release/sm-cli
# smdp_download's parallel test must get all 16 slots (issue 11), not fewer.
export SMDP_PARALLEL_CARDS=${SMDP_PARALLEL_CARDS:-16}
up() {
    # shellcheck source=scripts/stack-up.sh
    . "$ROOT/scripts/stack-up.sh" --cards 0 --slots 16 --no-build
}
step "stack up (pcscd, 16 vpcd slots)" up
[ "$failed" -eq 0 ] || exit 1

pg_up() {
    "$ROOT/scripts/pg-up.sh" >/dev/null || return 1
    # shellcheck source=/dev/null
    . "$STACK_DIR/pg.env"
    # The system tests' database (each test makes its own schema in it).
    export VEUICC_TEST_POSTGRES=${VEUICC_PG_URL}sm
}
step "PostgreSQL up (scripts/pg-up.sh)" pg_up

step "cargo test --workspace (all tiers)" \
    timeout -k 30 "${TEST_TIMEOUT:-2700}" cargo test --workspace --no-fail-fast

# The same library tests with every store on PostgreSQL (a fresh schema per test), over
# TLS with the server's certificate checked (the system tests above use plain TCP).
pg_lib_tests() {
    [ -n "${VEUICC_PG_URL:-}" ] || { echo "test.sh: PostgreSQL is not up" >&2; return 1; }
    PGSSLROOTCERT=$VEUICC_PG_CA SM_TEST_POSTGRES="${VEUICC_PG_URL}sm_test?sslmode=require" \
        cargo test -p sm-cli --lib --no-fail-fast
}
step "sm-cli library tests on PostgreSQL" pg_lib_tests

# demo.sh against a remote SM (issue 12): its own run directory, so it finds the pcscd above
# running and not its own, starts its two cards on slots 0 and 1 (free after the tests)
# and its server, and stops exactly those (the server by its PID), also on failure.
demo_remote() {
    STACK_DIR=$STACK_DIR/demo-remote "$ROOT/scripts/demo.sh" --kdf test --remote
}
step "demo.sh --remote (the story against smdp serve)" demo_remote
# ... and with the server's store on PostgreSQL (a database of its own, new each run).
demo_remote_pg() {
    [ -n "${VEUICC_PG_URL:-}" ] || { echo "test.sh: PostgreSQL is not up" >&2; return 1; }
    psql -q -d "${VEUICC_PG_URL}postgres" -c "DROP DATABASE IF EXISTS demo" -c "CREATE DATABASE demo" || return 1
    PGSSLROOTCERT=$VEUICC_PG_CA STACK_DIR=$STACK_DIR/demo-remote "$ROOT/scripts/demo.sh" \
        --kdf test --remote --sm-db "${VEUICC_PG_URL}demo?sslmode=require"
}
step "demo.sh --remote --sm-db postgres://... " demo_remote_pg

# Fresh cards on slots 0 and 1, as the recorded scripts expect them (scripts/README.md):
# slot 0 `--seed 1`, slot 1 `--seed 2`, both with two test profiles, test cards
# (`--kdf-floor test`: device-change.apdu was recorded with `sm-cli --kdf test`).
fresh_cards() {
    . "$ROOT/scripts/lib.sh"
    local s reader
    for s in 0 1; do
        reader=$(stack_reader_name "$s")
        stack_stop "$STACK_DIR/card-sim-$s.pid" "card-sim-$s" 2>/dev/null
        stack_wait_reader "$reader" no 20 || return 1
        stack_spawn "$STACK_DIR/card-sim-$s.pid" "$STACK_DIR/card-sim-$s.log" \
            "$VEUICC_CARD_SIM" --slot "$s" --ephemeral --seed $((s + 1)) --test-profiles 2 \
            --kdf-floor test || return 1
        stack_wait_reader "$reader" yes 20 || return 1
    done
}

replay_scripts() {
    local f rc=0 n=0
    for f in "$ROOT"/scripts/*.apdu; do
        [ -e "$f" ] || continue
        n=$((n + 1))
        fresh_cards || return 1
        echo "--- sm-cli script run ${f#"$ROOT"/}"
        # PARAM: the parameter typed in recorded device-change sessions (123456).
        "$VEUICC_SM_CLI" -r "$VEUICC_READER_0" script run --var PARAM=313233343536 "$f" || rc=1
    done
    echo "replayed $n scripts with sm-cli"
    return $rc
}
step "replay scripts/*.apdu (sm-cli script run)" replay_scripts

scriptor_witness() {
    local f rc=0 out
    for f in "$ROOT"/scripts/*.apdu; do
        [ -e "$f" ] || continue
        fresh_cards || return 1
        out=$("$ROOT/scripts/scriptor-check.sh" -r "$VEUICC_READER_0" "$f") || rc=1
        printf '%s\n' "$out" | grep -v '^scriptor: '
    done
    return $rc
}
step "replay scripts/*.apdu (scriptor witness)" scriptor_witness

# Bounded fuzzing on top of the committed corpus (issue 5); FUZZ_SECONDS per target.
step "fuzz smoke (${FUZZ_SECONDS:-20} s per target)" "$ROOT/scripts/fuzz-smoke.sh" "${FUZZ_SECONDS:-20}"

if [ "$bench" = 1 ]; then
    step "benchmark: GetEID round trip (quick)" "$ROOT/target/release/rtt-bench" --quick
    step "benchmarks vs the floor (bench.sh --quick)" "$ROOT/scripts/bench.sh" --quick
fi
