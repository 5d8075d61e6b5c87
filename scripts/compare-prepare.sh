#!/usr/bin/env bash
# innohot prepare vs mariabackup --prepare on copies of the same innohot backup
# of a real MariaDB server: every file compared byte for byte, and the wall time
# of each prepare (median of ROUNDS). Needs MariaDB 10.11 (scripts/install-test-deps.sh).
#
#   scripts/compare-prepare.sh [ROWS=20000] [ROUNDS=5] [LOAD=idle|writes] [REDO_MB=64]
#
# LOAD=writes: whole-table updates worth about REDO_MB of redo run before the
# backup (the 256 MB log, adaptive flushing off and no dirty-page pre-flushing keep
# the checkpoint behind them, so the backup's copied redo starts before them), and
# a writer keeps updating rows while the backup runs.
set -euo pipefail
ROWS=${1:-20000}
ROUNDS=${2:-5}
LOAD=${3:-idle}
REDO_MB=${4:-64}
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo build --release --bin innohot >/dev/null
INNOHOT=${CARGO_TARGET_DIR:-$PWD/target}/release/innohot
W=$(mktemp -d /tmp/innohot-prepare-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; sleep 1; [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"' EXIT
mariadb-install-db --no-defaults --datadir="$W/data" --auth-root-authentication-method=normal --skip-test-db --user=root >/dev/null
mariadbd --no-defaults --datadir="$W/data" --socket="$W/s.sock" --skip-networking --user=root \
    --innodb-buffer-pool-size=256M --innodb-log-file-size=256M --log-bin=mysql-bin --server-id=1 \
    --innodb-adaptive-flushing=OFF --innodb-max-dirty-pages-pct-lwm=0 --innodb-max-dirty-pages-pct=99 \
    --log-error="$W/data.err" --pid-file="$W/data.pid" &
for _ in $(seq 1 150); do mariadb -S "$W/s.sock" -uroot -e 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
mariadb -S "$W/s.sock" -uroot -e 'create database sb'
mariadb -S "$W/s.sock" -uroot sb -e "create table t1 (id int primary key, k int, c char(120), key(k)) engine=innodb;
    insert into t1 select seq, seq % 1000, repeat('c',120) from seq_1_to_$ROWS;"
if [ "$LOAD" = idle ]; then
    mariadb -S "$W/s.sock" -uroot -e 'SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001, GLOBAL innodb_max_dirty_pages_pct=0'
    for _ in $(seq 1 100); do
        d=$(mariadb -S "$W/s.sock" -uroot -N -e "show global status like 'Innodb_buffer_pool_pages_dirty'" | cut -f2)
        [ "$d" = 0 ] && break; sleep 0.2
    done
    sleep 2
    "$INNOHOT" backup --target-dir "$W/b" --socket "$W/s.sock" --user root --quiet
else
    lsn() { mariadb -S "$W/s.sock" -uroot -N -e "show global status like 'Innodb_lsn_current'" | cut -f2; }
    start=$(lsn); i=0
    while [ $(( $(lsn) - start )) -lt $((REDO_MB * 1048576)) ]; do
        i=$((i + 1))
        mariadb -S "$W/s.sock" -uroot sb -e "update t1 set k = k + 1, c = repeat(char(97 + (id + $i) % 26), 120)"
    done
    echo "$i whole-table updates: $(( ($(lsn) - start) / 1048576 )) MB of redo before the backup"
    (for i in $(seq 1 2000); do echo "update t1 set k=k+1 where id=$((i * 7 % ROWS + 1));"; done | mariadb -S "$W/s.sock" -uroot sb) &
    writer=$!
    "$INNOHOT" backup --target-dir "$W/b" --socket "$W/s.sock" --user root --quiet
    wait "$writer" # not a bare wait: the server is a background job too
fi
now() { date +%s.%N; }
ours=(); theirs=()
for r in $(seq 1 "$ROUNDS"); do
    rm -rf "$W/ih" "$W/mb"; cp -a "$W/b" "$W/ih"; cp -a "$W/b" "$W/mb"; sync
    s=$(now)
    if ! "$INNOHOT" prepare --target-dir "$W/ih" --quiet 2>"$W/ih.log"; then
        echo "innohot prepare refused: $(cat "$W/ih.log")"; exit 1
    fi
    e=$(now); ours+=("$(echo "$e - $s" | bc)")
    s=$(now); mariabackup --defaults-file="$W/mb/backup-my.cnf" --prepare --target-dir="$W/mb" >"$W/mb.log" 2>&1; e=$(now)
    theirs+=("$(echo "$e - $s" | bc)")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
echo "backup: $(du -sh "$W/b" | cut -f1), redo $(stat -c %s "$W/b/ib_logfile0") bytes; $ROUNDS rounds"
echo "each round (s): innohot ${ours[*]}; mariabackup ${theirs[*]}"
echo "median prepare: innohot $(median "${ours[@]}") s, mariabackup $(median "${theirs[@]}") s"
diffs=0
while IFS= read -r f; do
    if [ ! -e "$W/ih/$f" ]; then echo "only mariabackup wrote $f"; continue; fi
    if ! cmp -s "$W/mb/$f" "$W/ih/$f"; then
        echo "DIFFERS: $f ($(cmp -l "$W/mb/$f" "$W/ih/$f" 2>/dev/null | wc -l) bytes)"; diffs=$((diffs + 1))
    fi
done < <(cd "$W/mb" && find . -type f | sort)
[ "$diffs" = 0 ] && echo "every file mariabackup prepared equals innohot's" || exit 1
