//! Framing of one mini-transaction (mtr): records, a termination byte that is
//! the sequence bit of its LSN, and a CRC-32C of the records.

use super::{encode_record, read_varint, Record, Ring, VarintError};
use crate::format::checksum::crc32c;
use crate::format::{be_u32, FormatError, Lsn};

/// The largest mtr the server writes or accepts (`recv_sys_t::MTR_SIZE_MAX`).
pub const MTR_SIZE_MAX: usize = 1 << 20;
/// Termination byte and CRC-32C after the records of an unencrypted mtr.
pub const MTR_TRAILER: usize = 5;
/// A FILE_CHECKPOINT mtr: type, two zero page-id bytes, LSN, termination, CRC.
pub const SIZE_OF_FILE_CHECKPOINT: usize = 16;
/// The longest byte run a reader may need to hold one whole mtr: records of
/// up to 1 MiB, the last of which may be up to 1 MiB long itself, plus the trailer.
pub const MAX_MTR_SPAN: usize = 2 * MTR_SIZE_MAX + 64;

/// The byte length of the record starting at `b[0]` (header byte, length varint and
/// payload), as the framing pass of recovery computes it.
fn record_len(b: &[u8]) -> Result<usize, RecordLenError> {
    let first = b[0];
    let nibble = usize::from(first & 0x0F);
    if nibble != 0 {
        return Ok(1 + nibble);
    }
    match read_varint(&b[1..]) {
        // The varint counts the bytes after the header byte (itself included) minus 15.
        Ok((add, _)) if (add as usize) < MTR_SIZE_MAX => Ok(1 + add as usize + 15),
        Ok(_) | Err(VarintError::Invalid) => Err(RecordLenError::TooLong),
        Err(VarintError::Truncated) => Err(RecordLenError::Truncated),
    }
}

enum RecordLenError {
    Truncated,
    TooLong,
}

/// Why no mtr starts at a position: the reader has reached the end of the log (or, if
/// the server is known to have written there, the log was overwritten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtrEnd {
    /// The first byte is 0 or 1: nothing was ever written here, or only padding.
    Marker(u8),
    /// The termination byte is the sequence bit of another lap: stale bytes.
    SequenceBit { expected: u8, found: u8 },
    /// The CRC-32C does not match: stale bytes, or an mtr being written.
    Checksum { stored: u32, computed: u32 },
    /// The records run past 1 MiB (or a record length is impossible): not an mtr.
    TooLong,
}

impl std::fmt::Display for MtrEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MtrEnd::Marker(b) => write!(f, "an end marker byte {b}: nothing was written there"),
            MtrEnd::SequenceBit { expected, found } => {
                write!(f, "sequence bit {found} where {expected} belongs: bytes of another lap")
            }
            MtrEnd::Checksum { stored, computed } => {
                write!(f, "CRC-32C {stored:#010x} stored, {computed:#010x} computed: the bytes changed")
            }
            MtrEnd::TooLong => write!(f, "records longer than any mini-transaction: not a mini-transaction"),
        }
    }
}

/// What starts at a position of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtrScan {
    /// A whole, CRC-valid mtr: `len` bytes in all, of which `records_len` are records;
    /// the termination byte is at `records_len`.
    Mtr {
        len: usize,
        records_len: usize,
    },
    End(MtrEnd),
    /// The bytes end before the mtr does: look again with more bytes.
    Incomplete,
}

/// Frames the mtr at the start of `buf`, which holds the log from `lsn` on in LSN order
/// (the caller joins the two pieces of a run that crosses the end of the ring). The
/// termination byte must be the ring's sequence bit at its own LSN.
pub fn scan_mtr(buf: &[u8], lsn: Lsn, ring: &Ring) -> MtrScan {
    let Some(&first) = buf.first() else { return MtrScan::Incomplete };
    if first <= 1 {
        return MtrScan::End(MtrEnd::Marker(first));
    }
    let mut at = 0usize;
    loop {
        if at >= MTR_SIZE_MAX {
            return MtrScan::End(MtrEnd::TooLong);
        }
        let Some(&b) = buf.get(at) else { return MtrScan::Incomplete };
        if b <= 1 {
            break;
        }
        match record_len(&buf[at..]) {
            Ok(n) => at += n,
            Err(RecordLenError::Truncated) => return MtrScan::Incomplete,
            Err(RecordLenError::TooLong) => return MtrScan::End(MtrEnd::TooLong),
        }
    }
    let records_len = at;
    let expected = ring.sequence_bit(lsn + records_len as u64);
    if buf[records_len] != expected {
        return MtrScan::End(MtrEnd::SequenceBit { expected, found: buf[records_len] });
    }
    let Some(crc) = buf.get(records_len + 1..records_len + MTR_TRAILER) else { return MtrScan::Incomplete };
    let stored = be_u32(crc, 0);
    let computed = crc32c(&buf[..records_len]);
    if stored != computed {
        return MtrScan::End(MtrEnd::Checksum { stored, computed });
    }
    MtrScan::Mtr { len: records_len + MTR_TRAILER, records_len }
}

/// The records of one mtr, then the termination byte and the CRC-32C of the records.
pub fn seal_mtr(mut records: Vec<u8>, termination: u8) -> Vec<u8> {
    let crc = crc32c(&records);
    records.push(termination);
    records.extend_from_slice(&crc.to_be_bytes());
    records
}

/// A whole mtr to be stored at `lsn` of `ring`: records, the sequence bit of the
/// termination byte's LSN, CRC-32C.
pub fn encode_mtr(recs: &[Record<'_>], lsn: Lsn, ring: &Ring) -> Result<Vec<u8>, FormatError> {
    let mut body = Vec::new();
    for r in recs {
        encode_record(&mut body, r)?;
    }
    if body.is_empty() {
        return Err(FormatError::Malformed { what: "MariaDB redo mtr", detail: "an mtr needs a record".into() });
    }
    if body.len() >= MTR_SIZE_MAX {
        return Err(FormatError::Malformed {
            what: "MariaDB redo mtr",
            detail: format!("{} bytes of records exceed the 1 MiB limit", body.len()),
        });
    }
    let bit = ring.sequence_bit(lsn + body.len() as u64);
    Ok(seal_mtr(body, bit))
}
