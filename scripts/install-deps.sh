#!/usr/bin/env bash
# scripts/install-deps.sh: installs the Debian packages the stack and the tests need; the
# one list of them (scripts/test.sh, scripts/demo.sh and .ci/run all call this script):
# pcscd (pcsc-lite) and the vpcd driver (vsmartcard-vpcd): the stack; libpcsclite-dev and
# pkg-config: the pcsc crate; pcsc-tools (scriptor, pcsc_scan) and opensc (opensc-tool):
# the witnesses; ca-certificates (cargo fetching from crates.io over HTTPS), procps
# (pgrep, used by scripts/stack-up.sh and bench.sh), python3 (scripts/check-imports.py;
# 3.11 or newer, Debian 12's) and postgresql (the server binaries and psql: scripts/pg-up.sh
# starts a cluster of its own for the PostgreSQL store tests; the package's own system
# cluster is not created, see below) and openssl (the throw-away TLS certificates of
# that cluster).
#
#   scripts/install-deps.sh            installs what is missing (apt-get update first,
#                                      only then); nothing to do: no root needed, no network
#   scripts/install-deps.sh --update   always runs apt-get update first, then installs what
#                                      is missing (CI: the package lists of a fresh machine
#                                      may be stale or absent)
#   scripts/install-deps.sh --list     prints the package names, one a line
#
# Needs root (or sudo) only when it runs apt-get. Safe to run again.
set -euo pipefail
pkgs=(pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc pkg-config ca-certificates procps python3 postgresql openssl)

update=0
case "${1:-}" in
"") ;;
--update) update=1 ;;
--list)
    printf '%s\n' "${pkgs[@]}"
    exit 0
    ;;
-h | --help)
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0"
    exit 0
    ;;
*)
    echo "install-deps: unknown option $1 (try --help)" >&2
    exit 2
    ;;
esac

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ "$update" = 0 ]; then
    exit 0
fi

sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-deps: need root to run apt-get (apt-get install ${missing[*]:-})" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: apt-get update" >&2
"${sudo[@]}" apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
    # Installing postgresql would create and start a system cluster on port 5432; the
    # tests run their own (scripts/pg-up.sh), so tell postgresql-common not to, unless
    # the machine's administrator has configured it already.
    if [[ " ${missing[*]} " == *" postgresql "* ]] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        "${sudo[@]}" mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    echo "install-deps: installing ${missing[*]}" >&2
    # confdef/confold: keep that file without asking, should the package ship one.
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || {
    echo "install-deps: cargo not found: install a Rust toolchain >= 1.88 (rustup)" >&2
    exit 1
}
