#!/usr/bin/env bash
# innohot vs mariabackup vs a raw durable copy of the same MariaDB datadir,
# one run, rounds alternating the order: every backup starts from a cold page
# cache (sync; drop_caches), mariabackup is followed by `sync` and the raw copy
# (cp -r) too, so all three are durable as innohot is. Prints each round, the
# medians, the ratios innohot/mariabackup+sync and innohot/raw, and the peak
# RSS of each tool (GNU time), then restores innohot's last backup with innohot
# alone (prepare, copy-back, start, CHECKSUM TABLE against the source).
# Needs scripts/install-test-deps.sh done, root (drop_caches).
#
#   scripts/compare-mariabackup.sh [ROWS_PER_TABLE=1000000] [ROUNDS=5] [PARALLEL=2] [TABLES=4]
#
# 4 tables x 1,000,000 rows of ~200 bytes make a ~1.4 GB datadir. Extra innohot
# options go in INNOHOT_OPTS (e.g. INNOHOT_OPTS="--chunk-size=4194304").
set -euo pipefail
INNOHOT_OPTS=${INNOHOT_OPTS:-}
ROWS=${1:-1000000}
ROUNDS=${2:-5}
PARALLEL=${3:-2}
TABLES=${4:-4}
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo build --release --bin innohot >/dev/null
INNOHOT=${CARGO_TARGET_DIR:-$PWD/target}/release/innohot
W=$(mktemp -d /tmp/innohot-compare-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; mariadb -S $W/r.sock -uroot -e shutdown 2>/dev/null || true; sleep 2; rm -rf "$W"' EXIT
# shellcheck source=scripts/compare-lib.sh
. scripts/compare-lib.sh
sb_server "$W" "$ROWS" "$TABLES"
tables=$SB_TABLES
echo "datadir: $(du -sh "$W/data" | cut -f1), $ROUNDS rounds, --parallel $PARALLEL for both, cold cache each backup"
# run NAME FUNCTION: cold cache, then the (exported) function under GNU time; appends "seconds rss_kib" to $W/NAME.times.
run() {
    local name=$1; shift
    cold
    /usr/bin/time -f '%e %M' -o "$W/$name.one" bash -c "$1" >"$W/$name.log" 2>&1 || { cat "$W/$name.log" >&2; exit 1; }
    cat "$W/$name.one" >>"$W/$name.times"
}
export INNOHOT W PARALLEL INNOHOT_OPTS
innohot_backup() { "$INNOHOT" backup --target-dir "$W/ih" --socket "$W/s.sock" --user root --parallel "$PARALLEL" ${INNOHOT_OPTS:-}; }
mariabackup_sync() { mariabackup --backup --target-dir="$W/mb" --socket="$W/s.sock" --user=root --parallel="$PARALLEL" && sync; }
# The files a backup holds: everything but the redo log (a backup copies only
# the redo written during it) and the server's own pid/error files beside it.
raw_copy() {
    mkdir "$W/raw"
    for f in "$W"/data/*; do case $f in */ib_logfile*) ;; *) cp -r "$f" "$W/raw/" ;; esac; done
    sync
}
export -f innohot_backup mariabackup_sync raw_copy
for r in $(seq 1 "$ROUNDS"); do
    rm -rf "$W/ih" "$W/mb" "$W/raw"
    order=(innohot mariabackup raw)
    case $((r % 3)) in 2) order=(mariabackup raw innohot) ;; 0) order=(raw innohot mariabackup) ;; esac
    for tool in "${order[@]}"; do
        case $tool in
            innohot) run innohot innohot_backup ;;
            mariabackup) run mariabackup mariabackup_sync ;;
            raw) run raw raw_copy ;;
        esac
    done
    echo "round $r (${order[*]}): innohot $(tail -1 "$W/innohot.times" | cut -d' ' -f1) s" \
        "($(grep -o 'lock (commits blocked) [0-9.]* s' "$W/innohot.log" || true))," \
        "mariabackup+sync $(tail -1 "$W/mariabackup.times" | cut -d' ' -f1) s, raw copy+sync $(tail -1 "$W/raw.times" | cut -d' ' -f1) s"
done
col() { cut -d' ' -f"$2" "$W/$1.times" | median; }
mi=$(col innohot 1); mm=$(col mariabackup 1); mr=$(col raw 1)
echo "median seconds: innohot $mi, mariabackup+sync $mm, raw copy+sync $mr"
echo "ratio innohot/(mariabackup+sync) $(echo "scale=2; $mi / $mm" | bc), innohot/raw $(echo "scale=2; $mi / $mr" | bc)"
echo "peak RSS (median of rounds): innohot $(( $(col innohot 2) / 1024 )) MiB, mariabackup $(( $(col mariabackup 2) / 1024 )) MiB"
echo "backup bytes: innohot $(du -sb "$W/ih" | cut -f1), mariabackup $(du -sb "$W/mb" | cut -f1)"
mariadb -S "$W/s.sock" -uroot -e "checksum table $tables" >"$W/src.sum"
"$INNOHOT" prepare --target-dir "$W/ih" >"$W/prep.log" 2>&1
"$INNOHOT" copy-back --target-dir "$W/ih" --datadir "$W/restored" >"$W/cb.log" 2>&1
start "$W/restored" "$W/r.sock"
mariadb -S "$W/r.sock" -uroot -e "checksum table $tables" >"$W/rst.sum"
if diff -q "$W/src.sum" "$W/rst.sum" >/dev/null; then
    echo "restore: innohot's backup, prepared and copied back by innohot, has the source's checksums"
else
    echo "restore: CHECKSUMS DIFFER"; diff "$W/src.sum" "$W/rst.sum"; exit 1
fi
