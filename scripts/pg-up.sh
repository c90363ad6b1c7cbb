#!/usr/bin/env bash
# scripts/pg-up.sh: a PostgreSQL server of our own for the tests and the demo (issue 12):
# Debian's PostgreSQL binaries (package postgresql, scripts/install-deps.sh), a new
# cluster in a temporary directory, listening on loopback only (127.0.0.1, a free port)
# with password (SCRAM) authentication, fsync on, and TLS offered (a throw-away CA and
# a server certificate for 127.0.0.1 and localhost, made with openssl), started as a
# process we own and stopped by its PID (scripts/pg-down.sh). Never touches a system
# cluster.
#
#   scripts/pg-up.sh            starts it; prints the file of its settings
#
# Writes $STACK_DIR/pg.env (mode 0600), for `.` in a shell:
#   VEUICC_PG_URL   postgres://veuicc@127.0.0.1:PORT/  (append a database name)
#   PGPASSWORD      the generated password (sm-cli and psql read it; it is never put in a
#                   URL, so it never shows in `ps` or in a log)
#   VEUICC_PG_CA    the CA certificate of the server's TLS certificate (PEM), for
#                   PGSSLROOTCERT with sslmode=require
#   VEUICC_PG_PID   the server's PID; VEUICC_PG_DIR its data directory
# and creates the databases `sm_test` (the store tests) and `sm` (everything else).
# As root, the server runs as the `postgres` user (PostgreSQL refuses root).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
mkdir -p "$STACK_DIR"
env_file=$STACK_DIR/pg.env
if [ -f "$env_file" ]; then
    # shellcheck source=/dev/null
    . "$env_file"
    if stack_pidfile_alive "$VEUICC_PG_DIR/server.pid"; then
        stack_log "PostgreSQL already up (pid $VEUICC_PG_PID, $env_file)"
        echo "$env_file"
        exit 0
    fi
fi

bin=
for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/postgres" ] && bin=$d # the glob sorts: the newest version wins
done
[ -n "$bin" ] || stack_err "no PostgreSQL server (/usr/lib/postgresql/*/bin/postgres); scripts/install-deps.sh installs it" || exit 1

as=()
owner=$(id -un)
if [ "$(id -u)" = 0 ]; then
    owner=postgres
    as=(setpriv --reuid postgres --regid postgres --init-groups --)
fi
dir=$(mktemp -d /tmp/veuicc-pg.XXXXXX)
chmod 700 "$dir"
[ "$owner" = "$(id -un)" ] || chown "$owner" "$dir"
password=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
umask 077
printf '%s\n' "$password" >"$dir/pwfile"
[ "$owner" = "$(id -un)" ] || chown "$owner" "$dir/pwfile"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"${as[@]}" "$bin/initdb" -D "$dir/data" -U veuicc --auth=scram-sha-256 --pwfile="$dir/pwfile" \
    --locale=C.UTF-8 --encoding=UTF8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; stack_err "initdb failed"; exit 1; }
rm -f "$dir/pwfile"
# TLS: a CA of this run only, and the server's certificate (P-256, 2 days).
tls=$dir/tls
mkdir -p "$tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj "/CN=veuicc test PostgreSQL CA" -keyout "$tls/ca.key" -out "$tls/ca.crt" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
    -CAcreateserial -days 2 -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
rm -f "$tls/ca.key" "$tls/server.csr" "$tls/ext" "$tls/ca.srl"
chmod 644 "$tls/ca.crt"
[ "$owner" = "$(id -un)" ] || chown -R "$owner" "$tls"
stack_spawn "$dir/server.pid" "$dir/server.log" "${as[@]}" "$bin/postgres" -D "$dir/data" \
    -k "$dir" -p "$port" -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=200 \
    -c ssl=on -c ssl_cert_file="$tls/server.crt" -c ssl_key_file="$tls/server.key"
pid=$(stack_pidfile_read "$dir/server.pid")
pid=${pid%% *}
export PGPASSWORD=$password
for _ in $(seq 200); do
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" && break
    stack_pidfile_alive "$dir/server.pid" || break
    sleep 0.05
done
"$bin/pg_isready" -q -h 127.0.0.1 -p "$port" ||
    { cat "$dir/server.log" >&2; stack_err "PostgreSQL did not start"; exit 1; }
for db in sm_test sm; do
    psql -q -h 127.0.0.1 -p "$port" -U veuicc -d postgres -c "CREATE DATABASE $db" >/dev/null
done
{
    echo "VEUICC_PG_URL=postgres://veuicc@127.0.0.1:$port/"
    echo "PGPASSWORD=$password"
    echo "VEUICC_PG_CA=$tls/ca.crt"
    echo "VEUICC_PG_PID=$pid"
    echo "VEUICC_PG_DIR=$dir"
    echo "export VEUICC_PG_URL PGPASSWORD VEUICC_PG_CA VEUICC_PG_PID VEUICC_PG_DIR"
} >"$env_file"
stack_log "PostgreSQL $(basename "$(dirname "$bin")") up on 127.0.0.1:$port (pid $pid, data $dir)"
echo "$env_file"
