//! `page_zip_apply_log()`: the modification log of a compressed page.

use super::fields::ZipIndex;
use super::rec::{layout, Layout};
use super::unzip::{layout_at, put16, Kind};
use super::*;

struct Log<'a> {
    zip: &'a [u8],
    at: usize,
    end: usize,
    entry: usize,
}

impl Log<'_> {
    fn err(&self, what: impl Into<String>) -> ZipError {
        ZipError::Mlog { at: self.entry, what: what.into() }
    }

    fn byte(&mut self) -> Result<u8> {
        let b = *self.zip.get(self.at).ok_or_else(|| self.err("runs off the page"))?;
        self.at += 1;
        Ok(b)
    }

    /// Copies `len` logged bytes to `frame[to..]`.
    fn copy(&mut self, frame: &mut [u8], to: usize, len: usize) -> Result<()> {
        if self.at + len >= self.end || to + len > frame.len() {
            return Err(self.err(format!("{len} data bytes do not fit")));
        }
        frame[to..to + len].copy_from_slice(&self.zip[self.at..self.at + len]);
        self.at += len;
        Ok(())
    }
}

/// Entries of a modification log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogCounts {
    /// Records written (inserted or updated).
    pub written: usize,
    /// Records whose data was cleared (deleted to the free list).
    pub cleared: usize,
}

/// Applies the log starting at `at` (its data must end before `end`) to the
/// records `recs`; the offset of its end marker and what it held.
pub fn apply_log(
    zip: &[u8],
    frame: &mut [u8],
    at: usize,
    end: usize,
    recs: &[usize],
    ix: &ZipIndex,
    mut hs: usize,
) -> Result<(usize, LogCounts)> {
    let kind = Kind::of(ix);
    let mut counts = LogCounts::default();
    let node = kind == Kind::NodePtr;
    let mut log = Log { zip, at, end, entry: at };
    loop {
        log.entry = log.at;
        let mut val = usize::from(log.byte()?);
        if val == 0 {
            return Ok((log.entry, counts));
        }
        if val & 0x80 != 0 {
            val = (val & 0x7f) << 8 | usize::from(log.byte()?);
            if val == 0 {
                return Err(log.err("invalid entry 0x8000"));
            }
        }
        if log.at >= end {
            return Err(log.err("runs into the uncompressed trailer"));
        }
        let idx = val >> 1;
        if idx == 0 || idx > recs.len() {
            return Err(log.err(format!("heap_no {} beyond PAGE_N_HEAP {}", idx + 1, recs.len() + 2)));
        }
        let rec = recs[idx - 1];
        let rec_hs = (idx + 1) << 3 | (hs & 7);
        if rec_hs > hs {
            return Err(log.err(format!("heap_no {} skips heap_no {}", idx + 1, hs >> 3)));
        }
        if rec_hs == hs {
            if val & 1 != 0 {
                return Err(log.err(format!("clears heap_no {} that does not exist yet", idx + 1)));
            }
            hs += 8;
        }
        put16(frame, rec - 4, rec_hs as u16);
        if val & 1 != 0 {
            let lay = layout_at(frame, recs, idx - 1, ix, node)?;
            frame[rec..rec + lay.data].fill(0);
            counts.cleared += 1;
            continue;
        }
        let lay = layout(ix, node, |i| zip.get(log.at + i).copied()).ok_or_else(|| log.err("unreadable header"))?;
        if rec < lay.extra + PAGE_ZIP_START || rec + lay.data > frame.len() - 8 || (node && lay.data < NODE_PTR_SIZE) {
            return Err(log.err(format!("record of {}+{} bytes at {rec} does not fit", lay.extra, lay.data)));
        }
        for i in 0..lay.extra - 5 {
            frame[rec - 6 - i] = log.byte()?;
        }
        write_data(&mut log, frame, rec, &lay, kind)?;
        counts.written += 1;
    }
}

/// The data bytes of a logged record, but the uncompressed columns.
fn write_data(log: &mut Log, frame: &mut [u8], rec: usize, lay: &Layout, kind: Kind) -> Result<()> {
    if lay.any_ext() {
        let Kind::Clust(trx) = kind else {
            return Err(log.err("external columns outside a clustered leaf page"));
        };
        return write_ext(log, frame, rec, lay, trx);
    }
    match kind {
        Kind::NodePtr => log.copy(frame, rec, lay.data - NODE_PTR_SIZE),
        Kind::Sec => log.copy(frame, rec, lay.data),
        Kind::Clust(trx) => {
            let f = lay.fields.get(trx).ok_or_else(|| log.err("no DB_TRX_ID field"))?;
            if f.len < TRX_ROLL_LEN || log.at + f.start >= log.end {
                return Err(log.err(format!("DB_TRX_ID field of {} bytes at {}", f.len, f.start)));
            }
            log.copy(frame, rec, f.start)?;
            let b = f.start + TRX_ROLL_LEN;
            log.copy(frame, rec + b, lay.data - b)
        }
    }
}

/// `page_zip_apply_log_ext()`: a record with externally stored columns.
fn write_ext(log: &mut Log, frame: &mut [u8], rec: usize, lay: &Layout, trx: usize) -> Result<()> {
    let mut next = rec;
    for (i, f) in lay.fields.iter().enumerate() {
        let dst = rec + f.start;
        if i == trx {
            if dst < next || log.at + (dst - next) >= log.end || f.len < TRX_ROLL_LEN || f.ext {
                return Err(log.err(format!("DB_TRX_ID field of {} bytes at {}", f.len, f.start)));
            }
            log.copy(frame, next, dst - next)?;
            next = dst + TRX_ROLL_LEN;
        } else if f.ext {
            if f.len < EXTERN_REF_SIZE || dst + f.len < next + EXTERN_REF_SIZE {
                return Err(log.err(format!("external field of {} bytes at {}", f.len, f.start)));
            }
            let len = dst + f.len - EXTERN_REF_SIZE - next;
            log.copy(frame, next, len)?;
            next += len + EXTERN_REF_SIZE;
        }
    }
    let end = rec + lay.data;
    if end < next {
        return Err(log.err("fields overlap"));
    }
    log.copy(frame, next, end - next)
}
