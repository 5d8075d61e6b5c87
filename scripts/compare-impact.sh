#!/usr/bin/env bash
# What a backup costs the live server, innohot against mariabackup on one
# MariaDB server (issue 12's comparison harness, modes 2 and 3). Needs
# scripts/install-test-deps.sh done, root (it drops the page cache).
#
#   scripts/compare-impact.sh tps     [ROUNDS=3] [WRITERS=4] [ROWS=2000000]
#   scripts/compare-impact.sh survive [WRITER_COUNTS="1 4 8 16"] [ROWS=2000000]
#   scripts/compare-impact.sh curve   [THROTTLES="auto 0 200 100 50 25"] [WRITERS=4] [ROWS=2000000] [ROUNDS=2]
#   scripts/compare-impact.sh idle    [ROUNDS=5] [ROWS=2000000]
#
# tps: a write load (testbeds/examples/tps.rs, WRITERS connections of small
#   InnoDB transactions) runs throughout; per round and tool, cold page cache,
#   5 s of load, the backup (mariabackup followed by sync, so both are
#   durable; both --parallel 1), 5 s more. Prints the commits per second
#   before, during and after each backup, the backup's wall time, and the
#   medians over the rounds with the ratio innohot/mariabackup of the TPS
#   during the backup.
# survive: a server with a 4 MiB redo log; for each writer count, the load
#   (about 1.2 KB of redo a commit) starts, then innohot backs up, then
#   mariabackup; says which completed.
# curve: the knob that trades backup time for live-server TPS. Per round,
#   mariabackup once, then innohot at each --throttle (MiB/s, 0 = none), all
#   under the same load, cold cache each; prints TPS during and backup time,
#   then the medians per setting beside mariabackup's (auto: --throttle=auto,
#   the default, which paces by the server's load; auto:N with --max-impact N).
#   INNOHOT_OPTS adds
#   options to every innohot run; PARALLEL=N (default 1) sets --parallel of both tools in every mode.
# idle: no load; per round, cold cache, innohot --throttle auto then
#   --throttle 0 (order alternating); the medians and their ratio: what the
#   default costs a backup of a server with nothing to spare it for.
set -euo pipefail
MODE=${1:-tps}
PARALLEL=${PARALLEL:-1} # --parallel of both tools
cd "$(dirname "$0")/.."
cargo build --release --bin innohot -p innohot-cli >/dev/null
cargo build --release --example tps -p innohot-testbeds >/dev/null
INNOHOT=$PWD/target/release/innohot
TPS=$PWD/target/release/examples/tps
W=$(mktemp -d /tmp/innohot-impact-XXXXXX)
LOAD_PID=
cleanup() {
    [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
    mariadb -S "$W/s.sock" -uroot -e shutdown 2>/dev/null || true
    sleep 2
    rm -rf "$W"
}
trap cleanup EXIT
# shellcheck source=scripts/compare-lib.sh
. scripts/compare-lib.sh
now() { date +%s.%N; }
# mean commits/s of the lines "<unix> <n>" of $1 whose time lies in ($2, $3]
rate() { awk -v a="$2" -v b="$3" '$1 > a && $1 <= b {s += $2; n++} END {printf "%.0f", n ? s / n : 0}' "$1"; }
# runs one tool: $1 = innohot | mariabackup; prints "seconds ok|FAILED"
backup() {
    local tool=$1 dir=$W/$1 s e ok=ok
    rm -rf "$dir"
    s=$(now)
    if [ "$tool" = innohot ]; then
        # shellcheck disable=SC2086
        "$INNOHOT" backup --target-dir "$dir" --socket "$W/s.sock" --user root --parallel "$PARALLEL" ${2:-} \
            >"$W/$tool.log" 2>&1 || ok=FAILED
    else
        { mariabackup --backup --target-dir="$dir" --socket="$W/s.sock" --user=root --parallel="$PARALLEL" && sync; } \
            >"$W/$tool.log" 2>&1 || ok=FAILED
    fi
    e=$(now)
    echo "$(echo "$e - $s" | bc) $ok $s $e"
}

new_datadir "$W/data"
case "$MODE" in
tps)
    ROUNDS=${2:-3}; WRITERS=${3:-4}; ROWS=${4:-2000000}
    start "$W/data" "$W/s.sock" --innodb-buffer-pool-size=512M --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
    "$TPS" --socket "$W/s.sock" --setup "$ROWS"
    echo "datadir $(du -sh "$W/data" | cut -f1), $WRITERS writers, $ROUNDS rounds alternating, cold cache each"
    declare -A during took
    for r in $(seq 1 "$ROUNDS"); do
        for tool in innohot mariabackup; do
            cold
            "$TPS" --socket "$W/s.sock" --threads "$WRITERS" >"$W/load.txt" &
            LOAD_PID=$!
            sleep 5
            read -r secs ok s e < <(backup "$tool")
            sleep 5
            kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
            before=$(rate "$W/load.txt" "$(echo "$s - 5" | bc)" "$s")
            mid=$(rate "$W/load.txt" "$s" "$e")
            after=$(rate "$W/load.txt" "$e" "$(echo "$e + 5" | bc)")
            during[$tool]="${during[$tool]:-} $mid"; took[$tool]="${took[$tool]:-} $secs"
            printf 'round %s %-11s %6.1f s %-6s TPS before %5s during %5s after %5s\n' \
                "$r" "$tool" "$secs" "$ok" "$before" "$mid" "$after"
        done
    done
    # shellcheck disable=SC2086
    mi=$(median ${during[innohot]}); mm=$(median ${during[mariabackup]})
    # shellcheck disable=SC2086
    ti=$(median ${took[innohot]}); tm=$(median ${took[mariabackup]})
    echo "median TPS during the backup: innohot $mi, mariabackup $mm, ratio $(echo "scale=2; $mi / $mm" | bc)"
    echo "median backup time: innohot $ti s, mariabackup+sync $tm s, ratio $(echo "scale=2; $ti / $tm" | bc)"
    ;;
survive)
    COUNTS=${2:-"1 4 8 16"}; ROWS=${3:-2000000}
    start "$W/data" "$W/s.sock" --innodb-buffer-pool-size=512M --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=4M
    "$TPS" --socket "$W/s.sock" --setup "$ROWS"
    echo "datadir $(du -sh "$W/data" | cut -f1)"
    echo "4 MiB redo log; per writer count: innohot, then mariabackup, each under the load"
    for n in $COUNTS; do
        "$TPS" --socket "$W/s.sock" --threads "$n" >"$W/load.txt" &
        LOAD_PID=$!
        sleep 3
        read -r si oi _ _ < <(backup innohot)
        read -r sm om _ _ < <(backup mariabackup)
        kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
        printf '%2s writers (%5s commits/s): innohot %-6s %5.1f s, mariabackup %-6s %5.1f s\n' \
            "$n" "$(awk '{s += $2; n++} END {printf "%.0f", n ? s / n : 0}' "$W/load.txt")" "$oi" "$si" "$om" "$sm"
        [ "$oi" = ok ] || tail -2 "$W/innohot.log"
        [ "$om" = ok ] || grep -m1 -i "error\|was only able" "$W/mariabackup.log" || true
    done
    ;;
curve)
    THROTTLES=${2:-"auto 0 200 100 50 25"}; WRITERS=${3:-4}; ROWS=${4:-2000000}; ROUNDS=${5:-2}
    start "$W/data" "$W/s.sock" --innodb-buffer-pool-size=512M --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
    "$TPS" --socket "$W/s.sock" --setup "$ROWS"
    echo "datadir $(du -sh "$W/data" | cut -f1), $WRITERS writers, throttles (MiB/s): $THROTTLES, $ROUNDS rounds"
    declare -A during took
    # auto:N is --throttle auto --max-impact N
    throttle_opts() { case $1 in auto:*) echo "--throttle auto --max-impact ${1#auto:}" ;; *) echo "--throttle $1" ;; esac; }
    # one backup under load: $1 = label, $2 = tool, $3 = innohot options
    measured() {
        cold
        "$TPS" --socket "$W/s.sock" --threads "$WRITERS" >"$W/load.txt" &
        LOAD_PID=$!
        sleep 5
        read -r secs ok s e < <(backup "$2" "$3")
        kill "$LOAD_PID"; wait "$LOAD_PID" 2>/dev/null || true; LOAD_PID=
        before=$(rate "$W/load.txt" "$(echo "$s - 5" | bc)" "$s")
        mid=$(rate "$W/load.txt" "$s" "$e")
        during[$1]="${during[$1]:-} $mid"; took[$1]="${took[$1]:-} $secs"
        printf 'round %s %-22s %6.1f s %-6s TPS before %5s during %5s\n' "$r" "$1" "$secs" "$ok" "$before" "$mid"
        [ "$ok" = ok ] || tail -2 "$W/$2.log"
    }
    for r in $(seq 1 "$ROUNDS"); do
        measured mariabackup mariabackup ""
        for t in $THROTTLES; do measured "innohot --throttle $t" innohot "$(throttle_opts "$t") ${INNOHOT_OPTS:-}"; done
    done
    # shellcheck disable=SC2086
    mm=$(median ${during[mariabackup]}); tm=$(median ${took[mariabackup]})
    echo "median: mariabackup+sync $tm s, TPS during $mm"
    for t in $THROTTLES; do
        k="innohot --throttle $t"
        # shellcheck disable=SC2086
        mi=$(median ${during[$k]}); ti=$(median ${took[$k]})
        echo "median: $k: $ti s ($(echo "scale=2; $ti / $tm" | bc)x), TPS during $mi ($(echo "scale=2; $mi / $mm" | bc)x)"
    done
    ;;
idle)
    ROUNDS=${2:-5}; ROWS=${3:-2000000}
    start "$W/data" "$W/s.sock" --innodb-buffer-pool-size=512M --log-bin=mysql-bin --server-id=1 --innodb-log-file-size=256M
    "$TPS" --socket "$W/s.sock" --setup "$ROWS"
    echo "datadir $(du -sh "$W/data" | cut -f1), no load, $ROUNDS rounds, cold cache each"
    declare -A took
    for r in $(seq 1 "$ROUNDS"); do
        order="auto 0"; [ $((r % 2)) = 0 ] && order="0 auto"
        for t in $order; do
            cold
            read -r secs ok _ _ < <(backup innohot "--throttle $t ${INNOHOT_OPTS:-}")
            took[$t]="${took[$t]:-} $secs"
            printf 'round %s innohot --throttle %-4s %6.2f s %s\n' "$r" "$t" "$secs" "$ok"
            [ "$ok" = ok ] || tail -2 "$W/innohot.log"
        done
    done
    # shellcheck disable=SC2086
    ta=$(median ${took[auto]}); t0=$(median ${took[0]})
    echo "median: --throttle auto $ta s, --throttle 0 $t0 s, ratio $(echo "scale=3; $ta / $t0" | bc)"
    ;;
*)
    echo "usage: $0 tps [ROUNDS] [WRITERS] [ROWS] | survive [WRITER_COUNTS] | curve [THROTTLES] [WRITERS] [ROWS] [ROUNDS] | idle [ROUNDS] [ROWS]" >&2
    exit 2
    ;;
esac
