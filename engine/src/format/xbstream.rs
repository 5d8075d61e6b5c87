//! xbstream, the peers' backup stream (`--stream=xbstream`, read by
//! `mbstream -x` / `xbstream -x`): a sequence of chunks with no header of
//! its own. Unlike the InnoDB formats, its integers are little-endian
//! (docs/FORMATS.md §7a).
//!
//! A payload chunk: magic `XBSTCK01`, flags u8, type `'P'`, path length u32,
//! the path (no NUL, `/` separators, shorter than 512 bytes), payload length
//! u64, the payload's offset in the destination file u64, zlib's CRC-32 of
//! the payload u32, the payload. An end-of-file chunk: magic, flags, `'E'`,
//! path length, path, and nothing more. A reader must reject a chunk whose
//! type it does not know unless its flags mark it ignorable.

use super::FormatError;

pub const MAGIC: &[u8; 8] = b"XBSTCK01";
/// Paths are shorter than this (the readers' fixed buffer).
pub const MAX_PATH: usize = 512;
/// Flag bit: a reader that does not know the chunk's type may skip it.
pub const FLAG_IGNORABLE: u8 = 0x01;
const TYPE_PAYLOAD: u8 = b'P';
const TYPE_EOF: u8 = b'E';
/// magic, flags, type, path length.
const PREFIX: usize = 8 + 1 + 1 + 4;
/// payload length, offset, CRC-32.
const PAYLOAD_FIELDS: usize = 8 + 8 + 4;

/// One chunk read from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// `data` goes at `offset` of the file at `path`.
    Payload { path: &'a str, offset: u64, data: &'a [u8] },
    /// The file at `path` is complete.
    Eof { path: &'a str },
    /// A chunk of a type this reader does not know, marked ignorable.
    Skipped { path: &'a str },
}

/// The header of a payload chunk carrying `data` at `offset` of `path`; the
/// payload follows it unchanged (so a caller writes `data` without copying it).
pub fn payload_header(path: &str, offset: u64, data: &[u8]) -> Result<Vec<u8>, FormatError> {
    let mut h = prefix(path, TYPE_PAYLOAD)?;
    h.extend_from_slice(&(data.len() as u64).to_le_bytes());
    h.extend_from_slice(&offset.to_le_bytes());
    h.extend_from_slice(&crc32(data).to_le_bytes());
    Ok(h)
}

/// The chunk that ends the file at `path`.
pub fn eof_chunk(path: &str) -> Result<Vec<u8>, FormatError> {
    prefix(path, TYPE_EOF)
}

fn prefix(path: &str, kind: u8) -> Result<Vec<u8>, FormatError> {
    check_path(path)?;
    let mut h = Vec::with_capacity(PREFIX + path.len() + PAYLOAD_FIELDS);
    h.extend_from_slice(MAGIC);
    h.push(0);
    h.push(kind);
    h.extend_from_slice(&(path.len() as u32).to_le_bytes());
    h.extend_from_slice(path.as_bytes());
    Ok(h)
}

/// A path a stream may carry: relative, `/`-separated, no `..`, no NUL,
/// shorter than [`MAX_PATH`]. Checked on both sides: a reader that wrote
/// `../x` would write outside its directory.
pub fn check_path(path: &str) -> Result<(), FormatError> {
    let bad = |detail: String| Err(FormatError::Malformed { what: "xbstream path", detail });
    if path.is_empty() || path.len() >= MAX_PATH {
        return bad(format!("{} bytes long (1 to {} allowed): {path:?}", path.len(), MAX_PATH - 1));
    }
    if path.starts_with('/') || path.contains('\0') || path.split('/').any(|c| c == ".." || c.is_empty()) {
        return bad(format!("{path:?} is absolute, empty in a part, has a NUL or goes up with .."));
    }
    Ok(())
}

/// zlib's CRC-32 (the one xbstream stores).
pub fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// The chunk at the start of `buf` and its length in bytes; `Ok(None)` when
/// `buf` ends inside it (read more). Refuses a bad magic, a path that
/// [`check_path`] refuses, a payload whose CRC-32 differs from the stored one,
/// and a type it does not know unless the chunk is marked ignorable.
pub fn decode(buf: &[u8]) -> Result<Option<(Chunk<'_>, usize)>, FormatError> {
    if buf.len() < PREFIX {
        return Ok(None);
    }
    if &buf[..8] != MAGIC {
        return Err(FormatError::Malformed {
            what: "xbstream chunk",
            detail: format!("magic {:?} is not XBSTCK01: not an xbstream, or a chunk cut short before", &buf[..8]),
        });
    }
    let (flags, kind) = (buf[8], buf[9]);
    let path_len = u32::from_le_bytes(buf[10..14].try_into().expect("4 bytes")) as usize;
    if path_len >= MAX_PATH {
        return Err(FormatError::Malformed {
            what: "xbstream chunk",
            detail: format!("path length {path_len} (at most {})", MAX_PATH - 1),
        });
    }
    let Some(path_bytes) = buf.get(PREFIX..PREFIX + path_len) else { return Ok(None) };
    let path = std::str::from_utf8(path_bytes)
        .map_err(|_| FormatError::Malformed { what: "xbstream path", detail: format!("not UTF-8: {path_bytes:?}") })?;
    check_path(path)?;
    let at = PREFIX + path_len;
    match kind {
        TYPE_EOF => Ok(Some((Chunk::Eof { path }, at))),
        TYPE_PAYLOAD => {
            let Some(fields) = buf.get(at..at + PAYLOAD_FIELDS) else { return Ok(None) };
            let len = u64::from_le_bytes(fields[..8].try_into().expect("8 bytes"));
            let offset = u64::from_le_bytes(fields[8..16].try_into().expect("8 bytes"));
            let stored = u32::from_le_bytes(fields[16..20].try_into().expect("4 bytes"));
            let start = at + PAYLOAD_FIELDS;
            let Some(end) = usize::try_from(len).ok().and_then(|l| start.checked_add(l)) else {
                return Err(FormatError::Malformed {
                    what: "xbstream chunk",
                    detail: format!("payload length {len} of {path}"),
                });
            };
            let Some(data) = buf.get(start..end) else { return Ok(None) };
            let computed = crc32(data);
            if computed != stored {
                return Err(FormatError::Malformed {
                    what: "xbstream chunk",
                    detail: format!(
                        "{path} at offset {offset}: stored CRC-32 {stored:#010x} but the payload gives \
                         {computed:#010x} (the stream was damaged in transit)"
                    ),
                });
            }
            Ok(Some((Chunk::Payload { path, offset, data }, end)))
        }
        _ if flags & FLAG_IGNORABLE != 0 => {
            // An ignorable chunk of an unknown type carries the payload fields too.
            let Some(fields) = buf.get(at..at + PAYLOAD_FIELDS) else { return Ok(None) };
            let len = u64::from_le_bytes(fields[..8].try_into().expect("8 bytes"));
            let end = usize::try_from(len).ok().and_then(|l| (at + PAYLOAD_FIELDS).checked_add(l));
            match end {
                Some(end) if end <= buf.len() => Ok(Some((Chunk::Skipped { path }, end))),
                Some(_) => Ok(None),
                None => Err(FormatError::Malformed { what: "xbstream chunk", detail: format!("length {len}") }),
            }
        }
        other => Err(FormatError::Malformed {
            what: "xbstream chunk",
            detail: format!("type {:?} of {path} is unknown and not marked ignorable", other as char),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn payload(path: &str, offset: u64, data: &[u8]) -> Vec<u8> {
        let mut c = payload_header(path, offset, data).unwrap();
        c.extend_from_slice(data);
        c
    }

    #[test]
    fn a_payload_chunk_is_laid_out_byte_for_byte() {
        let c = payload("db/t.ibd", 0x0102, b"abc");
        let mut want = b"XBSTCK01".to_vec();
        want.extend_from_slice(&[0, b'P', 8, 0, 0, 0]);
        want.extend_from_slice(b"db/t.ibd");
        want.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0x02, 0x01, 0, 0, 0, 0, 0, 0]);
        // zlib's crc32("abc") = 0x352441c2, stored little-endian.
        want.extend_from_slice(&[0xc2, 0x41, 0x24, 0x35]);
        want.extend_from_slice(b"abc");
        assert_eq!(c, want);
        assert_eq!(crc32(b"123456789"), 0xcbf4_3926, "the check value of CRC-32/ISO-HDLC");
        let e = eof_chunk("x").unwrap();
        assert_eq!(e, [&b"XBSTCK01"[..], &[0, b'E', 1, 0, 0, 0], b"x"].concat());
    }

    #[test]
    fn decoding_needs_the_whole_chunk_and_refuses_damage() {
        let c = payload("a/b", 7, b"hello");
        for cut in 0..c.len() {
            assert_eq!(decode(&c[..cut]), Ok(None), "cut at {cut}");
        }
        assert_eq!(decode(&c), Ok(Some((Chunk::Payload { path: "a/b", offset: 7, data: b"hello" }, c.len()))));
        let mut flipped = c.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let e = decode(&flipped).unwrap_err().to_string();
        assert!(e.contains("a/b at offset 7") && e.contains("damaged in transit"), "{e}");
        let mut magic = c.clone();
        magic[0] = b'Y';
        assert!(decode(&magic).unwrap_err().to_string().contains("not XBSTCK01"));
        let mut unknown = eof_chunk("z").unwrap();
        unknown[9] = b'Q';
        assert!(decode(&unknown).unwrap_err().to_string().contains("unknown and not marked ignorable"));
    }

    #[test]
    fn an_ignorable_unknown_chunk_is_skipped_whole() {
        let mut c = payload("s", 0, b"xyz");
        c[8] = FLAG_IGNORABLE;
        c[9] = b'S';
        assert_eq!(decode(&c), Ok(Some((Chunk::Skipped { path: "s" }, c.len()))));
    }

    #[test]
    fn paths_that_could_escape_the_directory_are_refused_both_ways() {
        for bad in ["", "/etc/passwd", "../x", "a/../../x", "a//b", "a/", "nul\0x", &"p".repeat(512)] {
            assert!(payload_header(bad, 0, b"").is_err(), "{bad:?}");
            assert!(eof_chunk(bad).is_err(), "{bad:?}");
        }
        let mut sneaky = eof_chunk("ab").unwrap();
        sneaky[14..16].copy_from_slice(b"..");
        assert!(decode(&sneaky).is_err(), "a reader refuses .. too");
        assert!(check_path("db/t#P#p0.ibd").is_ok() && check_path(&"p".repeat(511)).is_ok());
    }

    proptest! {
        #[test]
        fn chunks_round_trip(path in "[a-z0-9_#@.-]{1,20}(/[a-z0-9_#@-]{1,20}){0,2}", offset: u64,
                             data in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assume!(check_path(&path).is_ok());
            let mut stream = payload(&path, offset, &data);
            stream.extend(eof_chunk(&path).unwrap());
            let (first, used) = decode(&stream).unwrap().unwrap();
            prop_assert_eq!(first, Chunk::Payload { path: &path, offset, data: &data });
            let (second, rest) = decode(&stream[used..]).unwrap().unwrap();
            prop_assert_eq!(second, Chunk::Eof { path: &path });
            prop_assert_eq!(used + rest, stream.len());
        }

        #[test]
        fn hostile_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut b = MAGIC.to_vec();
            b.extend(bytes);
            let _ = decode(&b);
        }
    }
}
