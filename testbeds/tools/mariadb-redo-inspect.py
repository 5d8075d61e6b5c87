#!/usr/bin/env python3
"""Inspect a MariaDB 10.8+ (format "Phys") redo log file, e.g. ib_logfile0.

Used to write testbeds/NOTES-mariadb-redo.md: it checks the header and
checkpoint CRCs and walks mini-transactions from an LSN, printing each mtr
(LSN, file offset, length, termination byte, CRC verdict) and its records.
No third-party modules: CRC-32C (Castagnoli) is computed here.

usage: mariadb-redo-inspect.py FILE [--from-lsn N] [--max-mtrs N] [--records]
       [--backup]   (termination bytes are expected to be 1: mariabackup copy)
"""
import argparse
import struct
import sys

_POLY = 0x82F63B78
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _POLY if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(buf, p):
    """MariaDB mlog_decode_varint: returns (value, bytes used)."""
    b = buf[p]
    if b < 0x80:
        return b, 1
    if b < 0xC0:
        return 0x80 + (((b & 0x3F) << 8) | buf[p + 1]), 2
    if b < 0xE0:
        return 0x4080 + (((b & 0x1F) << 16) | (buf[p + 1] << 8) | buf[p + 2]), 3
    if b < 0xF0:
        v = ((b & 0x0F) << 24) | (buf[p + 1] << 16) | (buf[p + 2] << 8) | buf[p + 3]
        return 0x204080 + v, 4
    if b == 0xF0:
        return 0x10204080 + struct.unpack(">I", buf[p + 1:p + 5])[0], 5
    raise ValueError("bad varint byte %#x" % b)


PAGE_TYPES = {0x00: "FREE_PAGE", 0x10: "INIT_PAGE", 0x20: "EXTENDED", 0x30: "WRITE",
              0x40: "MEMSET", 0x50: "MEMMOVE", 0x60: "RESERVED", 0x70: "OPTION"}
FILE_TYPES = {0x80: "FILE_CREATE", 0x90: "FILE_DELETE", 0xA0: "FILE_RENAME",
              0xB0: "FILE_MODIFY", 0xF0: "FILE_CHECKPOINT"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--from-lsn", type=int)
    ap.add_argument("--max-mtrs", type=int, default=20)
    ap.add_argument("--records", action="store_true")
    ap.add_argument("--backup", action="store_true")
    ap.add_argument("--stats", action="store_true", help="count record kinds (implies --records, quiet)")
    a = ap.parse_args()
    data = open(a.file, "rb").read()
    size = len(data)
    fmt, zero, first_lsn = struct.unpack(">IIQ", data[0:16])
    creator = data[16:48].rstrip(b"\0").decode("latin1")
    hcrc = struct.unpack(">I", data[508:512])[0]
    print("size=%d format=%#x @4=%d first_lsn=%d (%#x) creator=%r" % (size, fmt, zero, first_lsn, first_lsn, creator))
    print("header crc stored=%#010x computed=%#010x %s" % (hcrc, crc32c(data[0:508]), "OK" if hcrc == crc32c(data[0:508]) else "BAD"))
    print("header bytes [48,508) all zero: %s" % (data[48:508] == bytes(460)))
    best = None
    for off in (4096, 8192):
        if off + 64 > size:
            print("checkpoint @%d: beyond EOF" % off)
            continue
        blk = data[off:off + 64]
        cp, end = struct.unpack(">QQ", blk[0:16])
        stored = struct.unpack(">I", blk[60:64])[0]
        ok = stored == crc32c(blk[0:60])
        print("checkpoint @%d: lsn=%d (%#x) end_lsn=%d (%#x) [16,60) zero=%s crc=%#010x %s" % (
            off, cp, cp, end, end, blk[16:60] == bytes(44), stored, "OK" if ok else "BAD"))
        if ok and (best is None or cp > best[0]):
            best = (cp, end)
    cap = size - 12288
    lsn = a.from_lsn if a.from_lsn is not None else (best[0] if best else first_lsn)
    print("walking from lsn %d, capacity %d" % (lsn, cap))

    def off_of(l):
        return 12288 + (l - first_lsn) % cap if cap > 0 else None

    def seq_of(l):
        return 1 if ((l - first_lsn) // cap) % 2 == 0 else 0

    def rd(l, n):
        out = bytearray()
        while n:
            o = off_of(l)
            k = min(n, size - o)
            out += data[o:o + k]
            l += k
            n -= k
        return bytes(out)

    stats = {}
    quiet = a.stats
    if a.stats:
        a.records = True
    n = 0
    while n < a.max_mtrs:
        start = lsn
        if a.backup:
            # a backup copy never wraps: LSN l is at 12288 + (l - first_lsn)
            o = 12288 + (start - first_lsn)
            buf = data[o:o + (1 << 20)]
            if not buf:
                print("END at lsn %d (%#x): end of file" % (start, start))
                break
        else:
            buf = rd(start, min(cap, 1 << 20) if cap > 0 else 0)
        if not buf or buf[0] <= 1:
            print("END at lsn %d (%#x) off %d: byte %#x at mtr start" % (start, start, off_of(start), buf[0] if buf else -1))
            break
        p = 0
        recs = []
        while buf[p] > 1:
            b = buf[p]
            rlen = b & 0xF
            q = p + 1
            if rlen == 0:
                add, _ = varint(buf, q)
                rlen = add + 15
            body_start = q
            recs.append((p, b, buf[body_start:q + rlen]))
            p = q + rlen
        term = buf[p]
        stored = struct.unpack(">I", buf[p + 1:p + 5])[0]
        ok = stored == crc32c(buf[0:p])
        want = 1 if a.backup else seq_of(start + p)
        mlen = p + 5
        (lambda *x: None if quiet else print(*x))("mtr lsn=%d (%#x) off=%s len=%d recs=%d term=%d(expect %d) crc=%s" % (
            start, start, (12288 + start - first_lsn) if a.backup else off_of(start), mlen, len(recs), term, want, "OK" if ok else "BAD"))
        if not ok or term != want:
            print("  -> end of log (bad crc or termination byte)")
            break
        if a.records:
            got_page_op = False  # same_page only counts after a page record
            for (rp, b, body) in recs:
                t = b & 0x70
                hi = b & 0xF0
                if b & 0xF == 0:
                    # length = varint + 15, counted from the varint's start
                    _, k0 = varint(body, 0)
                    body = body[k0:]
                if (b & 0x80) and got_page_op:
                    key = PAGE_TYPES[t] + ("/%d" % body[0] if t == 0x20 and body else "")
                    stats[key] = stats.get(key, 0) + 1
                    if not quiet:
                        print("   +%d %s (same page) len=%d %s" % (rp, PAGE_TYPES[t], len(body), body[:12].hex()))
                    continue
                sp, k1 = varint(body, 0)
                pg, k2 = varint(body, k1)
                rest = body[k1 + k2:]
                if b & 0x80:
                    got_page_op = False
                    if hi == 0xF0 and len(rest) == 8:
                        extra = " lsn=%d" % struct.unpack(">Q", rest)[0]
                    else:
                        extra = " data=%r" % rest.decode("latin1")
                    key = FILE_TYPES.get(hi, "?%#x" % hi)
                    stats[key] = stats.get(key, 0) + 1
                    if not quiet:
                        print("   +%d %s(%#x) space=%d page=%d%s" % (rp, FILE_TYPES.get(hi, "?"), b, sp, pg, extra))
                else:
                    got_page_op = True
                    key = PAGE_TYPES[t] + ("/%d" % rest[0] if t == 0x20 and rest else "")
                    stats[key] = stats.get(key, 0) + 1
                    if not quiet:
                        print("   +%d %s space=%d page=%d len=%d %s" % (rp, PAGE_TYPES[t], sp, pg, len(rest), rest[:12].hex()))
        lsn = start + mlen
        n += 1
    print("stopped at lsn %d (%#x) after %d mtrs" % (lsn, lsn, n))
    if a.stats:
        for k in sorted(stats):
            print("  %-22s %d" % (k, stats[k]))


if __name__ == "__main__":
    sys.exit(main())
