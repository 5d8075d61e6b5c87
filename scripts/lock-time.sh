#!/usr/bin/env bash
# How long innohot blocks a MariaDB server's commits (the lock) and its DDL,
# with few and with many empty InnoDB tables: one throwaway server, ROUNDS
# backups (release build) at each table count, the median of each time from
# innohot's --json summary (lock_seconds, ddl_blocked_seconds), and the ratio
# many/few of the lock medians. Needs scripts/install-test-deps.sh done, root.
#
#   scripts/lock-time.sh [FEW=20] [MANY=2000] [ROUNDS=5]
set -euo pipefail
FEW=${1:-20}
MANY=${2:-2000}
ROUNDS=${3:-5}
cd "$(dirname "$0")/.."
cargo build --release --bin innohot >/dev/null
INNOHOT=$PWD/target/release/innohot
W=$(mktemp -d /tmp/innohot-locktime-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; sleep 2; rm -rf "$W"' EXIT
# shellcheck source=scripts/compare-lib.sh
. scripts/compare-lib.sh
new_datadir "$W/data"
start "$W/data" "$W/s.sock" --log-bin=mysql-bin --server-id=1 --innodb-buffer-pool-size=256M --table-open-cache=4000
mariadb -S "$W/s.sock" -uroot -e 'create database lt'
# Creates tables lt.tFROM .. lt.t(TO-1), empty, one file each.
make_tables() {
    seq "$1" "$(($2 - 1))" | awk '{print "create table t" $1 " (id int primary key, v varchar(20)) engine=innodb;"}' |
        mariadb -S "$W/s.sock" -uroot lt
}
measure() { # tables: prints "lock_median ddl_median"
    local locks=() ddls=() r out
    for r in $(seq 1 "$ROUNDS"); do
        rm -rf "$W/b"
        out=$("$INNOHOT" backup --target-dir "$W/b" --socket "$W/s.sock" --user root --json 2>"$W/ih.log")
        locks+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["lock_seconds"])' "$out")")
        ddls+=("$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["ddl_blocked_seconds"])' "$out")")
        echo "  $1 tables, round $r: commits blocked ${locks[-1]} s, DDL blocked ${ddls[-1]} s" >&2
    done
    echo "$(median "${locks[@]}") $(median "${ddls[@]}")"
}
make_tables 0 "$FEW"
read -r few_lock few_ddl < <(measure "$FEW")
make_tables "$FEW" "$MANY"
read -r many_lock many_ddl < <(measure "$MANY")
echo "median of $ROUNDS, MariaDB $(mariadbd --version | awk '{print $3}'), release build:"
echo "  $FEW tables:  lock (commits blocked) $few_lock s, DDL blocked $few_ddl s"
echo "  $MANY tables: lock (commits blocked) $many_lock s, DDL blocked $many_ddl s"
echo "  lock ratio $MANY/$FEW tables: $(python3 -c "print(round($many_lock / $few_lock, 2))")"
