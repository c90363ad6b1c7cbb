#!/usr/bin/env bash
# scripts/pg-down.sh: stops the PostgreSQL server of scripts/pg-up.sh by its recorded PID
# (SIGINT: PostgreSQL's fast shutdown, which does not wait for clients; SIGKILL after
# 10 s) and removes its temporary data directory. Nothing up: does nothing, succeeds.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
env_file=$STACK_DIR/pg.env
[ -f "$env_file" ] || exit 0
# shellcheck source=/dev/null
. "$env_file"
pidfile=$VEUICC_PG_DIR/server.pid
if stack_pidfile_alive "$pidfile"; then
    kill -INT "$VEUICC_PG_PID" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while stack_pidfile_alive "$pidfile"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            stack_log "PostgreSQL (pid $VEUICC_PG_PID) ignored SIGINT; sending SIGKILL"
            kill -KILL "$VEUICC_PG_PID" 2>/dev/null || true
            break
        fi
        sleep 0.05
    done
    stack_log "stopped PostgreSQL (pid $VEUICC_PG_PID)"
fi
case $VEUICC_PG_DIR in
/tmp/veuicc-pg.*) rm -rf "$VEUICC_PG_DIR" ;;
esac
rm -f "$env_file"
