#!/usr/bin/env bash
# innohot vs mariabackup on the same MariaDB server, rounds alternating:
# wall time of each backup, innohot's lock time, the median ratio, then a
# restore of innohot's last backup (mariabackup --prepare, start, CHECKSUM
# TABLE against the source). Needs scripts/install-test-deps.sh done, root.
#
#   scripts/compare-mariabackup.sh [ROWS_PER_TABLE=1000000] [ROUNDS=5]
#
# 4 tables x 1,000,000 rows of ~200 bytes make a ~1.4 GB datadir.
set -euo pipefail
ROWS=${1:-1000000}
ROUNDS=${2:-5}
cd "$(dirname "$0")/.."
cargo build --release --bin innohot >/dev/null
INNOHOT=$PWD/target/release/innohot
W=$(mktemp -d /tmp/innohot-compare-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; mariadb -S $W/r.sock -uroot -e shutdown 2>/dev/null || true; sleep 2; rm -rf "$W"' EXIT
start() { # datadir socket [extra...]
    local d=$1 s=$2; shift 2
    mariadbd --no-defaults --datadir="$d" --socket="$s" --skip-networking --user=root \
        --innodb-buffer-pool-size=1G --log-error="$d.err" --pid-file="$d.pid" "$@" &
    for _ in $(seq 1 150); do mariadb -S "$s" -uroot -e 'select 1' >/dev/null 2>&1 && return; sleep 0.2; done
    echo "server on $d did not start: $(tail -5 "$d.err")" >&2; exit 1
}
mariadb-install-db --no-defaults --datadir="$W/data" --auth-root-authentication-method=normal --skip-test-db --user=root >/dev/null
start "$W/data" "$W/s.sock" --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
mariadb -S "$W/s.sock" -uroot -e 'create database sb'
for t in 1 2 3 4; do
    mariadb -S "$W/s.sock" -uroot sb -e "create table t$t (id int primary key, k int, c char(120), pad char(60), key(k)) engine=innodb;
        insert into t$t select seq, seq % 1000, repeat('c',120), repeat('p',60) from seq_1_to_$ROWS;"
done
echo "datadir: $(du -sh "$W/data" | cut -f1), $ROUNDS rounds, alternating"
now() { date +%s.%N; }
ours=(); theirs=()
for r in $(seq 1 "$ROUNDS"); do
    rm -rf "$W/ih" "$W/mb"
    s=$(now); "$INNOHOT" backup --target-dir "$W/ih" --socket "$W/s.sock" --user root 2>"$W/ih.log"; e=$(now)
    ours+=("$(echo "$e - $s" | bc)")
    s=$(now); mariabackup --backup --target-dir="$W/mb" --socket="$W/s.sock" --user=root >"$W/mb.log" 2>&1; e=$(now)
    theirs+=("$(echo "$e - $s" | bc)")
    echo "round $r: innohot ${ours[-1]} s ($(grep -o 'lock (commits blocked) [0-9.]* s, DDL blocked [0-9.]* s' "$W/ih.log")), mariabackup ${theirs[-1]} s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mo=$(median "${ours[@]}"); mt=$(median "${theirs[@]}")
echo "median: innohot $mo s, mariabackup $mt s, ratio innohot/mariabackup $(echo "scale=2; $mo / $mt" | bc)"
echo "backup bytes: innohot $(du -sb "$W/ih" | cut -f1), mariabackup $(du -sb "$W/mb" | cut -f1)"
mariadb -S "$W/s.sock" -uroot -e 'checksum table sb.t1, sb.t2, sb.t3, sb.t4' >"$W/src.sum"
mariabackup --prepare --target-dir="$W/ih" >"$W/prep.log" 2>&1
start "$W/ih" "$W/r.sock"
mariadb -S "$W/r.sock" -uroot -e 'checksum table sb.t1, sb.t2, sb.t3, sb.t4' >"$W/rst.sum"
if diff -q "$W/src.sum" "$W/rst.sum" >/dev/null; then
    echo "restore: innohot's backup, prepared by mariabackup, has the source's checksums"
else
    echo "restore: CHECKSUMS DIFFER"; diff "$W/src.sum" "$W/rst.sum"; exit 1
fi
