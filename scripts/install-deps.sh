#!/usr/bin/env bash
# scripts/install-deps.sh: installs the Debian packages the stack and the tests need,
# when any is missing: pcscd (pcsc-lite), libpcsclite-dev (for the pcsc crate), the vpcd
# driver (vsmartcard-vpcd), pcsc-tools (scriptor, pcsc_scan) and opensc (opensc-tool).
# Needs root (or sudo) only when something is missing. Safe to run again.
set -euo pipefail
pkgs=(pcscd libpcsclite-dev vsmartcard-vpcd pcsc-tools opensc pkg-config)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
sudo=()
if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-deps: need root to install ${missing[*]} (apt-get install ${missing[*]})" >&2
        exit 1
    }
    sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v cargo >/dev/null || {
    echo "install-deps: cargo not found: install a Rust toolchain >= 1.88 (rustup)" >&2
    exit 1
}
