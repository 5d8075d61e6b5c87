//! Placing the inflated record bytes in the frame, record by record in heap
//! order, the way `page_zip_decompress_{node_ptrs,sec,clust}()` drive
//! inflate(): the stream may end early (records appended since the page was
//! compressed live only in the modification log).

use super::fields::ZipIndex;
use super::unzip::{layout_at, put16, rec_err, Hdr, Kind};
use super::*;

struct Place<'a> {
    frame: &'a mut [u8],
    out: usize,
    src: &'a [u8],
    pos: usize,
    hs: usize,
}

impl Place<'_> {
    /// Inflates up to frame offset `to`: (fewer bytes than asked, the
    /// stream has ended).
    fn pull(&mut self, to: usize, recs: &[usize], slot: usize) -> Result<(bool, bool)> {
        if to < self.out || to > self.frame.len() {
            return Err(rec_err(recs, slot, format!("overlaps the bytes before it (inflated up to {})", self.out)));
        }
        let want = to - self.out;
        let n = want.min(self.src.len() - self.pos);
        self.frame[self.out..self.out + n].copy_from_slice(&self.src[self.pos..self.pos + n]);
        self.out += n;
        self.pos += n;
        Ok((n < want, self.pos == self.src.len()))
    }

    /// Skips the 5 fixed header bytes of `rec` and gives it the next heap
    /// number, if the inflated bytes reach it.
    fn heap_no(&mut self, rec: usize) -> bool {
        if self.out != rec - 5 {
            return false;
        }
        self.out = rec;
        put16(self.frame, rec - 4, self.hs as u16);
        self.hs += 8;
        true
    }

    fn zero(&mut self, len: usize) {
        self.frame[self.out..self.out + len].fill(0);
        self.out += len;
    }
}

/// Places the records, clears the unused heap; the heap number and status
/// bits the next new record would get.
pub fn place_records(
    frame: &mut [u8],
    recs: &[usize],
    ix: &ZipIndex,
    kind: Kind,
    src: &[u8],
    h: &Hdr,
) -> Result<usize> {
    let hs = 2 << 3 | kind.status();
    let mut p = Place { frame, out: PAGE_ZIP_START, src, pos: 0, hs };
    let done = match kind {
        Kind::NodePtr => node_ptrs(&mut p, recs, ix)?,
        Kind::Sec => sec(&mut p, recs)?,
        Kind::Clust(c) => clust(&mut p, recs, ix, c)?,
    };
    if !done {
        let limit = h.logical - PAGE_ZIP_START - 8;
        if h.heap_top < p.out || h.heap_top - p.out > limit {
            return Err(ZipError::Header(format!("PAGE_HEAP_TOP {} below the records' end {}", h.heap_top, p.out)));
        }
        let (_, ended) = p.pull(h.heap_top, recs, recs.len().saturating_sub(1))?;
        if !ended {
            let what = format!("{} inflated bytes left beyond PAGE_HEAP_TOP", p.src.len() - p.pos);
            return Err(ZipError::Stream { at: PAGE_DATA, what });
        }
    }
    let low = h.dir_low()?;
    if p.out > low {
        return Err(ZipError::Header(format!("records end at {} above the page directory at {low}", p.out)));
    }
    p.frame[p.out..low].fill(0);
    Ok(p.hs)
}

/// Non-leaf pages: returns whether the stream ended inside the loop.
fn node_ptrs(p: &mut Place, recs: &[usize], ix: &ZipIndex) -> Result<bool> {
    for (slot, &rec) in recs.iter().enumerate() {
        let (_, ended) = p.pull(rec - 5, recs, slot)?;
        // Reached unless the stream ended short of rec (then from the log).
        p.heap_no(rec);
        if ended {
            return Ok(true);
        }
        let lay = layout_at(p.frame, recs, slot, ix, true)?;
        let (_, ended) = p.pull(rec + lay.data - NODE_PTR_SIZE, recs, slot)?;
        if ended {
            return Ok(true);
        }
        p.zero(NODE_PTR_SIZE);
    }
    Ok(false)
}

/// Leaf pages of secondary indexes.
fn sec(p: &mut Place, recs: &[usize]) -> Result<bool> {
    for (slot, &rec) in recs.iter().enumerate() {
        if p.out != rec - 5 {
            let (_, ended) = p.pull(rec - 5, recs, slot)?;
            if ended {
                p.heap_no(rec);
                return Ok(true);
            }
        }
        p.heap_no(rec);
    }
    Ok(false)
}

/// Leaf pages of clustered indexes: DB_TRX_ID,DB_ROLL_PTR and BLOB
/// pointers are not in the stream (cleared here, put back later).
fn clust(p: &mut Place, recs: &[usize], ix: &ZipIndex, trx: usize) -> Result<bool> {
    for (slot, &rec) in recs.iter().enumerate() {
        let (_, ended) = p.pull(rec - 5, recs, slot)?;
        // Reached unless the stream ended short of rec (then from the log).
        p.heap_no(rec);
        if ended {
            return Ok(true);
        }
        let lay = layout_at(p.frame, recs, slot, ix, false)?;
        let f = *lay.fields.get(trx).ok_or_else(|| rec_err(recs, slot, "no DB_TRX_ID field"))?;
        if f.len < TRX_ROLL_LEN || f.ext {
            return Err(rec_err(recs, slot, format!("DB_TRX_ID field of {} bytes", f.len)));
        }
        let any_ext = lay.any_ext();
        for (i, g) in lay.fields.iter().enumerate() {
            let (dst, len) = if i == trx {
                (rec + g.start, TRX_ROLL_LEN)
            } else if g.ext && any_ext {
                if g.len < EXTERN_REF_SIZE {
                    return Err(rec_err(recs, slot, format!("external field of {} bytes", g.len)));
                }
                (rec + g.start + g.len - EXTERN_REF_SIZE, EXTERN_REF_SIZE)
            } else {
                continue;
            };
            if p.pull(dst, recs, slot)?.0 {
                return Err(rec_err(recs, slot, "the stream ends inside the record"));
            }
            p.zero(len);
        }
        if p.pull(rec + lay.data, recs, slot)?.0 {
            return Err(rec_err(recs, slot, "the stream ends inside the record"));
        }
    }
    Ok(false)
}
