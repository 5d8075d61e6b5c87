#!/usr/bin/env bash
# Make the real MySQL 5.7 ROW_FORMAT=COMPRESSED tablespaces in
# engine/tests/fixtures/mysql57-zip/.
#
# Unpacks the MySQL 5.7 server tarball given as the first argument into a
# temporary directory, initialises a throwaway datadir (--initialize-insecure,
# run as root with --user=root, private socket and port), creates one
# compressed table per KEY_BLOCK_SIZE (1, 2, 4, 8, 16), each with a clustered
# index and two secondary indexes, NULLable, VARCHAR and CHAR columns and a
# BLOB column whose long values are stored externally, fills it with enough
# rows for a tree with node-pointer pages, then deletes and updates rows so
# that pages carry modification logs, delete-marked and purged (free-list)
# records, and an R-tree table (SPATIAL index, KEY_BLOCK_SIZE=4). A second
# server with --innodb-page-size=8k makes one more table.
# Each server is shut down slowly (innodb_fast_shutdown=0: purge done, every
# page written) and the .ibd files, without their trailing all-zero pages, are
# copied to OUTDIR, with their CHECKSUM
# TABLE ... EXTENDED and row count in OUTDIR/expected.txt.
#
# Usage (as root):
#   scripts/make-mysql57-zip-fixture.sh MYSQL57_TARBALL [OUTDIR]
# OUTDIR defaults to engine/tests/fixtures/mysql57-zip next to this script.
# Set KEEP_WORK=1 to keep the temporary directory for a look afterwards.
set -euo pipefail

tarball="${1:?usage: make-mysql57-zip-fixture.sh MYSQL57_TARBALL [OUTDIR]}"
here="$(cd "$(dirname "$0")" && pwd)"
out="${2:-$here/../engine/tests/fixtures/mysql57-zip}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
client="$(command -v mariadb || command -v mysql || true)"
[ -n "$client" ] || { echo "make-mysql57-zip-fixture: no mariadb/mysql client" >&2; exit 1; }

work="$(mktemp -d /tmp/innohot-zip-fixture.XXXXXX)"
pids=()
cleanup() {
    local p
    for p in "${pids[@]+"${pids[@]}"}"; do kill -9 "$p" 2>/dev/null || true; done
    if [ "${KEEP_WORK:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

tar -xf "$tarball" -C "$work"
base="$(dirname "$(dirname "$(ls "$work"/*/bin/mysqld)")")"
echo "server: $("$base/bin/mysqld" --no-defaults --version)"

# start NAME PORT OPTION...: initialise a datadir with OPTIONs, start a server.
start() {
    local name="$1" port="$2"
    shift 2
    local d="$work/$name"
    mkdir -p "$d"
    "$base/bin/mysqld" --no-defaults --initialize-insecure --basedir="$base" --datadir="$d/data" \
        --user=root "$@" >"$d/init.log" 2>&1 || { tail -n 30 "$d/init.log" >&2; exit 1; }
    "$base/bin/mysqld" --no-defaults --basedir="$base" --datadir="$d/data" --user=root \
        --socket="$d/sock" --port="$port" --skip-networking=0 --innodb-file-per-table=1 \
        --log-error="$d/error.log" --pid-file="$d/pid" "$@" >"$d/out.log" 2>&1 &
    pids+=($!)
    echo $! >"$d/mysqld.pid"
    local i
    for i in $(seq 1 600); do
        if [ -S "$d/sock" ] && sql "$name" "SELECT 1" >/dev/null 2>&1; then return 0; fi
        kill -0 "$(cat "$d/mysqld.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "server $name did not start" >&2
    tail -n 30 "$d/error.log" >&2
    exit 1
}

sql() {
    "$client" --no-defaults --socket="$work/$1/sock" --user=root -N -B -e "$2"
}

stop() {
    local name="$1" pid
    pid="$(cat "$work/$name/mysqld.pid")"
    sql "$name" "SET GLOBAL innodb_fast_shutdown=0; SHUTDOWN"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
}

# fill NAME TABLE KBS ROWS: create TABLE and load ROWS rows, then change them.
fill() {
    local name="$1" t="$2" kbs="$3" rows="$4" i
    local blob="CONCAT(RANDOM_BYTES(1024)$(printf ', RANDOM_BYTES(1024)%.0s' 1 2 3 4 5 6 7 8))"
    sql "$name" "CREATE DATABASE IF NOT EXISTS zip"
    sql "$name" "CREATE TABLE zip.$t (
        id INT NOT NULL PRIMARY KEY,
        a INT NULL,
        c CHAR(6) NOT NULL,
        v VARCHAR(300) NULL,
        b BLOB NULL,
        KEY ka (a),
        KEY kv (v(24), c)
    ) ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=$kbs"
    {
        for i in $(seq 1 "$rows"); do
            # Poorly compressible VARCHARs (md5 text); every 9th a NULL a,
            # every 97th a BLOB stored externally (9 KiB of random bytes).
            echo "INSERT INTO zip.$t VALUES ($i, IF($i % 9 = 0, NULL, $i * 7 % 1000), LPAD($i, 6, 'x'),
                CONCAT(MD5($i), REPEAT(MD5($i * 3), $i % 4)),
                IF($i % 97 = 0, $blob, IF($i % 5 = 0, NULL, MD5($i * 5))));"
        done
        echo "DELETE FROM zip.$t WHERE id % 7 = 3;"
        echo "UPDATE zip.$t SET v = CONCAT(v, 'updated') WHERE id % 11 = 2;"
        echo "UPDATE zip.$t SET a = NULL, v = LEFT(v, 10) WHERE id % 13 = 4;"
        echo "INSERT INTO zip.$t SELECT id + 100000, a, c, v, NULL FROM zip.$t WHERE id % 17 = 1;"
    } | "$client" --no-defaults --socket="$work/$name/sock" --user=root
    # Delete-marked records stay until purge; this transaction's marks are
    # committed and then purged by the slow shutdown, its free-list records
    # then come from both.
    sql "$name" "DELETE FROM zip.$t WHERE id % 23 = 5"
    echo "$t: $(sql "$name" "CHECKSUM TABLE zip.$t EXTENDED" | cut -f2) rows=$(sql "$name" "SELECT COUNT(*) FROM zip.$t")" \
        >>"$work/expected.txt"
}

# spatial NAME ROWS: zip.rtree4, an R-tree (SPATIAL index) with KEY_BLOCK_SIZE=4.
spatial() {
    local name="$1" rows="$2" i
    sql "$name" "CREATE TABLE zip.rtree4 (id INT NOT NULL PRIMARY KEY, g GEOMETRY NOT NULL, SPATIAL KEY sg (g))
        ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4"
    {
        for i in $(seq 1 "$rows"); do
            echo "INSERT INTO zip.rtree4 VALUES ($i, ST_GeomFromText('POINT($((i % 97)) $((i / 97)))'));"
        done
        echo "DELETE FROM zip.rtree4 WHERE id % 7 = 2;"
        echo "UPDATE zip.rtree4 SET g = ST_GeomFromText(CONCAT('POINT(', id % 13, ' 5)')) WHERE id % 11 = 3;"
    } | "$client" --no-defaults --socket="$work/$name/sock" --user=root
    echo "rtree4: $(sql "$name" "CHECKSUM TABLE zip.rtree4 EXTENDED" | cut -f2) rows=$(sql "$name" "SELECT COUNT(*) FROM zip.rtree4")" \
        >>"$work/expected.txt"
}

start s16 33571
fill s16 kbs1 1 300
fill s16 kbs2 2 400
fill s16 kbs4 4 500
fill s16 kbs8 8 500
fill s16 kbs16 16 600
spatial s16 2000
stop s16

start s8 33572 --innodb-page-size=8k
fill s8 p8k_kbs4 4 400
stop s8

# copy FILE KBS: FILE without its trailing all-zero pages (space the server
# allocated but never wrote), to keep the fixtures small.
copy() {
    python3 -c '
import sys
data, size = open(sys.argv[1], "rb").read(), int(sys.argv[2]) * 1024
end = len(data)
while end >= size and not any(data[end - size:end]):
    end -= size
open(sys.argv[3], "wb").write(data[:end])
' "$1" "$2" "$out/$(basename "$1")"
}
for k in 1 2 4 8 16; do copy "$work/s16/data/zip/kbs$k.ibd" "$k"; done
copy "$work/s16/data/zip/rtree4.ibd" 4
copy "$work/s8/data/zip/p8k_kbs4.ibd" 4
cp "$work/expected.txt" "$out/expected.txt"
ls -l "$out"
cat "$out/expected.txt"
