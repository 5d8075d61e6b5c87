#!/usr/bin/env bash
# Install what the real-server tests (package innohot-testbeds) need:
# MariaDB 10.11 from Debian 12: mariadb-server (mariadbd,
# mariadb-install-db), mariadb-backup (mariabackup), mariadb-client (mariadb),
# and the page compression providers (lz4, lzo, lzma, bzip2, snappy) the
# PAGE_COMPRESSED tests load; and the runtime libraries of the MySQL 5.7
# and XtraBackup 2.4 tarballs the 5.7 tests unpack (libaio1 libssl3
# libgcrypt20).
#
# Idempotent: does nothing when the binaries are already there. The tests
# start their own private servers, so a system `mariadb` service started by
# the package's postinst is stopped again if this script caused it to start.
#
# Not root: prints the packages to install and exits 1.
set -euo pipefail

PROVIDERS=(bzip2 lz4 lzma lzo snappy)
PACKAGES=(mariadb-server mariadb-backup mariadb-client)
for p in "${PROVIDERS[@]}"; do
    PACKAGES+=("mariadb-plugin-provider-$p")
done
PLUGIN_DIR=/usr/lib/mysql/plugin
BINARIES=(mariadbd mariabackup mariadb mariadb-install-db)
# Shared libraries of the MySQL 5.7 / XtraBackup 2.4 tarballs.
LIB_PACKAGES=(libaio1 libssl3 libgcrypt20)
PACKAGES+=("${LIB_PACKAGES[@]}")

lib_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

have() {
    command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/usr/local/sbin/$1" ]
}

missing=()
for b in "${BINARIES[@]}"; do
    have "$b" || missing+=("$b")
done
for p in "${PROVIDERS[@]}"; do
    [ -f "$PLUGIN_DIR/provider_$p.so" ] || missing+=("provider_$p.so")
done
for p in "${LIB_PACKAGES[@]}"; do
    lib_installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-test-deps: mariadbd, mariabackup, mariadb, mariadb-install-db, the compression providers and libaio1 libssl3 libgcrypt20 already installed; nothing to do"
    exit 0
fi

echo "install-test-deps: missing: ${missing[*]}"

if [ "$(id -u)" -ne 0 ]; then
    echo "install-test-deps: not root; as root, run:" >&2
    echo "  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y ${PACKAGES[*]}" >&2
    exit 1
fi

server_running() {
    # A mariadbd not started by this script's caller: the system service.
    pgrep -x mariadbd >/dev/null 2>&1 || pgrep -x mysqld >/dev/null 2>&1
}

was_running=0
if server_running; then
    was_running=1
fi

echo "install-test-deps: apt-get update"
apt-get update
echo "install-test-deps: apt-get install -y ${PACKAGES[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y "${PACKAGES[@]}"

if [ "$was_running" -eq 0 ] && server_running; then
    echo "install-test-deps: the package started the system mariadb service; stopping it (the tests run their own servers)"
    service mariadb stop || true
else
    echo "install-test-deps: no system mariadb service was started by the install"
fi

still=()
for b in "${BINARIES[@]}"; do
    have "$b" || still+=("$b")
done
for p in "${PROVIDERS[@]}"; do
    [ -f "$PLUGIN_DIR/provider_$p.so" ] || still+=("provider_$p.so")
done
for p in "${LIB_PACKAGES[@]}"; do
    lib_installed "$p" || still+=("$p")
done
if [ "${#still[@]}" -ne 0 ]; then
    echo "install-test-deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "install-test-deps: installed ${PACKAGES[*]}"
