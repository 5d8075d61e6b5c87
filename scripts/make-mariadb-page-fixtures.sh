#!/usr/bin/env bash
# Make the real MariaDB tablespace samples in engine/tests/fixtures/mariadb/.
#
# Starts throwaway mariadbd servers (--no-defaults, --skip-networking, private
# temporary datadirs, run as root with --user=root), creates tables of each
# storage kind, inserts a few thousand rows, lets the server write every page
# to disk, shuts it down cleanly and keeps the first few whole pages (page 0
# included) of each table's .ibd.
#
# Usage (as root):  scripts/make-mariadb-page-fixtures.sh [OUTDIR]
# OUTDIR defaults to engine/tests/fixtures/mariadb next to this script.
# Set KEEP_WORK=1 to keep the temporary datadirs for a look afterwards.
#
# The samples differ from run to run (LSNs, space ids, timestamps); what is
# stable is their kind, which the checks at the end of this script verify:
# page size and checksum format from the FSP flags, page_compressed pages
# carrying the algorithm they were written with, index pages holding rows.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../engine/tests/fixtures/mariadb}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

if [ "$(id -u)" -ne 0 ]; then
    echo "make-mariadb-page-fixtures: run as root (mariadbd --user=root)" >&2
    exit 1
fi
PATH="$PATH:/usr/sbin:/usr/local/sbin"
for b in mariadbd mariadb-install-db mariadb xxd dd; do
    command -v "$b" >/dev/null || { echo "make-mariadb-page-fixtures: $b not found" >&2; exit 1; }
done

work="$(mktemp -d /tmp/innohot-fixtures.XXXXXX)"
running=()

cleanup() {
    local name pid
    for name in "${running[@]+"${running[@]}"}"; do
        pid="$(cat "$work/$name/mariadbd.pid" 2>/dev/null || true)"
        [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
    done
    if [ "${KEEP_WORK:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# A keys file for file_key_management: key id 1 and 2, 256-bit keys.
keys="$work/keys.txt"
printf '1;%s\n2;%s\n' \
    000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f \
    f0e0d0c0b0a090807060504030201000f1e1d1c1b1a191817161514131211101 >"$keys"
ENCRYPTION=(--plugin-load-add=file_key_management "--file-key-management-filename=$keys")
PROVIDERS=(--plugin-load-add=provider_lz4 --plugin-load-add=provider_lzo --plugin-load-add=provider_lzma
    --plugin-load-add=provider_bzip2 --plugin-load-add=provider_snappy)

# start NAME OPTION...: install a datadir with OPTIONs and start a server on it.
start() {
    local name="$1"
    shift
    local d="$work/$name"
    mkdir -p "$d/tmp"
    printf '%s\n' "$@" >"$d/options"
    if ! mariadb-install-db --no-defaults --datadir="$d/data" --user=root \
        --auth-root-authentication-method=normal --skip-test-db --tmpdir="$d/tmp" "$@" \
        >"$d/install.log" 2>&1; then
        tail -n 30 "$d/install.log" >&2
        exit 1
    fi
    mariadbd --no-defaults --datadir="$d/data" --socket="$d/sock" --skip-networking --user=root \
        --log-error="$d/error.log" --pid-file="$d/pid" --tmpdir="$d/tmp" "$@" >"$d/out.log" 2>&1 &
    echo $! >"$d/mariadbd.pid"
    running+=("$name")
    local i
    for i in $(seq 1 600); do # a real server starting: poll up to 60 s
        if [ -S "$d/sock" ] && sql "$name" "SELECT 1" >/dev/null 2>&1; then
            echo "started $name ($(sql "$name" "SELECT VERSION()"))"
            return 0
        fi
        if ! kill -0 "$(cat "$d/mariadbd.pid")" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "server $name did not start:" >&2
    tail -n 30 "$d/error.log" >&2
    exit 1
}

# sql NAME STATEMENT: run STATEMENT on server NAME, print the rows tab-separated.
sql() {
    mariadb --no-defaults --socket="$work/$1/sock" --user=root -N -B -e "$2"
}

# flush NAME: have the server write every dirty page, wait until it has.
flush() {
    local name="$1" i dirty
    sql "$name" "SET GLOBAL innodb_max_dirty_pages_pct_lwm=0.001; SET GLOBAL innodb_max_dirty_pages_pct=0"
    for i in $(seq 1 600); do # the page cleaner needs real time: poll up to 60 s
        dirty="$(sql "$name" "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | cut -f2)"
        [ "$dirty" = 0 ] && return 0
        sleep 0.1
    done
    echo "server $name still has $dirty dirty pages after 60 s" >&2
    exit 1
}

# stop NAME: clean shutdown (every page written, files closed).
stop() {
    local name="$1" pid
    pid="$(cat "$work/$name/mariadbd.pid")"
    sql "$name" "SET GLOBAL innodb_fast_shutdown=0; SHUTDOWN"
    while kill -0 "$pid" 2>/dev/null; do # the server is shutting down
        sleep 0.1
    done
    local left=() r
    for r in "${running[@]+"${running[@]}"}"; do
        [ "$r" = "$name" ] || left+=("$r")
    done
    running=("${left[@]+"${left[@]}"}")
    echo "stopped $name"
}

# table NAME TABLE OPTIONS: create fx.TABLE with table OPTIONS and fill it
# with 3000 rows (compressible text, so page compression has work to do).
table() {
    local name="$1" t="$2" opts="$3"
    sql "$name" "CREATE DATABASE IF NOT EXISTS fx;
        CREATE TABLE fx.$t (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, v VARCHAR(200) NOT NULL, KEY k (k))
            ENGINE=InnoDB $opts;
        INSERT INTO fx.$t SELECT seq, seq MOD 97,
            CONCAT('row ', seq, ' ', REPEAT(CHAR(97 + seq MOD 26), 20 + seq MOD 40), ' of the fixture table')
            FROM fx.seq_1_to_3000;"
}

# keep NAME TABLE FILE PHYSICAL_PAGE_SIZE PAGES: the first PAGES pages of fx/TABLE.ibd.
keep() {
    local name="$1" t="$2" file="$3" psize="$4" pages="$5"
    dd if="$work/$name/data/fx/$t.ibd" of="$out/$file" bs="$psize" count="$pages" status=none
    local got
    got="$(stat -c %s "$out/$file")"
    if [ "$got" -ne $((psize * pages)) ]; then
        echo "$file: $got bytes, expected $pages pages of $psize" >&2
        exit 1
    fi
}

# be16/be32/be64 FILE OFFSET: big-endian integer at OFFSET.
be() { xxd -s "$2" -l "$3" -p "$1" | tr -d '\n'; }
be16() { echo $((16#$(be "$1" "$2" 2))); }
be32() { echo $((16#$(be "$1" "$2" 4))); }
be64() { echo $((16#$(be "$1" "$2" 8))); }

# --- full_crc32 servers of every page size -----------------------------------
for ps in 4k 8k 32k 64k; do
    start "fc$ps" "--innodb-page-size=$ps"
    table "fc$ps" t ""
    stop "fc$ps"
done
keep fc4k t full_crc32_4k.ibd 4096 8
keep fc8k t full_crc32_8k.ibd 8192 8
keep fc32k t full_crc32_32k.ibd 32768 6
keep fc64k t full_crc32_64k.ibd 65536 5

# --- default 16k full_crc32 server: plain, ROW_FORMAT=COMPRESSED,
#     PAGE_COMPRESSED (algorithm recorded in the tablespace flags), encrypted --
start fc16k "${PROVIDERS[@]}" "${ENCRYPTION[@]}"
table fc16k t ""
for kbs in 1 2 4 8 16; do
    table fc16k "zip$kbs" "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=$kbs"
done
for algo in zlib lz4; do
    sql fc16k "SET GLOBAL innodb_compression_algorithm=$algo"
    table fc16k "pc_$algo" "PAGE_COMPRESSED=1"
done
table fc16k enc "ENCRYPTED=YES ENCRYPTION_KEY_ID=1"
stop fc16k
keep fc16k t full_crc32_16k.ibd 16384 8
for kbs in 1 2 4 8 16; do
    keep fc16k "zip$kbs" "zip_kbs$kbs.ibd" $((kbs * 1024)) 8
done
keep fc16k pc_zlib page_compressed_full_crc32_zlib.ibd 16384 8
keep fc16k pc_lz4 page_compressed_full_crc32_lz4.ibd 16384 8
keep fc16k enc encrypted_full_crc32.ibd 16384 8

# --- crc32 server: plain, PAGE_COMPRESSED with each algorithm, encrypted ------
# With the crc32 format the algorithm is not in the tablespace: each page is
# compressed with the global innodb_compression_algorithm of the moment it
# is written. So: set the algorithm, fill that table, write every dirty page.
start crc "--innodb-checksum-algorithm=crc32" "${PROVIDERS[@]}" "${ENCRYPTION[@]}"
table crc t ""
ALGOS=(zlib lz4 lzo lzma bzip2 snappy)
for algo in "${ALGOS[@]}"; do
    sql crc "SET GLOBAL innodb_compression_algorithm=$algo"
    table crc "pc_$algo" "PAGE_COMPRESSED=1"
    flush crc
done
table crc enc "ENCRYPTED=YES ENCRYPTION_KEY_ID=1"
stop crc
keep crc t crc32_16k.ibd 16384 8
for algo in "${ALGOS[@]}"; do
    keep crc "pc_$algo" "page_compressed_crc32_$algo.ibd" 16384 8
done
keep crc enc encrypted_crc32.ibd 16384 8

# --- checks and a summary ------------------------------------------------------
fail() {
    echo "CHECK FAILED: $*" >&2
    exit 1
}

# Page types: 0x45bf index, 0x8632 page_compressed (crc32 format),
# 0x9219 page_compressed+encrypted; full_crc32 page_compressed pages have
# bit 15 of the page type set.
algo_number() {
    case "$1" in
        zlib) echo 1 ;; lz4) echo 2 ;; lzo) echo 3 ;; lzma) echo 4 ;; bzip2) echo 5 ;; snappy) echo 6 ;;
    esac
}

echo
echo "| file | physical page size | FSP flags | pages | page types (page:type) |"
echo "|---|---|---|---|---|"
for f in "$out"/*.ibd; do
    name="$(basename "$f")"
    size="$(stat -c %s "$f")"
    case "$name" in
        full_crc32_4k*) psize=4096 ;; full_crc32_8k*) psize=8192 ;; full_crc32_32k*) psize=32768 ;;
        full_crc32_64k*) psize=65536 ;; zip_kbs*) k="${name#zip_kbs}"; psize=$((${k%.ibd} * 1024)) ;;
        *) psize=16384 ;;
    esac
    pages=$((size / psize))
    flags="$(be "$f" 54 4)"
    [ "$(be32 "$f" 4)" = 0 ] || fail "$name: page 0 has page number $(be32 "$f" 4)"
    types=""
    index_pages=0
    compressed=0
    for ((p = 0; p < pages; p++)); do
        off=$((p * psize))
        ty="$(be "$f" $((off + 24)) 2)"
        types="$types $p:$ty"
        case "$ty" in
            45bf) index_pages=$((index_pages + 1)) ;;
        esac
        case "$name" in
            page_compressed_crc32_*)
                if [ "$ty" = 8632 ]; then
                    algo="${name#page_compressed_crc32_}"
                    algo="${algo%.ibd}"
                    got="$(be64 "$f" $((off + 26)))"
                    [ "$got" = "$(algo_number "$algo")" ] ||
                        fail "$name page $p: algorithm $got, expected $(algo_number "$algo") ($algo)"
                    compressed=$((compressed + 1))
                fi
                ;;
            page_compressed_full_crc32_*)
                if [ $((16#$ty & 0x8000)) -ne 0 ]; then
                    compressed=$((compressed + 1))
                fi
                ;;
        esac
    done
    case "$name" in
        page_compressed_*) [ "$compressed" -ge 3 ] || fail "$name: only $compressed compressed pages:$types" ;;
        encrypted_*) ;;
        *) [ "$index_pages" -ge 2 ] || fail "$name: only $index_pages index pages:$types" ;;
    esac
    echo "| $name | $psize | 0x$flags | $pages |$types |"
done
echo
du -cb "$out"/*.ibd | tail -n 1
echo "mariadbd: $(mariadbd --version)"
