#!/usr/bin/env bash
# innohot prepare vs mariabackup --prepare on copies of the same innohot backup
# of a real MariaDB server: every file compared byte for byte, and the wall time
# of each prepare (median of ROUNDS). Needs MariaDB 10.11 (scripts/install-test-deps.sh).
#
#   scripts/compare-prepare.sh [ROWS=20000] [ROUNDS=5] [LOAD=idle|writes|SHAPE|all] [REDO_MB]
#
# LOAD=writes (also SHAPE small): whole-table updates worth about REDO_MB (64) of
# redo run before the backup (a big log, adaptive flushing off and no dirty-page
# pre-flushing keep the checkpoint behind them, so the backup's copied redo starts
# before them), and a writer keeps updating rows while the backup runs.
# The other shapes load the server the same way (REDO_MB of redo before the backup,
# a writer during it) with another kind of change; ROWS applies to small only:
#   blob   rows with 100 KB - 2 MB BLOBs rewritten (off-page pages written and freed), REDO_MB 192
#   ddl    ADD INDEX ... ALGORITHM=INPLACE on a 400,000-row table, dropped and added
#          again (index pages bulk-built, freed, re-initialised), REDO_MB 256
#   zip4k  --innodb-page-size=4k, a ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=2 table updated, REDO_MB 64
#   churn  wide rows inserted and the older ones deleted (pages freed and initialised again), REDO_MB 64
# LOAD=all runs every shape and ends with one line per shape:
#   shape NAME: innohot X s, mariabackup Y s, ratio R
# and exits 1 if any shape's prepared files differ.
set -euo pipefail
ROWS=${1:-20000}
ROUNDS=${2:-5}
LOAD=${3:-idle}
REDO_MB=${4:-}
SHAPES="small blob ddl zip4k churn"
cd "$(dirname "$0")/.."
# shellcheck source=scripts/compare-lib.sh
. scripts/compare-lib.sh
case "$LOAD" in
idle | writes | small | blob | ddl | zip4k | churn | all) ;;
*) echo "LOAD must be idle, writes, all or a shape ($SHAPES), not '$LOAD'" >&2; exit 2 ;;
esac
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo build --release --bin innohot >/dev/null
INNOHOT=${CARGO_TARGET_DIR:-$PWD/target}/release/innohot

if [ "$LOAD" = all ]; then
    summary=(); failed=0
    for s in $SHAPES; do
        echo "=== shape $s"
        out=$("$0" "$ROWS" "$ROUNDS" "$s" ${REDO_MB:+"$REDO_MB"} 2>&1) || failed=1
        echo "$out"
        line=$(echo "$out" | grep "^shape $s:" || echo "shape $s: failed")
        summary+=("$line")
    done
    echo "=== summary (medians of $ROUNDS rounds)"
    printf '%s\n' "${summary[@]}"
    exit "$failed"
fi

[ "$LOAD" = writes ] && LOAD=small
case "$LOAD" in
idle | small) MB=${REDO_MB:-64} ;;
blob) MB=${REDO_MB:-192} ;;
ddl) MB=${REDO_MB:-256} ;;
*) MB=${REDO_MB:-64} ;;
esac
EXTRA=()
[ "$LOAD" = zip4k ] && EXTRA=(--innodb-page-size=4k)

W=$(mktemp -d /tmp/innohot-prepare-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; sleep 1; [ -n "${KEEP:-}" ] && echo "kept $W" || rm -rf "$W"' EXIT
new_datadir "$W/data" "${EXTRA[@]}"
start "$W/data" "$W/s.sock" "${EXTRA[@]}" --innodb-log-file-size=1G --log-bin=mysql-bin --server-id=1 \
    --max-allowed-packet=64M \
    --innodb-adaptive-flushing=OFF --innodb-max-dirty-pages-pct-lwm=0 --innodb-max-dirty-pages-pct=99
sql() { mariadb -S "$W/s.sock" -uroot --max-allowed-packet=64M sb "$@"; }
mariadb -S "$W/s.sock" -uroot -e 'create database sb'
lsn() { mariadb -S "$W/s.sock" -uroot -N -e "show global status like 'Innodb_lsn_current'" | cut -f2; }

# The tables of a shape, before the redo the backup copies starts to matter.
setup() {
    case "$LOAD" in
    idle | small)
        sql -e "create table t1 (id int primary key, k int, c char(120), key(k)) engine=innodb;
            insert into t1 select seq, seq % 1000, repeat('c',120) from seq_1_to_$ROWS;" ;;
    blob)
        # 48 rows of 100 KB to 2 MB (md5 strings: 32 bytes each).
        sql -e "create table b (id int primary key, n int, v longblob) engine=innodb;
            insert into b select seq, 0, repeat(md5(seq), 3200 + (seq * 7919) % 62000) from seq_1_to_48;" ;;
    ddl)
        sql -e "create table d (id int primary key, a int, b int, c varchar(100)) engine=innodb;
            insert into d select seq, seq * 7 % 100003, seq % 977, concat(md5(seq), md5(seq + 1))
            from seq_1_to_400000;" ;;
    zip4k)
        sql -e "create table z (id int primary key, k int, c varchar(200), key(k)) engine=innodb
                row_format=compressed key_block_size=2;
            insert into z select seq, seq % 1000, concat(md5(seq), repeat('z', 40)) from seq_1_to_20000;" ;;
    churn)
        sql -e "create table ch (id int primary key, k int, c char(255), d char(255), key(k)) engine=innodb;" ;;
    esac
}

# One unit of the load: about a few MB of redo of the shape's kind (round $1).
load_step() {
    local i=$1
    case "$LOAD" in
    idle | small) sql -e "update t1 set k = k + 1, c = repeat(char(97 + (id + $i) % 26), 120)" ;;
    blob) sql -e "update b set n = n + 1, v = repeat(md5(id + $i), length(v) / 32) where id % 4 = $i % 4" ;;
    ddl) sql -e "alter table d add index ia (a), algorithm=inplace, lock=none;
            alter table d add index ibc (b, c), algorithm=inplace, lock=none;
            alter table d drop index ia, drop index ibc, algorithm=inplace" ;;
    zip4k) sql -e "update z set k = k + 1, c = concat(md5(id + $i), repeat(char(97 + (id + $i) % 26), 40 + $i % 20))" ;;
    churn) sql -e "insert into ch select $i * 4000 + seq, (seq * 7919) % 100000, md5(seq), md5($i)
            from seq_1_to_4000; delete from ch where id < ($i - 2) * 4000" ;;
    esac
}

# Light changes while the backup runs (in the background).
during() {
    case "$LOAD" in
    idle | small) for i in $(seq 1 2000); do echo "update t1 set k=k+1 where id=$((i * 7 % ROWS + 1));"; done | sql ;;
    blob) for i in $(seq 1 8); do echo "update b set n = n + 1, v = repeat(md5(id * $i), length(v) / 32) where id = $((i * 5 % 48 + 1));"; done | sql ;;
    ddl) for i in $(seq 1 2000); do echo "update d set a = a + 1 where id = $((i * 197 % 400000 + 1));"; done | sql ;;
    zip4k) for i in $(seq 1 2000); do echo "update z set k = k + 1 where id = $((i * 7 % 20000 + 1));"; done | sql ;;
    churn) for i in $(seq 1 200); do echo "delete from ch where id = (select min(id) from ch); insert into ch values ($((i + 90000000)), $i, 'x', 'y');"; done | sql ;;
    esac
}

setup
if [ "$LOAD" = idle ]; then
    mariadb -S "$W/s.sock" -uroot -e 'SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001, GLOBAL innodb_max_dirty_pages_pct=0'
    for _ in $(seq 1 100); do
        d=$(mariadb -S "$W/s.sock" -uroot -N -e "show global status like 'Innodb_buffer_pool_pages_dirty'" | cut -f2)
        [ "$d" = 0 ] && break; sleep 0.2
    done
    sleep 2
    "$INNOHOT" backup --target-dir "$W/b" --socket "$W/s.sock" --user root --quiet
else
    start=$(lsn); i=0; t0=$(date +%s)
    while [ $(( $(lsn) - start )) -lt $((MB * 1048576)) ]; do
        i=$((i + 1))
        load_step "$i"
    done
    echo "$LOAD: $i load steps: $(( ($(lsn) - start) / 1048576 )) MB of redo before the backup ($(( $(date +%s) - t0 )) s)"
    during &
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
echo "backup: $(du -sh "$W/b" | cut -f1), redo $(stat -c %s "$W/b/ib_logfile0") bytes; $ROUNDS rounds"
echo "each round (s): innohot ${ours[*]}; mariabackup ${theirs[*]}"
m_ours=$(median "${ours[@]}"); m_theirs=$(median "${theirs[@]}")
echo "median prepare: innohot $m_ours s, mariabackup $m_theirs s"
diffs=0
while IFS= read -r f; do
    if [ ! -e "$W/ih/$f" ]; then echo "only mariabackup wrote $f"; continue; fi
    if ! cmp -s "$W/mb/$f" "$W/ih/$f"; then
        echo "DIFFERS: $f ($(cmp -l "$W/mb/$f" "$W/ih/$f" 2>/dev/null | wc -l) bytes)"; diffs=$((diffs + 1))
    fi
done < <(cd "$W/mb" && find . -type f | sort)
ratio=$(awk -v a="$m_ours" -v b="$m_theirs" 'BEGIN {printf "%.2f", a / b}')
echo "shape $LOAD: innohot $m_ours s, mariabackup $m_theirs s, ratio $ratio$([ "$diffs" = 0 ] || echo ", $diffs files DIFFER")"
[ "$diffs" = 0 ] && echo "every file mariabackup prepared equals innohot's" || exit 1
