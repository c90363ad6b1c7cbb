#!/usr/bin/env bash
# scripts/stack-down.sh: stops what scripts/stack-up.sh started, and nothing else: the
# card-sim processes recorded in $STACK_DIR/card-sim-*.pid, the cards the system tests
# started ($STACK_DIR/harness/*.pid, in case a test process died before cleaning up), then
# pcscd if (and only if) stack-up.sh started it ($STACK_DIR/pcscd.pid). Each process is
# stopped by its recorded PID and start time, so a recycled PID is never hit. Running it
# again, or with nothing up, does nothing and succeeds. Works run or sourced.

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || return 1 2>/dev/null || exit 1

stack_down_main() {
    local f stopped=0 slot
    if [ ! -d "$STACK_DIR" ]; then
        stack_log "nothing to stop ($STACK_DIR does not exist)"
        return 0
    fi
    for f in "$STACK_DIR"/card-sim-*.pid "$STACK_DIR"/harness/*.pid; do
        [ -e "$f" ] || continue
        slot=${f##*/}
        stack_stop "$f" "${slot%.pid}" || return 1
        stopped=$((stopped + 1))
    done
    if [ -f "$STACK_DIR/pcscd.pid" ]; then
        stack_stop "$STACK_DIR/pcscd.pid" pcscd || return 1
        stopped=$((stopped + 1))
    fi
    rm -f "$STACK_DIR/stack.env" "$STACK_DIR/pcscd.slots"
    if [ "$stopped" -eq 0 ]; then
        stack_log "nothing to stop in $STACK_DIR"
    else
        stack_log "stack down ($STACK_DIR)"
    fi
    unset VEUICC_STACK VEUICC_PCSCD_PID VEUICC_PCSCD_OWNED 2>/dev/null || true
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    stack_down_main "$@"
    return $?
else
    set -uo pipefail
    stack_down_main "$@"
    exit $?
fi
