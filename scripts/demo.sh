#!/usr/bin/env bash
# scripts/demo.sh: the device-change story of the patent, through the real stack.
#
#   scripts/demo.sh [--kdf production|test] [--remote] [--sm-db DB] [--keep]
#
# Brings up pcscd (with vsmartcard's vpcd driver) and two card-sim processes: the OLD
# phone's eUICC on slot 0 and the NEW phone's on slot 1, each with a state file; then, with
# sm-cli playing terminal and subscription manager (its own SQLite store), it runs:
#   1. flow A: provision the subscription +8613800000001 on the old card (parameter 123456)
#   2. flow B: device change to the new card, first with a wrong parameter (refused,
#      counter 1), then the right one (profile enabled on the new card, old binding stopped)
#   3. sync: the old card learns of the change and drops the moved profile
#   4. flow C: rekey from the new phone (current 123456, new 24681357)
#   5. a device change back with the OLD parameter now fails; the new one works
#   6. the SM's record and audit log
# --remote: the SM runs behind the network instead (README, "The SM behind the network"):
# the demo starts `sm-cli smdp serve --listen 127.0.0.1:0` (a free port, the one it prints)
# on its own SM store in the demo's run directory, and every flow of 1-5 runs with
# `sm-cli --sm https://127.0.0.1:PORT` (the terminal opens no store); the output is the
# same but for the SM's location. Step 6 asks the server's admin endpoints (`sm show`, `sm
# audit` with `--operator-token-file`, a token the demo makes with `smdp operator-token`).
# --sm-db DB: the SM's store (default: a new SQLite file in the demo's run directory): a
# file, or an (empty) PostgreSQL database, postgres://USER@HOST:PORT/DB (the password in
# PGPASSWORD). Everything it starts is stopped at the end (scripts/stack-down.sh; the server by its
# PID), also on failure, unless --keep.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kdf=production
keep=0
remote=0
db=
while [ $# -gt 0 ]; do
    case $1 in
    --kdf) kdf=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --remote) remote=1; shift ;;
    --sm-db) db=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
    esac
done

"$root/scripts/install-deps.sh"
export STACK_DIR=${STACK_DIR:-$root/.stack-demo}
work=$(mktemp -d)
server_pid=
cleanup() {
    if [ "$keep" = 0 ]; then
        if [ -n "$server_pid" ]; then
            kill -TERM "$server_pid" 2>/dev/null || true
            wait "$server_pid" 2>/dev/null || true
        fi
        "$root/scripts/stack-down.sh" >/dev/null 2>&1 || true
        rm -rf "$work"
    else
        [ -z "$server_pid" ] || echo "demo: SM server left running (pid $server_pid, log $work/sm-server.log; kill $server_pid stops it)"
        echo "demo: stack left running (scripts/stack-down.sh with STACK_DIR=$STACK_DIR stops it); SM store $db"
    fi
}
trap cleanup EXIT

# The cards accept the KDF the SM is told to use: `--kdf test` needs test cards.
floor=()
[ "$kdf" != test ] || floor=(--kdf-floor test)
"$root/scripts/stack-up.sh" --cards 2 --state-dir "$work/cards" "${floor[@]}"
# shellcheck source=/dev/null
. "$STACK_DIR/stack.env"
OLD=$VEUICC_READER_0
NEW=$VEUICC_READER_1
OP=+8613800000001
OLD_IMEI=490154203237518
NEW_IMEI=356938035643809
# The SM's store: the terminal's own (--sm-db), or the server's with --remote; sm runs the
# story's commands, operator the SM operator's (step 6).
[ -n "$db" ] || db=$work/sm.sqlite3
where=(--sm-db "$db")
operator_where=(--sm-db "$db")
if [ "$remote" = 1 ]; then
    # The operator's credential: a token file (mode 0600) the server checks on its admin
    # endpoints; without it those endpoints do not exist.
    token=$work/operator.token
    rm -f "$token"
    "$VEUICC_SM_CLI" smdp operator-token --out "$token" >/dev/null
    "$VEUICC_SM_CLI" --sm-db "$db" smdp serve --listen 127.0.0.1:0 --hostname localhost \
        --operator-token-file "$token" \
        >"$work/sm-server.out" 2>"$work/sm-server.log" </dev/null &
    server_pid=$!
    echo "$server_pid" >"$work/sm-server.pid"
    port=
    for _ in $(seq 100); do
        port=$(sed -n 's/.*127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$work/sm-server.out" | head -n1)
        [ -z "$port" ] || break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "demo: sm-cli smdp serve did not start; its log ($work/sm-server.log):" >&2
        cat "$work/sm-server.log" >&2
        exit 1
    fi
    where=(--sm "https://127.0.0.1:$port")
    operator_where=(--sm "https://127.0.0.1:$port" --operator-token-file "$token")
    echo "demo: the SM runs behind the network: sm-cli smdp serve on https://127.0.0.1:$port (pid $server_pid, store $db)"
fi
sm() { "$VEUICC_SM_CLI" "${where[@]}" "$@"; }
# The operator's commands: the store file, or with --remote the server's admin endpoints
# with the operator token (the terminal side never opens the server's store).
operator() { "$VEUICC_SM_CLI" "${operator_where[@]}" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
expect_fail() { # expect_fail CODE cmd...: runs cmd, which must exit with CODE
    local want=$1 rc=0
    shift
    "$@" || rc=$?
    if [ "$rc" != "$want" ]; then
        echo "demo: expected exit $want, got $rc" >&2
        exit 1
    fi
    echo "(refused as expected, exit $rc)"
}

step "readers"
sm readers

step "flow A: provision $OP on the old phone ($OLD)"
echo 123456 | sm -r "$OLD" provision --op-id "$OP" --imei "$OLD_IMEI" --param-stdin --kdf "$kdf"
sm -r "$OLD" profiles list

step "flow B: device change to the new phone ($NEW) with a wrong parameter"
echo 000000 | expect_fail 31 sm -r "$NEW" device-change --op-id "$OP" --imei "$NEW_IMEI" --param-stdin

step "flow B: device change with the right parameter"
echo 123456 | sm -r "$NEW" device-change --op-id "$OP" --imei "$NEW_IMEI" --param-stdin
sm -r "$NEW" profiles list

step "sync: the old phone checks in and drops the moved profile"
sm -r "$OLD" sync
sm -r "$OLD" profiles list

step "flow C: change the key from the new phone"
printf '123456\n24681357\n' | sm -r "$NEW" rekey --op-id "$OP" --imei "$NEW_IMEI" --param-stdin --new-param-stdin

step "a device change back to the old phone with the old parameter fails"
echo 123456 | expect_fail 31 sm -r "$OLD" device-change --op-id "$OP" --imei "$OLD_IMEI" --param-stdin

step "... and works with the new one"
echo 24681357 | sm -r "$OLD" device-change --op-id "$OP" --imei "$OLD_IMEI" --param-stdin
sm -r "$NEW" sync

step "the SM's record and audit log"
operator sm show "$OP"
operator sm audit "$OP"
echo
echo "demo: the device-change story ran end to end."
