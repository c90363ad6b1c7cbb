# shellcheck shell=bash
# scripts/lib.sh: shared functions of the stack scripts (stack-up.sh, stack-down.sh,
# test.sh). Sourced, never run. It owns the facts about the local PC/SC stack:
#   - where the run directory is ($STACK_DIR, default <repo>/.stack) and what lives in it
#     (pidfiles, logs, the pcscd reader configuration, stack.env);
#   - how vpcd slots map to TCP ports and reader names (interop.md, "vpcd <-> virtual
#     card": port = 35963 + slot; Debian's vpcd registers 2 slots per configured reader);
#   - starting a program in the background with its PID recorded, and stopping it again
#     by that PID only.
# Every function returns non-zero on failure instead of exiting, so that a shell which
# sourced stack-up.sh keeps running; callers check the status.

VEUICC_ROOT=${VEUICC_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
STACK_DIR=${STACK_DIR:-$VEUICC_ROOT/.stack}
# interop.md: slot N listens on 35963 + N.
VPCD_BASE_PORT=35963
# pcsc-lite keeps at most 16 reader contexts (PCSCLITE_MAX_READERS_CONTEXTS).
# shellcheck disable=SC2034  # used by stack-up.sh
STACK_MAX_SLOTS=16
# Seconds to wait for a reader or a card to appear before giving up.
STACK_TIMEOUT=${STACK_TIMEOUT:-30}

stack_log() { printf 'stack: %s\n' "$*" >&2; }
stack_err() { printf 'stack: error: %s\n' "$*" >&2; return 1; }

# Reader name of a vpcd slot. Slots 0-1 are Debian's own "Virtual PCD" reader; slots
# 2k and 2k+1 belong to the extra reader "Virtual PCD k" that stack-up.sh configures
# (pcsc-lite names a reader "<FRIENDLYNAME> <reader number> <slot>").
stack_reader_name() {
    local pair=$(($1 / 2)) sub=$(($1 % 2))
    if [ "$pair" -eq 0 ]; then
        printf 'Virtual PCD 00 %02X\n' "$sub"
    else
        printf 'Virtual PCD %d 00 %02X\n' "$pair" "$sub"
    fi
}

stack_port() { echo $((VPCD_BASE_PORT + $1)); }

# True when a PC/SC service answers (a running pcscd, or one started on demand by
# systemd's pcscd.socket).
stack_pcsc_service_up() {
    timeout 10 pcsc_scan -r >/dev/null 2>&1
}

# Lines "<Yes|No><TAB><reader name>" for every reader pcscd knows, read without connecting
# to any card (opensc-tool -l does connect, with T=0 or T=1, and leaves the card powered
# in T=1: a T=0-only client such as lpac then gets SCARD_E_PROTO_MISMATCH until the card
# is reset. Never probe with it.)
# sm-cli's `readers` asks pcscd for the reader states only. pcsc_scan is the fallback
# before sm-cli is built, and it cannot serve 16 slots: it adds the "\\?PnP?\Notification"
# pseudo reader, and pcsc-lite 1.9.9 refuses SCardGetStatusChange with more than
# PCSCLITE_MAX_READERS_CONTEXTS (16) states ("Invalid parameter given", measured).
stack_readers() {
    if [ -n "${VEUICC_SM_CLI:-}" ] && [ -x "$VEUICC_SM_CLI" ]; then
        timeout 10 "$VEUICC_SM_CLI" --json readers 2>/dev/null | python3 -c '
import json, sys
try:
    doc = json.load(sys.stdin)
except ValueError:
    sys.exit(0)
for r in doc.get("readers", []):
    print(("Yes" if r.get("card_present") else "No") + "\t" + r["name"])'
        return 0
    fi
    timeout 10 pcsc_scan -c -n -t 1 2>/dev/null | awk '
        /^ Reader [0-9]+: / { name = $0; sub(/^ Reader [0-9]+: /, "", name); next }
        /^  Card state: / && name != "" {
            printf "%s\t%s\n", (index($0, "Card inserted") ? "Yes" : "No"), name
            name = ""
        }'
}

# stack_reader_state NAME: prints "yes", "no" or "absent".
stack_reader_state() {
    local name=$1 present line
    while IFS=$'\t' read -r present line; do
        if [ "$line" = "$name" ]; then
            if [ "$present" = Yes ]; then echo yes; else echo no; fi
            return 0
        fi
    done < <(stack_readers)
    echo absent
}

# stack_wait_reader NAME WANT [TIMEOUT]: polls until the reader's state is WANT
# ("yes" card present, "no" reader present without a card, "any" reader present).
stack_wait_reader() {
    local name=$1 want=$2 timeout=${3:-$STACK_TIMEOUT} state
    local deadline=$((SECONDS + timeout))
    while :; do
        state=$(stack_reader_state "$name")
        case "$want:$state" in
        yes:yes | no:no | any:yes | any:no) return 0 ;;
        esac
        if [ "$SECONDS" -ge "$deadline" ]; then
            stack_err "reader '$name': wanted '$want', still '$state' after ${timeout}s"
            return 1
        fi
        sleep 0.1
    done
}

# Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), which
# tells a process apart from a later one that reuses its PID.
stack_pid_starttime() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    # The command name (field 2) may hold spaces: cut everything up to its closing paren.
    stat=${stat##*) }
    # shellcheck disable=SC2086  # split into fields on purpose
    set -- $stat
    [ "$1" != Z ] && [ "$1" != X ] || return 1
    echo "${20}"
}

# stack_pid_alive PID [STARTTIME]: the process runs (not a zombie) and, when STARTTIME
# is given, it is the very process that was recorded.
stack_pid_alive() {
    local pid=$1 want=${2:-} got
    case "$pid" in '' | *[!0-9]*) return 1 ;; esac
    got=$(stack_pid_starttime "$pid") || return 1
    [ -z "$want" ] || [ "$want" = "$got" ]
}

# stack_pidfile_read PIDFILE: prints "PID STARTTIME" recorded by stack_spawn.
stack_pidfile_read() {
    [ -f "$1" ] && cat "$1" 2>/dev/null
}

# True when the process recorded in PIDFILE still runs.
stack_pidfile_alive() {
    local rec
    rec=$(stack_pidfile_read "$1") || return 1
    # shellcheck disable=SC2086
    stack_pid_alive $rec
}

# stack_spawn PIDFILE LOGFILE CMD...: starts CMD in its own session (so a closing terminal
# or Ctrl-C in the caller does not hit it), stdout+stderr appended to LOGFILE, and records
# "PID STARTTIME" in PIDFILE. The PID is the program itself (the shell execs it).
stack_spawn() {
    local pidfile=$1 logfile=$2 pid start deadline
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016  # $$, $0 and $@ belong to the inner shell
    (setsid sh -c 'echo $$ > "$0.new"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null &)
    deadline=$((SECONDS + 5))
    until [ -s "$pidfile.new" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            stack_err "could not start $1 (no pidfile $pidfile)"
            return 1
        fi
        sleep 0.02
    done
    pid=$(cat "$pidfile.new")
    start=$(stack_pid_starttime "$pid") || start=0
    echo "$pid $start" >"$pidfile"
    rm -f "$pidfile.new"
}

# stack_stop PIDFILE NAME: stops the process recorded in PIDFILE if it is still the
# recorded one (SIGTERM, then SIGKILL after 5 s), then removes PIDFILE. Succeeds when
# nothing runs.
stack_stop() {
    local pidfile=$1 name=$2 rec pid deadline
    [ -f "$pidfile" ] || return 0
    rec=$(stack_pidfile_read "$pidfile") || rec=
    pid=${rec%% *}
    if stack_pidfile_alive "$pidfile"; then
        kill -TERM "$pid" 2>/dev/null || true
        deadline=$((SECONDS + 5))
        while stack_pidfile_alive "$pidfile"; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                stack_log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.05
        done
        stack_log "stopped $name (pid $pid)"
    fi
    rm -f "$pidfile"
}

# Path of the vpcd driver pcscd loads (Debian: /usr/lib/pcsc/drivers/serial/libifdvpcd.so).
stack_vpcd_lib() {
    local f lib
    for f in /etc/reader.conf.d/*; do
        [ -f "$f" ] || continue
        lib=$(awk '$1 == "LIBPATH" && $2 ~ /ifdvpcd/ { print $2; exit }' "$f")
        if [ -n "$lib" ] && [ -e "$lib" ]; then
            echo "$lib"
            return 0
        fi
    done
    for lib in /usr/lib/pcsc/drivers/serial/libifdvpcd.so /usr/lib/*/pcsc/drivers/serial/libifdvpcd.so; do
        if [ -e "$lib" ]; then
            echo "$lib"
            return 0
        fi
    done
    stack_err "vpcd driver not found: install vsmartcard-vpcd"
}

# stack_write_reader_conf DIR SLOTS: a reader.conf.d for pcscd -c with ceil(SLOTS/2) vpcd
# readers. vpcd keeps its connections in per-library globals indexed by slot, so a second
# reader on the same library file would share them: each extra reader loads its own copy
# of the driver (a distinct file, so the dynamic loader maps it separately). Reader k
# listens on ports 35963+2k and 35963+2k+1, so slot i is still port 35963+i.
stack_write_reader_conf() {
    local dir=$1 slots=$2 lib pairs k port name libk
    lib=$(stack_vpcd_lib) || return 1
    pairs=$(((slots + 1) / 2))
    rm -rf "$dir"
    mkdir -p "$dir/reader.conf.d" "$dir/drivers" || return 1
    for ((k = 0; k < pairs; k++)); do
        port=$((VPCD_BASE_PORT + 2 * k))
        if [ "$k" -eq 0 ]; then
            name="Virtual PCD"
            libk=$lib
        else
            name="Virtual PCD $k"
            libk="$dir/drivers/libifdvpcd-$k.so"
            cp "$(readlink -f "$lib")" "$libk" || return 1
        fi
        printf 'FRIENDLYNAME "%s"\nDEVICENAME   /dev/null:%d\nLIBPATH      %s\nCHANNELID    %d\n' \
            "$name" "$port" "$libk" "$port" >"$dir/reader.conf.d/vpcd-$k" || return 1
    done
}
