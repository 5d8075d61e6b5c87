#!/usr/bin/env bash
# Make the real MySQL 5.7 redo sample in engine/tests/fixtures/mysql57-redo/.
#
# Unpacks a MySQL 5.7 binary tarball into a temporary directory, initialises a
# throwaway datadir (--no-defaults, --skip-networking, run as root with
# --user=root, two 4 MiB redo files), runs a small workload in two phases and
# kills the server with SIGKILL, so that the redo written after the last
# checkpoint stays in ib_logfile*. Then:
#
#   xtrabackup_logfile  the first 2048 bytes of ib_logfile0 as the server wrote
#                       them (file header, both checkpoint slots), then every
#                       512-byte block from the newest checkpoint's block to the
#                       end of the written log: the layout of a backup's redo
#                       copy (engine/src/follow/mysql57.rs writes the same, with
#                       the creator relabelled; this one keeps the server's).
#   end_lsn             the LSN where the written log ends (one decimal line).
#   t1.ibd.head         the first 5 pages of fx/t1.ibd after the server was
#                       started again on the crashed datadir (recovery applied the
#                       redo above) and shut down cleanly: FSP header page, ibuf
#                       bitmap, inode page, the clustered and the secondary
#                       index's root pages.
#
# Usage (as root):  scripts/make-mysql57-redo-fixture.sh TARBALL OUTDIR
#   TARBALL  a MySQL 5.7 Linux binary tarball (bin/mysqld at its top directory)
#   OUTDIR   where the files go, e.g. engine/tests/fixtures/mysql57-redo
# Needs: tar, xz, python3, libaio1 and libssl3 (what mysqld links), and a client:
# `mariadb` or `mysql` on PATH, else the tarball's bin/mysql.
# Set KEEP_WORK=1 to keep the temporary directory for a look afterwards.
#
# The bytes differ from run to run (LSNs, timestamps, checkpoint timing); the
# checks at the end of this script and engine/tests/mysql57_redo_real.rs pin
# what is stable: every block valid, the records decodable, the record kinds.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 TARBALL OUTDIR" >&2
    exit 2
fi
tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
mkdir -p "$2"
out="$(cd "$2" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
    echo "make-mysql57-redo-fixture: run as root (mysqld --user=root)" >&2
    exit 1
fi
for b in tar xz python3; do
    command -v "$b" >/dev/null || { echo "make-mysql57-redo-fixture: $b not found" >&2; exit 1; }
done

work="$(mktemp -d /tmp/innohot-mysql57-redo.XXXXXX)"
pidfile="$work/mysqld.pid"

cleanup() {
    local pid
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

tar -xf "$tarball" -C "$work"
base="$(dirname "$(dirname "$(find "$work" -maxdepth 3 -path '*/bin/mysqld' | head -n 1)")")"
[ -x "$base/bin/mysqld" ] || { echo "make-mysql57-redo-fixture: no bin/mysqld in $tarball" >&2; exit 1; }
client="$(command -v mariadb || command -v mysql || echo "$base/bin/mysql")"

data="$work/data"
sock="$work/sock"
LOG_OPTIONS=(--innodb-log-file-size=4M --innodb-log-files-in-group=2 --innodb-file-per-table=1)

sql() {
    "$client" --no-defaults -S "$sock" -uroot --batch --skip-column-names "$@"
}

# The value of one line of SHOW ENGINE INNODB STATUS's LOG section.
status_lsn() {
    sql -e 'SHOW ENGINE INNODB STATUS\G' | sed -n "s/^$1 *\([0-9]*\)\$/\1/p"
}

start() {
    "$base/bin/mysqld" --no-defaults --basedir="$base" --datadir="$data" --user=root \
        --socket="$sock" --skip-networking "${LOG_OPTIONS[@]}" \
        --log-error="$work/error.log" --pid-file="$work/pid" >>"$work/out.log" 2>&1 &
    echo $! >"$pidfile"
    local i
    for i in $(seq 1 600); do # poll up to 60 s
        if [ -S "$sock" ] && sql -e "SELECT 1" >/dev/null 2>&1; then
            return
        fi
        kill -0 "$(cat "$pidfile")" 2>/dev/null || break
        sleep 0.1
    done
    tail -n 30 "$work/error.log" >&2
    exit 1
}

"$base/bin/mysqld" --no-defaults --initialize-insecure --basedir="$base" --datadir="$data" --user=root \
    "${LOG_OPTIONS[@]}" >"$work/initialize.log" 2>&1 || { tail -n 30 "$work/initialize.log" >&2; exit 1; }
start
version="$(sql -e 'SELECT VERSION()')"
echo "started MySQL $version"

# INSERTs into fx.t1 for ids FROM..TO in batches of STEP rows: v is "row-N-"
# and N % LEN copies of FILL, n is NULL for every NULLS-th id.
t1_inserts() {
    python3 - "$@" <<'PY'
import sys
lo, hi, step, fill, length, nulls = sys.argv[1:]
lo, hi, step, length, nulls = int(lo), int(hi), int(step), int(length), int(nulls)
for i in range(lo, hi, step):
    rows = ", ".join("(%d, %r, %s)" % ((i + j) * 7919 % 1000, "row-%d-" % (i + j) + fill * ((i + j) % length),
                     str(i + j) if (i + j) % nulls else "NULL") for j in range(step))
    print("INSERT INTO fx.t1 (k, v, n) VALUES %s;" % rows)
PY
}

# Phase A: the schema and its first rows. Then wait until a checkpoint passes
# all of it, so that the redo kept below starts with a checkpoint's
# MLOG_FILE_NAME records for the tablespaces phase A changed.
{
    echo "CREATE DATABASE fx;"
    echo "CREATE TABLE fx.t1 (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL,"
    echo "  v VARCHAR(100) NOT NULL, n BIGINT NULL, KEY k (k)) ENGINE=InnoDB ROW_FORMAT=DYNAMIC;"
    echo "CREATE TABLE fx.t0 (id INT PRIMARY KEY, c CHAR(20)) ENGINE=InnoDB ROW_FORMAT=COMPACT;"
    echo "INSERT INTO fx.t0 VALUES (1, 'a'), (2, 'b'), (3, 'c');"
    t1_inserts 0 300 20 x 50 3
} | sql
after_a="$(status_lsn 'Log sequence number')"
for i in $(seq 1 600); do
    cp_lsn="$(status_lsn 'Last checkpoint at')"
    [ "$cp_lsn" -ge "$after_a" ] && break
    [ "$i" = 600 ] && { echo "make-mysql57-redo-fixture: no checkpoint past $after_a in 60 s" >&2; exit 1; }
    sleep 0.1
done
echo "phase A ended at LSN $after_a; checkpoint at $cp_lsn"

# Phase B: row changes that split pages, DDL (MLOG_FILE_CREATE2, _RENAME2,
# _DELETE), TRUNCATE (MLOG_TRUNCATE), an index built without redo
# (MLOG_INDEX_LOAD). Every statement commits, and a commit makes its redo
# durable (innodb_flush_log_at_trx_commit=1), so SIGKILL right after leaves it all.
{
    echo "UPDATE fx.t1 SET n = n + 1 WHERE id % 5 = 0;"
    echo "UPDATE fx.t1 SET v = CONCAT(v, '-updated-longer') WHERE id % 7 = 0;"
    echo "UPDATE fx.t1 SET k = k + 1 WHERE id % 11 = 0;"
    echo "DELETE FROM fx.t1 WHERE id % 13 = 0;"
    t1_inserts 300 700 25 y 60 4
    echo "CREATE TABLE fx.t2 (a INT PRIMARY KEY, b VARCHAR(10)) ENGINE=InnoDB;"
    echo "INSERT INTO fx.t2 VALUES (1, 'one'), (2, 'two');"
    echo "RENAME TABLE fx.t2 TO fx.t3;"
    echo "DROP TABLE fx.t3;"
    echo "TRUNCATE TABLE fx.t0;"
    echo "ALTER TABLE fx.t1 ADD INDEX v (v);"
    echo "UPDATE fx.t1 SET n = 0 WHERE id = 1;"
} | sql
kill -9 "$(cat "$pidfile")"
wait "$(cat "$pidfile")" 2>/dev/null || true
rm -f "$pidfile" "$sock"
echo "killed the server (SIGKILL)"

# The redo from the newest checkpoint's block to the end of the written log,
# walked through the ring of ib_logfile0 and ib_logfile1.
python3 - "$data" "$out" <<'EOF'
import struct, sys, os
data, out = sys.argv[1], sys.argv[2]
files = [open(os.path.join(data, "ib_logfile%d" % i), "rb").read() for i in range(2)]
size = len(files[0])
cap = len(files) * (size - 2048)
head = files[0][:2048]
def crc32c(b):
    crc = 0xFFFFFFFF
    for x in b:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
def ok(block):
    return struct.unpack(">I", block[508:512])[0] == crc32c(block[:508])
slots = [head[o:o + 512] for o in (512, 1536)]
cps = [struct.unpack(">QQQ", s[:24]) for s in slots if ok(s)]
no, cp_lsn, cp_offset = max(cps)
def data_offset(real):
    return (real // size) * (size - 2048) + real % size - 2048
def block_at(lsn):
    d = (data_offset(cp_offset) - cp_offset % 512 + lsn - (cp_lsn - cp_lsn % 512)) % cap
    f, o = d // (size - 2048), d % (size - 2048) + 2048
    return files[f][o:o + 512]
lsn = cp_lsn - cp_lsn % 512
blocks = []
while True:
    b = block_at(lsn)
    no_ = struct.unpack(">I", b[:4])[0] & 0x7FFFFFFF
    if not ok(b) or no_ != ((lsn // 512) & 0x3FFFFFFF) + 1:
        end = lsn
        break
    blocks.append(b)
    data_len = struct.unpack(">H", b[4:6])[0]
    if data_len < 512:
        end = lsn + data_len
        break
    lsn += 512
with open(os.path.join(out, "xtrabackup_logfile"), "wb") as f:
    f.write(head + b"".join(blocks))
with open(os.path.join(out, "end_lsn"), "w") as f:
    f.write("%d\n" % end)
print("checkpoint %d at LSN %d (group offset %d); log ends at LSN %d: %d blocks, %d bytes of redo"
      % (no, cp_lsn, cp_offset, end, len(blocks), end - cp_lsn))
if len(blocks) * 512 + 2048 > 300 * 1024:
    sys.exit("make-mysql57-redo-fixture: the redo sample is over 300 KiB: shrink phase B")
if end - cp_lsn < 4096:
    sys.exit("make-mysql57-redo-fixture: under 4 KiB of redo after the checkpoint: a checkpoint passed phase B")
EOF

# Second run: recovery on the crashed datadir, then a clean shutdown, then
# the first pages of fx/t1.ibd.
start
echo "restarted (recovery done)"
sql -e "SHUTDOWN"
wait "$(cat "$pidfile")" 2>/dev/null || true
rm -f "$pidfile"
grep -q "Shutdown completed" "$work/error.log" || { tail -n 30 "$work/error.log" >&2; exit 1; }
dd if="$data/fx/t1.ibd" of="$out/t1.ibd.head" bs=16384 count=5 status=none
ls -l "$out"
