#!/usr/bin/env bash
# Run MariaDB's own mariabackup regression suite (Debian package mariadb-test,
# suite/mariabackup, driven by mariadb-test-run.pl) with innohot standing in
# for mariabackup, and print how many tests passed, failed and were skipped.
#
#   scripts/run-mariabackup-suite.sh [--real] [--parallel N] [--trace] [TEST...]
#
#   --real        run the real mariabackup instead of innohot (a baseline)
#   --trace       bin/mariabackup becomes a small wrapper (not a symlink) that
#                 records every call: test, arguments, exit code and a copy
#                 of stderr, in <scratch>/trace/<test>.log (the suite sends
#                 the tool's output to files that the next test overwrites)
#   --parallel N  MTR workers (default 2; the machines have 2 cores)
#   TEST...       only these tests (full_backup or mariabackup.full_backup);
#                 default: the whole suite
#
# Environment:
#   INNOHOT_BIN   the innohot binary (default target/release/innohot under the
#                 repository root; this script never builds it:
#                 cargo build --release --bin innohot)
#   MTR_OPTS      extra options for mariadb-test-run.pl (word-split)
#   KEEP_VARDIR=1 keep MTR's whole var dir (it lives in /dev/shm) instead of
#                 only its logs
#
# Tests named in scripts/mariabackup-suite-skips.txt are not run (they count
# as skipped); docs/MARIABACKUP-SUITE.md says why each one is there.
#
# The last lines printed are
#   mariabackup suite: N passed, N failed, N skipped
# and the names of the failed tests. The exit code is 0 whenever the suite ran
# to its end, whatever the tests did, and 2 when this script or MTR itself
# could not do its work.
#
# How the substitution works: MTR takes mariabackup from its client bindir
# ($XTRABACKUP = <bindir>/mariabackup) with no way to name another binary, and
# it derives that bindir from the directory it is started in (cwd(), which
# resolves symlinks): <mysql-test>/../../.. when <mysql-test>/.. has no bin/.
# So we lay out a scratch prefix that mirrors /usr with symlinks, whose
# share/mysql/mysql-test is a real directory (of symlinks to the real test
# files) so that cwd() stays inside the scratch prefix, and whose bin/ is a
# real directory of symlinks to /usr/bin/* except bin/mariabackup, which points
# at innohot (or, with --real, at the real mariadb-backup). The symlink keeps
# argv[0] = .../mariabackup. mbstream, mariadb-backup and every other binary
# stay the real ones. Nothing is written under /usr.
# -E: the ERR trap below also fires inside functions.
set -Eeuo pipefail

die() { echo "run-mariabackup-suite: $*" >&2; exit 2; }
# Any unexpected failure of a command in this script is the script breaking:
# exit 2 then, never 1 (1 could be read as "tests failed").
trap 'echo "run-mariabackup-suite: failed at line $LINENO: $BASH_COMMAND" >&2; exit 2' ERR

REPO=$(cd "$(dirname "$0")/.." && pwd)
REAL=0
TRACE=0
PARALLEL=2
TESTS=()
while [ $# -gt 0 ]; do
    case $1 in
        --real) REAL=1 ;;
        --trace) TRACE=1 ;;
        --parallel) [ $# -ge 2 ] || die "--parallel needs a number"; PARALLEL=$2; shift ;;
        --parallel=*) PARALLEL=${1#--parallel=} ;;
        -h|--help) awk 'NR > 1 { sub(/^# ?/, ""); print } /could not do its work/ { exit }' "$0"; exit 0 ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) TESTS+=("mariabackup.${1#mariabackup.}") ;;
    esac
    shift
done
[[ $PARALLEL =~ ^[1-9][0-9]*$ ]] || die "--parallel wants a positive number, not '$PARALLEL'"

MTR_DIR=/usr/share/mysql/mysql-test
SKIPS=$REPO/scripts/mariabackup-suite-skips.txt

# The suite, the server it starts and the real mariabackup (whose mbstream the
# stream tests use even with innohot) all come from Debian's packages.
if [ ! -f "$MTR_DIR/mariadb-test-run.pl" ] || [ ! -d "$MTR_DIR/suite/mariabackup" ] ||
   [ ! -x /usr/bin/mariadb-backup ] || [ ! -x /usr/bin/mbstream ]; then
    echo "installing mariadb-test and mariadb-backup with apt-get..." >&2
    [ "$(id -u)" = 0 ] || die "mariadb-test is missing and installing it needs root"
    apt-get update -qq >&2 || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mariadb-test mariadb-backup >&2 ||
        die "apt-get install mariadb-test mariadb-backup failed"
fi
[ -f "$MTR_DIR/mariadb-test-run.pl" ] || die "no $MTR_DIR/mariadb-test-run.pl after installing mariadb-test"
[ -f "$SKIPS" ] || die "no skip list $SKIPS"

if [ "$REAL" = 1 ]; then
    TOOL=/usr/bin/mariadb-backup
    [ -x "$TOOL" ] || die "no $TOOL (apt-get install mariadb-backup)"
else
    TOOL=${INNOHOT_BIN:-$REPO/target/release/innohot}
    case $TOOL in /*) ;; *) TOOL=$PWD/$TOOL ;; esac
    [ -x "$TOOL" ] || die "no innohot binary at $TOOL: build it with
    cargo build --release --bin innohot
or point INNOHOT_BIN at one"
    "$TOOL" --version >/dev/null 2>&1 || die "$TOOL --version does not run"
fi

# Scratch space: the prefix, the generated skip list and the logs we keep go
# under /tmp; MTR's var dir (servers' datadirs, backups, sockets) goes to
# /dev/shm when it is there, as MTR's own --mem does, since the suite fsyncs a
# lot and is several times slower on a disk.
WORK=$(mktemp -d /tmp/innohot-mbsuite.XXXXXX)
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    VARDIR=$(mktemp -d /dev/shm/innohot-mbsuite.XXXXXX)
else
    VARDIR=$WORK/var
fi
LOG=$WORK/mtr.log

# On the way out keep the logs of MTR's var dir next to mtr.log: per worker,
# each test's mysqltest log (<N>/log/<test>.log) and the server error logs;
# for each failed test, what MTR saved in log/<test>/ (its my.cnf, server log,
# tmp/ with the tool output some tests redirect there), but not the server
# datadir MTR saves there too (~100 MB a test). Then free /dev/shm.
keep_logs() {
    if [ "$VARDIR" != "$WORK/var" ] && [ -d "$VARDIR" ]; then
        if [ "${KEEP_VARDIR:-0}" = 1 ]; then
            echo "MTR var dir kept: $VARDIR" >&2
        else
            mkdir -p "$WORK/var"
            (cd "$VARDIR" && find . -path '*/log/*' -type f ! -path '*/mysqld.*/data/*' -print0 |
                tar -c --null -T - -f - 2>/dev/null) | tar -x -C "$WORK/var" 2>/dev/null || true
            rm -rf "$VARDIR"
        fi
    fi
}
trap 'keep_logs' EXIT

# --- the scratch prefix ----------------------------------------------------
PREFIX=$WORK/prefix
mkdir -p "$PREFIX"
# Mirror ONE directory level: a real directory holding a symlink to each entry
# of the original, except the names given, which the caller builds itself.
mirror() { # SRC DST [EXCEPT...]
    local src=$1 dst=$2 e name
    shift 2
    mkdir -p "$dst"
    for e in "$src"/* "$src"/.[!.]*; do
        [ -e "$e" ] || [ -L "$e" ] || continue
        name=${e##*/}
        for x in "$@"; do [ "$name" = "$x" ] && continue 2; done
        ln -s "$e" "$dst/$name"
    done
}
mirror /usr "$PREFIX" bin share
mirror /usr/bin "$PREFIX/bin" mariabackup
if [ "$TRACE" = 1 ]; then
    # The wrapper runs the tool under the name mariabackup (exec -a) and
    # copies its stderr to the trace; stdout is left alone (--stream data).
    mkdir -p "$WORK/trace"
    sed -e "s|@TRACE@|$WORK/trace|" -e "s|@TOOL@|$TOOL|" >"$PREFIX/bin/mariabackup" <<'WRAPPER'
#!/bin/bash
t=${MTR_TEST_NAME:-unknown}${MTR_COMBINATIONS:+,$MTR_COMBINATIONS}
f="@TRACE@/$t.log"
# Passwords are masked in the trace as innohot masks them in xtrabackup_info:
# --password=V, --pass=V, -pV, and the word after a bare --password/--pass.
shown=() mask=0
for a in "$@"; do
    if [ "$mask" = 1 ]; then shown+=(xxxxxxxx); mask=0; continue; fi
    case $a in
        --password=*|--pass=*|--loose-password=*|--loose_password=*) shown+=("${a%%=*}=xxxxxxxx") ;;
        --password|--pass) shown+=("$a"); mask=1 ;;
        --*) shown+=("$a") ;;
        -p?*) shown+=(-pxxxxxxxx) ;;
        *) shown+=("$a") ;;
    esac
done
{ printf '=== %s cwd=%s\n+ mariabackup' "$(date +%T)" "$PWD"; printf ' %q' "${shown[@]}"; echo; } >>"$f"
# stdout goes straight out through fd 3; stderr through the pipe to tee, which
# the pipeline waits for, so the log is complete before the exit line.
{ ( exec -a "$0" "@TOOL@" "$@" ) 2>&1 1>&3 3>&- | tee -a "$f" >&2; rc=${PIPESTATUS[0]}; } 3>&1
echo "=== exit $rc" >>"$f"
exit $rc
WRAPPER
    chmod +x "$PREFIX/bin/mariabackup"
else
    ln -s "$TOOL" "$PREFIX/bin/mariabackup"
fi
mirror /usr/share "$PREFIX/share" mysql
mirror /usr/share/mysql "$PREFIX/share/mysql" mysql-test
# A stale var/ in the packaged directory (from someone running mtr there) must
# not leak in: MTR would take it for ours.
mirror "$MTR_DIR" "$PREFIX/share/mysql/mysql-test" var

# The bindir MTR will compute, and the binary it will run as $XTRABACKUP.
XB=$PREFIX/bin/mariabackup
[ "$TRACE" = 1 ] || [ "$(readlink -f "$XB")" = "$(readlink -f "$TOOL")" ] ||
    die "scratch $XB does not lead to $TOOL"

# --- the skip list -----------------------------------------------------------
# Ours is "name  # reason"; MTR's --skip-test-list wants "suite.name : reason".
SKIPLIST=$WORK/skip-test-list
while IFS= read -r line || [ -n "$line" ]; do
    case $line in ''|'#'*) continue ;; esac
    name=$(printf '%s' "${line%%#*}" | tr -d '[:space:]')
    reason=$(printf '%s' "${line#*#}" | sed 's/^ *//')
    [ -n "$name" ] || continue
    case $line in *'#'*) ;; *) reason="on the skip list" ;; esac
    [ -f "$MTR_DIR/suite/mariabackup/${name#mariabackup.}.test" ] ||
        echo "warning: skip list names $name, which the suite does not have" >&2
    printf 'mariabackup.%s : %s\n' "${name#mariabackup.}" "$reason"
done <"$SKIPS" >"$SKIPLIST"

# --- run ---------------------------------------------------------------------
if [ "$REAL" = 1 ]; then what="the real mariabackup ($TOOL)"; else what="innohot ($TOOL)"; fi
echo "mariabackup suite with $what"
echo "  scratch prefix: $PREFIX (XTRABACKUP=$XB)"
echo "  MTR var dir:    $VARDIR"
echo "  MTR log:        $LOG"
echo "  skip list:      $(wc -l <"$SKIPLIST") tests from $SKIPS"

# --force: go on after a failure; --max-test-fail=0: never give up;
# --retry=0: a failure is a failure, not retried. Root needs nothing more: MTR
# starts mariadbd with --user=root itself, and a test that must not run as
# root skips itself.
# shellcheck disable=SC2206
MTR_ARGS=(--suite=mariabackup --parallel="$PARALLEL" --force --max-test-fail=0
          --retry=0 --vardir="$VARDIR" --skip-test-list="$SKIPLIST"
          ${MTR_OPTS:-})
START=$(date +%s)
# MTR exits non-zero when a test fails: that is a result, not a breakage.
trap - ERR
set +e
(cd "$PREFIX/share/mysql/mysql-test" &&
 perl ./mariadb-test-run.pl "${MTR_ARGS[@]}" ${TESTS[@]+"${TESTS[@]}"}) 2>&1 | tee "$LOG"
MTR_RC=${PIPESTATUS[0]}
set -e
trap 'echo "run-mariabackup-suite: failed at line $LINENO: $BASH_COMMAND" >&2; exit 2' ERR
END=$(date +%s)

# --- count -------------------------------------------------------------------
# MTR prints one line per test (and per combination):
#   mariabackup.huge_lsn 'strict_crc32'     w2 [ pass ]    1234
# A test can be reported twice (e.g. [ fail ] then a warnings check); it
# counts once, a failure winning.
RESULTS=$WORK/results
sed -nE "s/^(mariabackup\.[A-Za-z0-9_-]+)( '[^']*')?[[:space:]]+(w[0-9]+[[:space:]]+)?\[ (pass|fail|skipped|disabled|retry-pass|retry-fail) \].*/\1\2 \4/p" "$LOG" |
    awk '{ st = $NF; $NF = ""; sub(/ $/, ""); name = $0;
           if (!(name in s) || st == "fail") s[name] = st }
         END { for (n in s) print s[n] "\t" n }' | sort -k2 >"$RESULTS"
passed=$(grep -cE '^(pass|retry-pass)	' "$RESULTS" || true)
failed=$(grep -cE '^(fail|retry-fail)	' "$RESULTS" || true)
skipped=$(grep -cE '^(skipped|disabled)	' "$RESULTS" || true)

# MTR's own closing line ("Completed: ..."): without it MTR did not run to its
# end (its "*** ERROR: there were failing test cases" alone is normal).
if ! grep -qE '^Completed: ' "$LOG" || [ $((passed + failed + skipped)) = 0 ]; then
    echo "run-mariabackup-suite: MTR (exit $MTR_RC) did not complete the suite; see $LOG" >&2
    exit 2
fi

echo
echo "wall time: $((END - START)) s; MTR exit code $MTR_RC"
if [ "${KEEP_VARDIR:-0}" = 1 ]; then kept=" (whole var dir: $VARDIR)"; else kept=; fi
echo "MTR log: $LOG; var dir logs: $WORK/var$kept"
[ "$TRACE" = 0 ] || echo "mariabackup calls: $WORK/trace"
if [ "$failed" -gt 0 ]; then
    echo "failed tests:"
    grep -E '^(fail|retry-fail)	' "$RESULTS" | cut -f2 | sed 's/^/  /'
fi
echo "mariabackup suite: $passed passed, $failed failed, $skipped skipped"
exit 0
