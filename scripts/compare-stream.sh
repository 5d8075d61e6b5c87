#!/usr/bin/env bash
# Streaming (issue 22): innohot backup --stream=xbstream against mariabackup
# --backup --stream=xbstream on one idle MariaDB server (the datadir of
# scripts/compare-mariabackup.sh, scripts/compare-lib.sh), in three modes:
#
#   a. stream:            innohot backup --stream=xbstream > /dev/null
#                         mariabackup --backup --stream=xbstream > /dev/null
#   b. stream + zstd:     innohot backup --stream=xbstream --compress=zstd > FILE
#                         mariabackup --backup --stream=xbstream | zstd -1 -T0 > FILE
#   c. to a tree:         innohot backup --stream=xbstream --compress=zstd | innohot extract --decompress -C DIR
#                         mariabackup --backup --stream=xbstream | zstd -1 -T0 | zstd -d | mbstream -x -C DIR
#
# Each round runs every mode with both tools, the order alternating from
# round to round, each run from a cold page cache (sync; drop_caches). Every
# run is timed to its last process's exit, and then a `sync` is timed on its
# own: innohot extract fdatasyncs every file it writes, mbstream -x none, so
# mode c's durable figure for mariabackup is its time plus that sync (the
# ratio compare-mariabackup.sh uses); modes a and b write nothing durable
# with either tool. Prints each run, then per mode the medians, the ratio
# innohot / mariabackup (< 1: innohot faster) and, for mode b, the output
# sizes. Needs scripts/install-test-deps.sh done (mariadb-backup, zstd) and
# root (drop_caches).
#
#   scripts/compare-stream.sh [ROWS_PER_TABLE=1000000] [ROUNDS=3] [PARALLEL=2] [TABLES=4]
#
# 4 tables x 1,000,000 rows make ~1.07 GiB of data files. PARALLEL is both
# tools' --parallel; innohot compresses on every core (--compress-threads'
# default), as zstd -T0 does. Extra innohot backup options go in INNOHOT_OPTS.
set -euo pipefail
ROWS=${1:-1000000}
ROUNDS=${2:-3}
PARALLEL=${3:-2}
TABLES=${4:-4}
INNOHOT_OPTS=${INNOHOT_OPTS:-}
cd "$(dirname "$0")/.."
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target} cargo build --release --bin innohot >/dev/null
INNOHOT=${CARGO_TARGET_DIR:-$PWD/target}/release/innohot
W=$(mktemp -d /tmp/innohot-stream-XXXXXX)
trap 'mariadb -S $W/s.sock -uroot -e shutdown 2>/dev/null || true; sleep 2; rm -rf "$W"' EXIT
# shellcheck source=scripts/compare-lib.sh
. scripts/compare-lib.sh
sb_server "$W" "$ROWS" "$TABLES"
echo "datadir: $(du -sh "$W/data" | cut -f1) ($(du -cb "$W"/data/sb/*.ibd | tail -1 | cut -f1) bytes in sb's tables)," \
    "$ROUNDS rounds, --parallel $PARALLEL for both, $(nproc) cores, cold cache each run"

export INNOHOT W PARALLEL INNOHOT_OPTS
# The commands timed, by tool and mode; each runs under `bash -c` with pipefail.
ih() { "$INNOHOT" backup --stream=xbstream --socket "$W/s.sock" --user root --parallel "$PARALLEL" ${INNOHOT_OPTS:-} "$@"; }
mb() { mariabackup --backup --stream=xbstream --target-dir="$W/mbtmp" --socket="$W/s.sock" --user=root --parallel="$PARALLEL"; }
innohot_a() { ih >/dev/null; }
mariabackup_a() { mb >/dev/null; }
innohot_b() { ih --compress=zstd >"$W/out"; }
mariabackup_b() { mb | zstd -1 -T0 -q >"$W/out"; }
innohot_c() { ih --compress=zstd 2>"$W/backup.log" | "$INNOHOT" extract --decompress -C "$W/tree"; }
mariabackup_c() { mkdir "$W/tree" && mb 2>"$W/backup.log" | zstd -1 -T0 -q | zstd -d -q | mbstream -x -C "$W/tree"; }
export -f ih mb innohot_a mariabackup_a innohot_b mariabackup_b innohot_c mariabackup_c
now() { date +%s.%N; }
# run TOOL MODE: cold cache, the command, then a sync; appends "seconds sync_seconds output_bytes" to $W/TOOL.MODE.
run() {
    local name=$1_$2 s m e bytes=0
    rm -rf "$W/out" "$W/tree" "$W/mbtmp" "$W/backup.log"
    cold
    s=$(now)
    bash -c "set -o pipefail; $name" >"$W/$name.log" 2>&1 || { cat "$W/$name.log" "$W/backup.log" >&2 || true; exit 1; }
    m=$(now)
    sync
    e=$(now)
    # Each tool's own word that the backup is whole (in mode c the backup's log is
    # apart from the extractor's: innohot extract says it too, mbstream nothing).
    if [ "$2" = c ]; then
        grep -q 'completed OK!' "$W/backup.log" || { cat "$W/backup.log" >&2; exit 1; }
        [ "$1" = mariabackup ] || grep -q 'completed OK!' "$W/$name.log" || { cat "$W/$name.log" >&2; exit 1; }
        bytes=$(du -sb "$W/tree" | cut -f1)
        [ -z "$(find "$W/tree" -name '*.zst' -print -quit)" ] || { echo "$name left .zst files" >&2; exit 1; }
    else
        grep -q 'completed OK!' "$W/$name.log" || { cat "$W/$name.log" >&2; exit 1; }
        [ "$2" = a ] || bytes=$(stat -c %s "$W/out")
    fi
    echo "$(echo "$m - $s" | bc) $(echo "$e - $m" | bc) $bytes" >>"$W/$1.$2"
}
for r in $(seq 1 "$ROUNDS"); do
    order=(innohot mariabackup)
    [ $((r % 2)) = 0 ] && order=(mariabackup innohot)
    line="round $r:"
    for mode in a b c; do
        for tool in "${order[@]}"; do
            run "$tool" "$mode"
            read -r secs syncs bytes < <(tail -1 "$W/$tool.$mode")
            line="$line $mode/$tool $(printf %.2f "$secs")"
            [ "$mode" = c ] && [ "$tool" = mariabackup ] && line="$line (+sync $(printf %.2f "$syncs"))"
        done
    done
    echo "$line s"
done
col() { cut -d' ' -f"$3" "$W/$1.$2" | median; }
sec() { printf %.2f "$1"; }
ratio() { echo "scale=2; $1 / $2" | bc | sed 's/^\./0./'; }
echo
echo "medians of $ROUNDS rounds (seconds; ratio innohot / mariabackup, < 1: innohot faster)"
printf '%-44s %9s %11s %7s\n' mode innohot mariabackup ratio
for mode in a b c; do
    ti=$(col innohot $mode 1); tm=$(col mariabackup $mode 1)
    case $mode in
    a) label="a. stream > /dev/null" ;;
    b) label="b. stream + zstd > file" ;;
    c) label="c. stream + zstd to an extracted tree" ;;
    esac
    printf '%-44s %9s %11s %7s\n' "$label" "$(sec "$ti")" "$(sec "$tm")" "$(ratio "$ti" "$tm")"
    if [ "$mode" = c ]; then
        tms=$(paste -d+ <(cut -d' ' -f1 "$W/mariabackup.c") <(cut -d' ' -f2 "$W/mariabackup.c") | bc | median)
        printf '%-44s %9s %11s %7s\n' "   mariabackup's tree made durable (+sync)" "$(sec "$ti")" "$(sec "$tms")" \
            "$(ratio "$ti" "$tms")"
        echo "   tree bytes: innohot $(col innohot c 3), mariabackup $(col mariabackup c 3)"
    fi
    if [ "$mode" = b ]; then
        echo "   output bytes: innohot $(col innohot b 3), mariabackup | zstd -1 $(col mariabackup b 3)"
    fi
done
