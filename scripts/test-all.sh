#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the
# real-server tests need (MariaDB 10.11 from Debian's packages), then the
# format, engine, simulator and real-server suites.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "${INNOHOT_SKIP_REAL_SERVER:-0}" != "1" ]; then
    scripts/install-test-deps.sh
else
    echo "test-all: INNOHOT_SKIP_REAL_SERVER=1: real-server tests will print why they skip"
fi

# Snapshots are checked, never written, by this script.
export INSTA_UPDATE=no
cargo test --workspace --all-targets "$@"
