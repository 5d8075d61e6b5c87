#!/usr/bin/env bash
# Incremental backups (issue 23): innohot's incremental against its own full
# backup and against mariabackup's incremental, on one idle MariaDB server
# (the datadir of scripts/compare-lib.sh).
#
# Setup: the sysbench-like datadir; a full backup with each tool (the bases);
# then one row in EVERY of t1 is updated (1000: about one page in 14 of
# t1, a row spread thin as a day of OLTP writes is) and the server checkpoints
# (its changed pages reach the data files, as they do on a server that runs
# for a day between backups); then the server restarts cleanly, so every run
# reads the same bytes. Each round takes, from a cold page cache (sync;
# drop_caches), with both tools in alternating order:
#
#   full:         innohot backup / mariabackup --backup
#   incremental:  the same with --incremental-basedir=that tool's base
#
# Every run is timed to its exit, then a `sync` is timed on its own: innohot
# fdatasyncs every file it writes, mariabackup none, so mariabackup's durable
# figure is its time plus that sync (the ratio compare-mariabackup.sh uses).
# Prints each run, then the medians, the sizes and the ratios: innohot's
# incremental / its full backup, and innohot / mariabackup (< 1: innohot
# faster or smaller). Needs scripts/install-test-deps.sh done and root.
#
#   scripts/compare-incremental.sh [ROWS_PER_TABLE=1000000] [ROUNDS=3] [EVERY=1000] [PARALLEL=2] [TABLES=4]
set -euo pipefail
ROWS=${1:-1000000}
ROUNDS=${2:-3}
EVERY=${3:-1000}
PARALLEL=${4:-2}
TABLES=${5:-4}
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo build --release --bin innohot >/dev/null
INNOHOT=${CARGO_TARGET_DIR:-$PWD/target}/release/innohot
W=$(mktemp -d /tmp/innohot-incremental-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; sleep 2; rm -rf "$W"' EXIT
# shellcheck source=scripts/compare-lib.sh
. scripts/compare-lib.sh
sb_server "$W" "$ROWS" "$TABLES"
sql() { mariadb -S "$W/s.sock" -uroot "$@"; }

ih() { "$INNOHOT" backup --socket "$W/s.sock" --user root --parallel "$PARALLEL" --target-dir "$@"; }
mb() { mariabackup --backup --socket="$W/s.sock" --user=root --parallel="$PARALLEL" --target-dir="$@"; }
ih "$W/base.innohot" >"$W/base.innohot.log" 2>&1
mb "$W/base.mariabackup" >"$W/base.mariabackup.log" 2>&1
sql sb -e "update t1 set k = k + 1 where id % $EVERY = 0"
sql -e "set global innodb_log_checkpoint_now = on"
pid=$(cat "$W/data.pid")
sql -e shutdown
while kill -0 "$pid" 2>/dev/null; do sleep 0.5; done
start "$W/data" "$W/s.sock" --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
echo "datadir: $(du -sh "$W/data" | cut -f1), $TABLES tables x $ROWS rows, one row in $EVERY of t1 changed" \
    "since the bases; $ROUNDS rounds, --parallel $PARALLEL for both, $(nproc) cores, cold cache each run"

now() { date +%s.%N; }
# run TOOL KIND: appends "seconds sync_seconds bytes" to $W/TOOL.KIND.
run() {
    local out="$W/out" s m e extra=()
    rm -rf "$out"
    [ "$2" = incremental ] && extra=(--incremental-basedir="$W/base.$1")
    cold
    s=$(now)
    if [ "$1" = innohot ]; then ih "$out" "${extra[@]}" >"$W/run.log" 2>&1; else mb "$out" "${extra[@]}" >"$W/run.log" 2>&1; fi
    m=$(now)
    sync
    e=$(now)
    grep -q 'completed OK!' "$W/run.log" || { cat "$W/run.log" >&2; exit 1; }
    [ "$1" = innohot ] && [ "$2" = incremental ] && grep 'incremental:' "$W/run.log" | tail -1 >"$W/pages"
    echo "$(echo "$m - $s" | bc) $(echo "$e - $m" | bc) $(du -sb "$out" | cut -f1)" >>"$W/$1.$2"
}
for r in $(seq 1 "$ROUNDS"); do
    order=(innohot mariabackup)
    [ $((r % 2)) = 0 ] && order=(mariabackup innohot)
    line="round $r:"
    for kind in full incremental; do
        for tool in "${order[@]}"; do
            run "$tool" "$kind"
            read -r secs syncs _ < <(tail -1 "$W/$tool.$kind")
            line="$line $kind/$tool $(printf %.2f "$secs") (+sync $(printf %.2f "$syncs"))"
        done
    done
    echo "$line s"
done
col() { cut -d' ' -f"$3" "$W/$1.$2" | median; }
durable() { paste -d+ <(cut -d' ' -f1 "$W/$1.$2") <(cut -d' ' -f2 "$W/$1.$2") | bc | median; }
ratio() { echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'; }
echo
echo "innohot's incremental: $(sed 's/.*incremental: //' "$W/pages")"
echo "medians of $ROUNDS rounds (seconds, bytes)"
printf '%-34s %10s %14s %10s %14s\n' backup innohot bytes mariabackup bytes
for kind in full incremental; do
    printf '%-34s %10.2f %14s %10.2f %14s\n' "$kind" "$(col innohot $kind 1)" "$(col innohot $kind 3)" \
        "$(col mariabackup $kind 1)" "$(col mariabackup $kind 3)"
    printf '%-34s %10s %14s %10.2f\n' "  mariabackup made durable (+sync)" "" "" "$(durable mariabackup $kind)"
done
echo
echo "ratios (< 1: faster or smaller)"
echo "  innohot incremental / innohot full:        time $(ratio "$(col innohot incremental 1)" "$(col innohot full 1)")," \
    "size $(ratio "$(col innohot incremental 3)" "$(col innohot full 3)")"
echo "  innohot / mariabackup, incremental:        time $(ratio "$(col innohot incremental 1)" "$(col mariabackup incremental 1)")," \
    "size $(ratio "$(col innohot incremental 3)" "$(col mariabackup incremental 3)")"
echo "  innohot / mariabackup+sync, incremental:   time $(ratio "$(col innohot incremental 1)" "$(durable mariabackup incremental)")"
echo "  mariabackup incremental / its full:        time $(ratio "$(col mariabackup incremental 1)" "$(col mariabackup full 1)")," \
    "size $(ratio "$(col mariabackup incremental 3)" "$(col mariabackup full 3)")"
