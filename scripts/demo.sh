#!/usr/bin/env bash
# scripts/demo.sh: the device-change story of the patent, through the real stack.
#
#   scripts/demo.sh [--kdf production|test] [--keep]
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
# Everything it starts is stopped at the end (scripts/stack-down.sh), unless --keep.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
kdf=production
keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --kdf) kdf=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h | --help) sed -n '2,/^set/s/^# \{0,1\}//p' "$0" | sed '$d'; exit 0 ;;
    *) echo "demo: unknown option $1" >&2; exit 2 ;;
    esac
done

"$root/scripts/install-deps.sh"
export STACK_DIR=${STACK_DIR:-$root/.stack-demo}
work=$(mktemp -d)
cleanup() {
    if [ "$keep" = 0 ]; then
        "$root/scripts/stack-down.sh" >/dev/null 2>&1 || true
        rm -rf "$work"
    else
        echo "demo: stack left running (scripts/stack-down.sh with STACK_DIR=$STACK_DIR stops it); SM store $work/sm.sqlite3"
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
sm() { "$VEUICC_SM_CLI" --sm-db "$work/sm.sqlite3" "$@"; }
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
sm sm show "$OP"
sm sm audit "$OP"
echo
echo "demo: the device-change story ran end to end."
