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

# The container tests' image (built from Debian's packages, no registry;
# skipped when built already). Without Docker those tests print why they skip.
if [ -n "${INNOHOT_TEST_IMAGE:-}" ]; then
    echo "test-all: container tests use INNOHOT_TEST_IMAGE=$INNOHOT_TEST_IMAGE (not built here)"
elif docker info >/dev/null 2>&1; then
    scripts/build-test-image.sh
else
    echo "test-all: no Docker daemon reachable (docker info failed): the container tests will print 'skipped' and return"
fi

# Snapshots are checked, never written, by this script.
export INSTA_UPDATE=no
cargo test --workspace --all-targets "$@"
