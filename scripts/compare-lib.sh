# Shared by the comparison and timing scripts (sourced, not run): a new
# datadir and a private MariaDB server on it, the sysbench-like datadir they
# back up, the cold page cache before each timed run, and medians.
# shellcheck shell=bash

# new_datadir DATADIR [options...]: an empty server datadir (root with no
# password, no test database); options such as --innodb-page-size go to
# mariadb-install-db, and must be given to `start` too.
new_datadir() {
    local d=$1; shift
    mariadb-install-db --no-defaults --datadir="$d" --auth-root-authentication-method=normal --skip-test-db \
        --user=root "$@" >/dev/null
}

# start DATADIR SOCKET [server options...]: a server on DATADIR, waited for
# until it answers (30 s at most). Options given override the defaults here
# (the last of two wins), e.g. --innodb-buffer-pool-size.
start() {
    local d=$1 s=$2; shift 2
    mariadbd --no-defaults --datadir="$d" --socket="$s" --skip-networking --user=root \
        --innodb-buffer-pool-size=1G --log-error="$d.err" --pid-file="$d.pid" "$@" &
    for _ in $(seq 1 150); do mariadb -S "$s" -uroot -e 'select 1' >/dev/null 2>&1 && return; sleep 0.2; done
    echo "server on $d did not start: $(tail -5 "$d.err")" >&2; exit 1
}

# sb_server DIR ROWS TABLES: a new datadir DIR/data (binlog on, 256 MiB redo)
# with database sb, tables t1..tTABLES of ROWS rows of ~200 bytes each (4 x
# 1,000,000 make ~1.07 GiB of data files), served on DIR/s.sock. The server is
# restarted once filled: a clean shutdown writes a checkpoint at the end of
# the log, so every backup afterwards copies the same bytes (data files, next
# to no redo). Sets SB_TABLES to "sb.t1, sb.t2, ...".
sb_server() {
    local w=$1 rows=$2 n=$3 t pid
    mariadb-install-db --no-defaults --datadir="$w/data" --auth-root-authentication-method=normal --skip-test-db \
        --user=root >/dev/null
    start "$w/data" "$w/s.sock" --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
    mariadb -S "$w/s.sock" -uroot -e 'create database sb'
    SB_TABLES=""
    for t in $(seq 1 "$n"); do
        mariadb -S "$w/s.sock" -uroot sb -e "create table t$t (id int primary key, k int, c char(120), pad char(60), key(k)) engine=innodb;
            insert into t$t select seq, seq % 1000, repeat('c',120), repeat('p',60) from seq_1_to_$rows;"
        SB_TABLES="$SB_TABLES${SB_TABLES:+, }sb.t$t"
    done
    pid=$(cat "$w/data.pid")
    mariadb -S "$w/s.sock" -uroot -e shutdown
    while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
    start "$w/data" "$w/s.sock" --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
}

# Every timed backup starts from a cold page cache (needs root).
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# The median of the arguments, or without any of the numbers on stdin, one a line.
median() {
    if [ $# -gt 0 ]; then printf '%s\n' "$@"; else cat; fi |
        sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'
}
