//! On-disk formats as pure functions over byte slices: no I/O, no clock.
//!
//! Everything here is big-endian, as InnoDB writes it. Decoders never panic on
//! short or hostile input; they return [`FormatError`].

pub mod checksum;
pub mod delta;
pub mod mariadb;
pub mod mysql57;
pub mod page;
pub mod page_compressed;
pub mod xbstream;

/// A log sequence number: a byte position in the server's endless redo stream.
pub type Lsn = u64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("{what}: need {need} bytes, have {have}")]
    TooShort { what: &'static str, need: usize, have: usize },
    #[error("{what}: stored checksum {stored:#010x} but the bytes give {computed:#010x}")]
    BadChecksum { what: &'static str, stored: u32, computed: u32 },
    #[error(
        "redo log format {found} is not MySQL 5.7's format 1 (MySQL 8.0 writes 3+, MariaDB 10.8+ writes \"Phys\")"
    )]
    UnsupportedRedoFormat { found: u32 },
    #[error("no valid checkpoint in either slot of the redo header (both checksums wrong): the log header is damaged or not InnoDB")]
    NoValidCheckpoint,
    #[error("tablespace flags {flags:#x} give an unsupported page size ({detail})")]
    BadPageSize { flags: u32, detail: &'static str },
    #[error("{what}: {detail}")]
    Malformed { what: &'static str, detail: String },
}

pub(crate) fn be_u16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
pub(crate) fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
pub(crate) fn be_u64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}
pub(crate) fn put_u16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}
pub(crate) fn put_u64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_be_bytes());
}

pub(crate) fn need(what: &'static str, b: &[u8], n: usize) -> Result<(), FormatError> {
    if b.len() < n {
        Err(FormatError::TooShort { what, need: n, have: b.len() })
    } else {
        Ok(())
    }
}
