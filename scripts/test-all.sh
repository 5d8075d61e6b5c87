#!/usr/bin/env bash
# Runs every test of the workspace on a fresh machine: installs what the
# real-server tests need (MariaDB 10.11 from Debian's packages), then the
# format, engine, simulator and real-server suites.
set -euo pipefail
cd "$(dirname "$0")/.."

# The simulator sweep: a 1-in-1,000 bug needs 1,000 seeds to show. Every
# scenario of both flavors over INNOHOT_SWEEP_SEEDS seeds (default 1000) on a
# release build; any wrong verdict, or a scenario none of whose runs reached
# its aim (a lap, a torn read, a fault, a kill, DDL), fails the run. It runs in
# the background from the start, beside the package installs, the image build
# and the real-server tests, which leave the CPU idle much of the time; its
# report is printed, and its verdict counted, at the end. On a tmpfs when one
# with room is there: the simulated servers are real files, and syncing them to
# a disk costs a third of the sweep's time without testing anything more.
seeds="${INNOHOT_SWEEP_SEEDS:-1000}"
sweep_log="$(mktemp)"
sweep_tmp="${TMPDIR:-/tmp}"
if [ -d /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR==2 {print $4}')" -gt 4194304 ]; then
    sweep_tmp=/dev/shm
fi
echo "test-all: simulator sweep, seeds 0..$seeds, every scenario, both flavors (release build, in the background, TMPDIR=$sweep_tmp)"
(
    if [ "$seeds" = 0 ]; then
        echo "test-all: INNOHOT_SWEEP_SEEDS=0: the simulator sweep is skipped"
        exit 0
    fi
    cargo build --release --bin innohot --quiet &&
        TMPDIR="$sweep_tmp" target/release/innohot sim --seeds "0..$seeds" --scenario all --flavor all --require-reached
) >"$sweep_log" 2>&1 &
sweep_pid=$!
trap 'kill "$sweep_pid" 2>/dev/null || true; rm -f "$sweep_log"' EXIT
# The debug-profile sweep test covers a few seeds of the same matrix for a bare
# `cargo test`; here the release sweep is its superset.
export INNOHOT_RELEASE_SWEEP_SEEDS="$seeds"

if [ "${INNOHOT_SKIP_REAL_SERVER:-0}" != "1" ]; then
    scripts/install-test-deps.sh
else
    echo "test-all: INNOHOT_SKIP_REAL_SERVER=1: real-server tests will print why they skip"
fi

# MySQL 5.7 and XtraBackup 2.4 (not in Debian): tarballs beside the
# repository, in ../shared/mysql57 and ../shared/xtrabackup24, are handed to
# the 5.7 tests, which must then run (INNOHOT_REQUIRE_MYSQL57=1). Variables
# already set by the caller win. Without them those tests print why they skip.
shared="$(cd .. && pwd)/shared"
first_tarball() { find "$1" -maxdepth 1 -name '*.tar.xz' 2>/dev/null | LC_ALL=C sort | head -n 1 || true; }
if [ -z "${INNOHOT_MYSQL57_TARBALL:-}${INNOHOT_MYSQL57_BASEDIR:-}" ]; then
    t=$(first_tarball "$shared/mysql57")
    [ -n "$t" ] && export INNOHOT_MYSQL57_TARBALL="$t"
fi
if [ -z "${INNOHOT_XTRABACKUP24_TARBALL:-}${INNOHOT_XTRABACKUP24_BASEDIR:-}" ]; then
    t=$(first_tarball "$shared/xtrabackup24")
    [ -n "$t" ] && export INNOHOT_XTRABACKUP24_TARBALL="$t"
fi
if [ -n "${INNOHOT_MYSQL57_TARBALL:-}${INNOHOT_MYSQL57_BASEDIR:-}" ] \
    && [ -n "${INNOHOT_XTRABACKUP24_TARBALL:-}${INNOHOT_XTRABACKUP24_BASEDIR:-}" ]; then
    export INNOHOT_REQUIRE_MYSQL57="${INNOHOT_REQUIRE_MYSQL57:-1}"
    echo "test-all: MySQL 5.7 tests run: ${INNOHOT_MYSQL57_TARBALL:-$INNOHOT_MYSQL57_BASEDIR} with ${INNOHOT_XTRABACKUP24_TARBALL:-$INNOHOT_XTRABACKUP24_BASEDIR}"
else
    echo "test-all: no MySQL 5.7 tarball in $shared/mysql57 and XtraBackup 2.4 tarball in $shared/xtrabackup24 (nor INNOHOT_MYSQL57_TARBALL/_BASEDIR and INNOHOT_XTRABACKUP24_TARBALL/_BASEDIR): the MySQL 5.7 tests will print 'skipped' and return"
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

echo "test-all: waiting for the simulator sweep (seeds 0..$seeds)"
sweep_status=0
wait "$sweep_pid" || sweep_status=$?
cat "$sweep_log"
if [ "$sweep_status" -ne 0 ]; then
    echo "test-all: the simulator sweep failed (exit $sweep_status): see above" >&2
    exit 1
fi
