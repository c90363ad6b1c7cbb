#!/usr/bin/env bash
# scripts/stack-up.sh: brings up the local PC/SC stack: pcscd with the vpcd driver and N
# card-sim processes, one per vpcd slot, and waits until the readers show the cards.
#
#   scripts/stack-up.sh [--cards N] [--slots M] [--state-dir DIR | --ephemeral]
#                       [--seed S] [--test-profiles K] [--kdf-floor production|test]
#                       [--debug] [--no-build]
#   scripts/stack-up.sh --restart-pcscd     (stop and start the pcscd this script owns)
#
# Run it, or source it (`. scripts/stack-up.sh --cards 2`): sourced, it also exports the
# VEUICC_* variables into the calling shell. Either way they are written to
# $STACK_DIR/stack.env (default STACK_DIR: <repo>/.stack), together with the pidfiles and
# logs of everything it started. scripts/stack-down.sh stops exactly those processes.
#
# pcscd: if a PC/SC service already runs, it is used and never stopped (it then offers
# only its own vpcd slots, 2 on Debian). Otherwise this script starts `pcscd -f -a` with a
# reader configuration of its own offering M vpcd slots (default: N, at least 2; at most
# 16), and owns it. Card i runs `card-sim --slot i`, i.e. vpcd port 35963+i, reader
# "Virtual PCD 00 0i" for i < 2 and "Virtual PCD k 00 0j" for i = 2k+j (see lib.sh).
# Card i gets --seed S+i, so that every card is deterministic yet different.
# --kdf-floor test makes cards for tests, which accept `sm-cli --kdf test` (card-sim's
# default floor is the production KDF; README "card-sim").
#
# Environment: STACK_DIR, STACK_TIMEOUT (seconds, default 30), VEUICC_CARD_SIM and
# VEUICC_SM_CLI (use these binaries instead of building them), STACK_PCSCD_APDU_LOG=0
# (start pcscd without -a).

# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || return 1 2>/dev/null || exit 1

stack_up_usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
}

# Starts our pcscd with the reader configuration in $STACK_DIR/pcscd and waits until
# pcscd lists the readers of all its slots.
stack_up_start_pcscd() {
    local slots=$1 s flags=(-f)
    [ "${STACK_PCSCD_APDU_LOG:-1}" = 0 ] || flags+=(-a)
    command -v pcscd >/dev/null || {
        stack_err "pcscd not found: install pcscd (apt-get install pcscd)"
        return 1
    }
    stack_write_reader_conf "$STACK_DIR/pcscd" "$slots" || return 1
    echo "$slots" >"$STACK_DIR/pcscd.slots"
    stack_spawn "$STACK_DIR/pcscd.pid" "$STACK_DIR/pcscd.log" \
        pcscd "${flags[@]}" -c "$STACK_DIR/pcscd/reader.conf.d" || return 1
    for ((s = 0; s < slots; s++)); do
        if ! stack_pidfile_alive "$STACK_DIR/pcscd.pid"; then
            stack_err "pcscd exited at start; its log ($STACK_DIR/pcscd.log) ends with:"
            tail -n 5 "$STACK_DIR/pcscd.log" >&2
            rm -f "$STACK_DIR/pcscd.pid"
            return 1
        fi
        stack_wait_reader "$(stack_reader_name "$s")" any || return 1
    done
    stack_log "started pcscd (pid $(cut -d' ' -f1 "$STACK_DIR/pcscd.pid")) with $slots vpcd slots"
}

stack_up_restart_pcscd() {
    local slots
    if [ ! -f "$STACK_DIR/pcscd.pid" ]; then
        stack_err "no pcscd started by stack-up.sh in $STACK_DIR: cannot restart one we do not own"
        return 1
    fi
    slots=$(cat "$STACK_DIR/pcscd.slots" 2>/dev/null || echo 2)
    stack_stop "$STACK_DIR/pcscd.pid" pcscd || return 1
    stack_up_start_pcscd "$slots" || return 1
    stack_up_write_env_pid
}

stack_up_write_env_pid() {
    local pid
    pid=$(cut -d' ' -f1 "$STACK_DIR/pcscd.pid" 2>/dev/null || true)
    if [ -f "$STACK_DIR/stack.env" ]; then
        sed -i "s/^export VEUICC_PCSCD_PID=.*/export VEUICC_PCSCD_PID=$pid/" "$STACK_DIR/stack.env"
    fi
    export VEUICC_PCSCD_PID=$pid
}

# Picks the binaries: VEUICC_CARD_SIM / VEUICC_SM_CLI, else builds them with cargo.
stack_up_binaries() {
    local profile=$1 build=$2 dir
    dir=$VEUICC_ROOT/target/$profile
    if [ -z "${VEUICC_CARD_SIM:-}" ] || [ -z "${VEUICC_SM_CLI:-}" ]; then
        if [ "$build" = 1 ]; then
            local args=(build -p card-sim -p sm-cli)
            [ "$profile" = release ] && args+=(--release)
            stack_log "cargo ${args[*]}"
            (cd "$VEUICC_ROOT" && cargo "${args[@]}") || {
                stack_err "cargo build failed"
                return 1
            }
        fi
        VEUICC_CARD_SIM=${VEUICC_CARD_SIM:-$dir/card-sim}
        VEUICC_SM_CLI=${VEUICC_SM_CLI:-$dir/sm-cli}
    fi
    [ -x "$VEUICC_CARD_SIM" ] || {
        stack_err "card-sim binary not found at $VEUICC_CARD_SIM"
        return 1
    }
    export VEUICC_CARD_SIM VEUICC_SM_CLI
}

stack_up_main() {
    local cards=2 slots='' state_dir='' ephemeral=0 seed='' test_profiles='' kdf_floor='' profile=release
    local build=1 owned=0 offered s name pidfile
    while [ $# -gt 0 ]; do
        case "$1" in
        --cards) cards=${2:-}; shift 2 || return 1 ;;
        --slots) slots=${2:-}; shift 2 || return 1 ;;
        --state-dir) state_dir=${2:-}; shift 2 || return 1 ;;
        --ephemeral) ephemeral=1; shift ;;
        --seed) seed=${2:-}; shift 2 || return 1 ;;
        --test-profiles) test_profiles=${2:-}; shift 2 || return 1 ;;
        --kdf-floor) kdf_floor=${2:-}; shift 2 || return 1 ;;
        --debug) profile=debug; shift ;;
        --no-build) build=0; shift ;;
        --restart-pcscd) stack_up_restart_pcscd; return ;;
        -h | --help) stack_up_usage; return 0 ;;
        *) stack_err "unknown option '$1' (try --help)"; return 1 ;;
        esac
    done
    case "$cards" in '' | *[!0-9]*) stack_err "--cards wants a number, got '$cards'"; return 1 ;; esac
    [ -n "$slots" ] || slots=$((cards > 2 ? cards : 2))
    case "$slots" in '' | *[!0-9]*) stack_err "--slots wants a number, got '$slots'"; return 1 ;; esac
    if [ "$slots" -lt "$cards" ] || [ "$slots" -gt "$STACK_MAX_SLOTS" ]; then
        stack_err "--slots must be between --cards ($cards) and $STACK_MAX_SLOTS, got $slots"
        return 1
    fi
    if [ -n "$seed" ]; then
        case "$seed" in *[!0-9]*) stack_err "--seed wants a number, got '$seed'"; return 1 ;; esac
    fi
    [ -n "$state_dir" ] || state_dir=$STACK_DIR/state

    mkdir -p "$STACK_DIR" || return 1
    # The run directory ignores itself, so it never shows up in git status.
    [ -f "$STACK_DIR/.gitignore" ] || echo '*' >"$STACK_DIR/.gitignore"
    STACK_DIR=$(cd "$STACK_DIR" && pwd)

    command -v pcsc_scan >/dev/null || {
        stack_err "pcsc_scan not found: install pcsc-tools"
        return 1
    }
    stack_up_binaries "$profile" "$build" || return 1

    # pcscd: ours if we started it before, someone else's if a service answers, else start.
    if stack_pidfile_alive "$STACK_DIR/pcscd.pid"; then
        owned=1
        offered=$(cat "$STACK_DIR/pcscd.slots" 2>/dev/null || echo 2)
        if [ "$offered" -lt "$slots" ]; then
            stack_err "our pcscd already runs with $offered slots; run scripts/stack-down.sh first to get $slots"
            return 1
        fi
        slots=$offered
        stack_log "pcscd (pid $(cut -d' ' -f1 "$STACK_DIR/pcscd.pid")) already started by us, reusing it"
    elif stack_pcsc_service_up; then
        rm -f "$STACK_DIR/pcscd.pid" "$STACK_DIR/pcscd.slots"
        offered=0
        while [ "$offered" -lt "$STACK_MAX_SLOTS" ] &&
            [ "$(stack_reader_state "$(stack_reader_name "$offered")")" != absent ]; do
            offered=$((offered + 1))
        done
        stack_log "using the PC/SC service that already runs (pid $(pgrep -x pcscd | head -n1 || echo '?'), not ours: it stays up); it offers $offered vpcd slots"
        if [ "$offered" -lt "$cards" ]; then
            stack_err "that pcscd offers $offered vpcd slots, $cards cards need $cards; stop it (then this script starts its own with more slots) or use --cards $offered"
            return 1
        fi
        slots=$offered
    else
        rm -f "$STACK_DIR/pcscd.pid"
        # vpcd readers come with two slots each.
        slots=$(((slots + 1) / 2 * 2))
        [ "$slots" -le "$STACK_MAX_SLOTS" ] || slots=$STACK_MAX_SLOTS
        stack_up_start_pcscd "$slots" || return 1
        owned=1
    fi

    # Cards.
    local args
    [ "$ephemeral" = 1 ] || mkdir -p "$state_dir" || return 1
    for ((s = 0; s < cards; s++)); do
        name=$(stack_reader_name "$s")
        pidfile=$STACK_DIR/card-sim-$s.pid
        if stack_pidfile_alive "$pidfile"; then
            stack_log "card-sim on slot $s already runs (pid $(cut -d' ' -f1 "$pidfile")), keeping it"
        else
            rm -f "$pidfile"
            if [ "$(stack_reader_state "$name")" = yes ]; then
                stack_err "slot $s ('$name') already holds a card that this script did not start"
                return 1
            fi
            args=(--slot "$s")
            if [ "$ephemeral" = 1 ]; then
                args+=(--ephemeral)
            else
                args+=(--state "$state_dir/card-$s.state.json")
            fi
            [ -z "$seed" ] || args+=(--seed $((seed + s)))
            [ -z "$test_profiles" ] || args+=(--test-profiles "$test_profiles")
            [ -z "$kdf_floor" ] || args+=(--kdf-floor "$kdf_floor")
            stack_spawn "$pidfile" "$STACK_DIR/card-sim-$s.log" "$VEUICC_CARD_SIM" "${args[@]}" || return 1
        fi
    done
    for ((s = 0; s < cards; s++)); do
        name=$(stack_reader_name "$s")
        if ! stack_wait_reader "$name" yes; then
            stack_pidfile_alive "$STACK_DIR/card-sim-$s.pid" ||
                stack_err "card-sim on slot $s exited; see $STACK_DIR/card-sim-$s.log"
            tail -n 5 "$STACK_DIR/card-sim-$s.log" >&2
            return 1
        fi
    done

    # What runs, for the caller and for tests.
    {
        echo "# written by scripts/stack-up.sh; source it to reach the stack"
        echo "export VEUICC_STACK=1"
        echo "export VEUICC_STACK_DIR='$STACK_DIR'"
        echo "export VEUICC_PCSCD_OWNED=$owned"
        echo "export VEUICC_PCSCD_PID=$(cut -d' ' -f1 "$STACK_DIR/pcscd.pid" 2>/dev/null || true)"
        echo "export VEUICC_SLOTS=$slots"
        echo "export VEUICC_CARDS=$cards"
        echo "export VEUICC_CARD_SIM='$VEUICC_CARD_SIM'"
        echo "export VEUICC_SM_CLI='$VEUICC_SM_CLI'"
        for ((s = 0; s < slots; s++)); do
            echo "export VEUICC_READER_$s='$(stack_reader_name "$s")'"
        done
    } >"$STACK_DIR/stack.env"
    # shellcheck source=/dev/null
    . "$STACK_DIR/stack.env"

    echo "PC/SC stack up (run directory $STACK_DIR):"
    if [ "$owned" = 1 ]; then
        echo "  pcscd     pid $VEUICC_PCSCD_PID (ours), $slots vpcd slots, log $STACK_DIR/pcscd.log"
    else
        echo "  pcscd     already running, not ours (left alone by stack-down), $slots vpcd slots"
    fi
    for ((s = 0; s < cards; s++)); do
        printf '  slot %-2d   card-sim pid %s, port %s, reader "%s", %s, log %s\n' \
            "$s" "$(cut -d' ' -f1 "$STACK_DIR/card-sim-$s.pid")" "$(stack_port "$s")" \
            "$(stack_reader_name "$s")" \
            "$([ "$ephemeral" = 1 ] && echo "ephemeral state" || echo "state $state_dir/card-$s.state.json")" \
            "$STACK_DIR/card-sim-$s.log"
    done
    for ((s = cards; s < slots; s++)); do
        printf '  slot %-2d   free, port %s, reader "%s"\n' "$s" "$(stack_port "$s")" "$(stack_reader_name "$s")"
    done
    echo "Environment: . $STACK_DIR/stack.env    Stop: scripts/stack-down.sh"
}

if [ "${BASH_SOURCE[0]}" != "$0" ]; then
    stack_up_main "$@"
    return $?
else
    set -uo pipefail
    stack_up_main "$@"
    exit $?
fi
