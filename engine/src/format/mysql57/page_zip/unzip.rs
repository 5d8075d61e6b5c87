//! `page_zip_decompress()`: the frame of a compressed page.

use super::fields::ZipIndex;
use super::rec::{frame_layout, Layout};
use super::stream;
use super::*;
use crate::restore::prepare::index::{
    NEW_INFIMUM, NEW_SUPREMUM, PAGE_HEAP_TOP, PAGE_LEVEL, PAGE_N_DIR_SLOTS, PAGE_N_HEAP, PAGE_N_RECS,
};

/// A decompressed page and what the compressed page said besides.
#[derive(Debug, Clone)]
pub struct Unzipped {
    pub frame: Vec<u8>,
    /// The field information of the page.
    pub index: ZipIndex,
    /// Where the modification log starts and where its end marker is.
    pub mlog_start: usize,
    pub m_end: usize,
    /// BLOB pointers of existing records in the uncompressed trailer.
    pub n_blobs: usize,
    /// What the modification log held.
    pub log: super::mlog::LogCounts,
}

impl Unzipped {
    pub fn mlog_nonempty(&self) -> bool {
        self.m_end != self.mlog_start
    }
}

/// What kind of records a page holds, i.e. what is stored uncompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    NodePtr,
    Sec,
    Clust(usize),
}

impl Kind {
    pub(crate) fn of(ix: &ZipIndex) -> Kind {
        match (ix.leaf, ix.trx_id_col) {
            (false, _) => Kind::NodePtr,
            (true, None) => Kind::Sec,
            (true, Some(c)) => Kind::Clust(c),
        }
    }

    /// Uncompressed bytes per record, dense directory entry included.
    pub(crate) fn slot_size(self) -> usize {
        DIR_SLOT_SIZE
            + match self {
                Kind::NodePtr => NODE_PTR_SIZE,
                Kind::Sec => 0,
                Kind::Clust(_) => TRX_ROLL_LEN,
            }
    }

    /// The status bits of the page's user records.
    pub(crate) fn status(self) -> usize {
        usize::from(self == Kind::NodePtr)
    }
}

/// The header facts decompression works from.
pub(crate) struct Hdr {
    pub n_dense: usize,
    pub n_recs: usize,
    pub n_slots: usize,
    pub heap_top: usize,
    pub leaf: bool,
    pub logical: usize,
}

impl Hdr {
    pub(crate) fn read(page: &[u8], logical: usize, zip_size: usize) -> Result<Hdr> {
        let n_heap = be16(page, PAGE_N_HEAP);
        if n_heap & 0x8000 == 0 {
            return Err(ZipError::Header("PAGE_N_HEAP lacks the COMPACT flag".into()));
        }
        let n_dense = usize::from(n_heap & 0x7fff)
            .checked_sub(2)
            .ok_or_else(|| ZipError::Header(format!("PAGE_N_HEAP {} below 2", n_heap & 0x7fff)))?;
        if n_dense * DIR_SLOT_SIZE >= zip_size {
            return Err(ZipError::Header(format!("{n_dense} records cannot fit in {zip_size} bytes")));
        }
        Ok(Hdr {
            n_dense,
            n_recs: usize::from(be16(page, PAGE_N_RECS)),
            n_slots: usize::from(be16(page, PAGE_N_DIR_SLOTS)),
            heap_top: usize::from(be16(page, PAGE_HEAP_TOP)),
            leaf: be16(page, PAGE_LEVEL) == 0,
            logical,
        })
    }

    /// Where the sparse directory starts (its last slot).
    pub(crate) fn dir_low(&self) -> Result<usize> {
        (self.logical - 8)
            .checked_sub(2 * self.n_slots)
            .filter(|&x| x >= PAGE_ZIP_START)
            .ok_or_else(|| ZipError::Header(format!("{} directory slots do not fit", self.n_slots)))
    }
}

/// Dense directory entry `i` (0 = first user record).
pub(crate) fn dir_get(zip: &[u8], i: usize) -> u16 {
    be16(zip, zip.len() - DIR_SLOT_SIZE * (i + 1))
}

fn dir_err(zip: &[u8], slot: usize, what: impl Into<String>) -> ZipError {
    ZipError::Dir { slot, at: zip.len() - DIR_SLOT_SIZE * (slot + 1), what: what.into() }
}

pub(crate) fn put16(frame: &mut [u8], at: usize, v: u16) {
    frame[at..at + 2].copy_from_slice(&v.to_be_bytes());
}

/// `page_zip_decompress()` with everything it learns.
pub fn decompress_full(zip: &[u8], logical: usize) -> Result<Unzipped> {
    check_sizes(zip.len(), logical)?;
    let ptype = index_type(zip)?;
    let h = Hdr::read(zip, logical, zip.len())?;
    let mut frame = vec![0u8; logical];
    frame[..PAGE_DATA].copy_from_slice(&zip[..PAGE_DATA]);
    let recs = dir_decode(zip, &mut frame, &h)?;
    put_infimum_supremum(zip, &mut frame, &h);
    let inflated = stream::inflate(&zip[PAGE_DATA..zip.len() - 1], logical.trailing_zeros(), logical + 4096)?;
    let ix = ZipIndex::decode(&inflated.fields, h.leaf, ptype == crate::restore::prepare::index::PAGE_TYPE_RTREE)?;
    let kind = Kind::of(&ix);
    let trailer = h.n_dense * kind.slot_size();
    let end = zip.len().checked_sub(trailer).filter(|&e| e > PAGE_DATA + inflated.len).ok_or_else(|| {
        ZipError::Stream { at: PAGE_DATA, what: format!("the stream overlaps the {trailer}-byte trailer") }
    })?;
    let hs = super::place::place_records(&mut frame, &recs, &ix, kind, &inflated.records, &h)?;
    let mlog_start = PAGE_DATA + inflated.len;
    let (m_end, log) = super::mlog::apply_log(zip, &mut frame, mlog_start, end, &recs, &ix, hs)?;
    if trailer + m_end >= zip.len() {
        return Err(ZipError::Mlog { at: m_end, what: format!("the log runs into the {trailer}-byte trailer") });
    }
    let n_blobs = restore(zip, &mut frame, &recs, &ix, kind, &h, m_end)?;
    set_extra_bytes(zip, &mut frame, &h)?;
    Ok(Unzipped { frame, index: ix, mlog_start, m_end, n_blobs, log })
}

/// The sparse directory from the owned flags; the record offsets sorted by
/// address (heap order).
fn dir_decode(zip: &[u8], frame: &mut [u8], h: &Hdr) -> Result<Vec<usize>> {
    if h.n_recs > h.n_dense {
        return Err(ZipError::Header(format!("PAGE_N_RECS {} above PAGE_N_HEAP - 2 = {}", h.n_recs, h.n_dense)));
    }
    let mut recs = Vec::with_capacity(h.n_dense);
    let mut owners = Vec::new();
    for i in 0..h.n_dense {
        let v = dir_get(zip, i);
        let offs = usize::from(v & DIR_SLOT_MASK);
        if i >= h.n_recs && v & !DIR_SLOT_MASK != 0 {
            return Err(dir_err(zip, i, format!("free-list entry {v:#06x} carries flags")));
        }
        if offs < PAGE_ZIP_START + 5 || offs >= h.logical - 8 {
            return Err(dir_err(zip, i, format!("record offset {offs} outside the page's record area")));
        }
        if v & DIR_SLOT_OWNED != 0 && i < h.n_recs {
            owners.push(offs);
        }
        recs.push(offs);
    }
    if owners.len() + 2 != h.n_slots {
        let what = format!("{} owned records but PAGE_N_DIR_SLOTS {}", owners.len(), h.n_slots);
        return Err(ZipError::Header(what));
    }
    let low = h.dir_low()?;
    let top = h.logical - 8 - 2;
    put16(frame, top, NEW_INFIMUM as u16);
    for (k, &o) in owners.iter().enumerate() {
        put16(frame, top - 2 * (k + 1), o as u16);
    }
    put16(frame, low, NEW_SUPREMUM as u16);
    recs.sort_unstable();
    if let Some(w) = recs.windows(2).find(|w| w[0] == w[1]) {
        return Err(ZipError::Record { heap_no: 0, offset: w[0], what: "listed twice in the dense directory".into() });
    }
    Ok(recs)
}

/// The next-record field of a COMPACT record: relative, 0 for none.
pub(crate) fn set_next(frame: &mut [u8], rec: usize, next: usize) {
    let v = if next == 0 { 0 } else { (next as u16).wrapping_sub(rec as u16) };
    put16(frame, rec - 2, v);
}

fn put_infimum_supremum(zip: &[u8], frame: &mut [u8], h: &Hdr) {
    frame[NEW_INFIMUM - 5..NEW_INFIMUM - 2].copy_from_slice(&[0x01, 0x00, 0x02]);
    let first = if h.n_recs == 0 { NEW_SUPREMUM } else { usize::from(dir_get(zip, 0) & DIR_SLOT_MASK) };
    set_next(frame, NEW_INFIMUM, first);
    frame[NEW_INFIMUM..NEW_INFIMUM + 8].copy_from_slice(b"infimum\0");
    frame[NEW_SUPREMUM - 4..NEW_SUPREMUM].copy_from_slice(&[0x00, 0x0b, 0x00, 0x00]);
    frame[NEW_SUPREMUM..NEW_SUPREMUM + 8].copy_from_slice(b"supremum");
}

pub(crate) fn rec_err(recs: &[usize], slot: usize, what: impl Into<String>) -> ZipError {
    ZipError::Record { heap_no: slot + 2, offset: recs.get(slot).copied().unwrap_or(0), what: what.into() }
}

/// The layout of record `slot` as the frame now has it, within the frame.
pub(crate) fn layout_at(frame: &[u8], recs: &[usize], slot: usize, ix: &ZipIndex, node: bool) -> Result<Layout> {
    let rec = recs[slot];
    let lay = frame_layout(frame, rec, ix, node).ok_or_else(|| rec_err(recs, slot, "unreadable record header"))?;
    if rec + lay.data > frame.len() - 8 || rec < lay.extra + PAGE_ZIP_START || (node && lay.data < NODE_PTR_SIZE) {
        return Err(rec_err(recs, slot, format!("{}+{} bytes do not fit", lay.extra, lay.data)));
    }
    Ok(lay)
}

/// Puts back the uncompressed columns; the number of BLOB pointers.
fn restore(
    zip: &[u8],
    frame: &mut [u8],
    recs: &[usize],
    ix: &ZipIndex,
    kind: Kind,
    h: &Hdr,
    m_end: usize,
) -> Result<usize> {
    let mut storage = zip.len() - DIR_SLOT_SIZE * h.n_dense;
    let trx = match kind {
        Kind::Sec => return Ok(0),
        Kind::NodePtr => {
            for slot in 0..recs.len() {
                let lay = layout_at(frame, recs, slot, ix, true)?;
                storage -= NODE_PTR_SIZE;
                let at = recs[slot] + lay.data - NODE_PTR_SIZE;
                frame[at..at + NODE_PTR_SIZE].copy_from_slice(&zip[storage..storage + NODE_PTR_SIZE]);
            }
            return Ok(0);
        }
        Kind::Clust(c) => c,
    };
    let free: Vec<usize> = (h.n_recs..h.n_dense).map(|i| usize::from(dir_get(zip, i) & DIR_SLOT_MASK)).collect();
    let mut externs = storage - TRX_ROLL_LEN * h.n_dense;
    let mut n_blobs = 0;
    for slot in 0..recs.len() {
        let rec = recs[slot];
        let lay = layout_at(frame, recs, slot, ix, false)?;
        let f = lay.fields.get(trx).filter(|f| f.len >= TRX_ROLL_LEN);
        let f = f.ok_or_else(|| rec_err(recs, slot, "no DB_TRX_ID,DB_ROLL_PTR field"))?;
        storage -= TRX_ROLL_LEN;
        let at = rec + f.start;
        frame[at..at + TRX_ROLL_LEN].copy_from_slice(&zip[storage..storage + TRX_ROLL_LEN]);
        let exists = !free.contains(&rec);
        for f in lay.fields.iter().filter(|f| f.ext) {
            if f.len < EXTERN_REF_SIZE {
                return Err(rec_err(recs, slot, format!("external field of {} bytes", f.len)));
            }
            let dst = rec + f.start + f.len - EXTERN_REF_SIZE;
            if !exists {
                frame[dst..dst + EXTERN_REF_SIZE].fill(0);
                continue;
            }
            externs = externs
                .checked_sub(EXTERN_REF_SIZE)
                .filter(|&e| e >= m_end)
                .ok_or_else(|| rec_err(recs, slot, "BLOB pointers run into the modification log"))?;
            frame[dst..dst + EXTERN_REF_SIZE].copy_from_slice(&zip[externs..externs + EXTERN_REF_SIZE]);
            n_blobs += 1;
        }
    }
    Ok(n_blobs)
}

/// The 5-byte headers' owned counts, info bits and next pointers, from the
/// dense directory (user records in key order, then the free list).
fn set_extra_bytes(zip: &[u8], frame: &mut [u8], h: &Hdr) -> Result<()> {
    let leftmost = frame[8..12] == [0xff; 4];
    let mut info: usize = if !h.leaf && leftmost { 0x10 } else { 0 };
    let (mut rec, mut n_owned) = (NEW_INFIMUM, 1usize);
    for i in 0..h.n_recs {
        let v = dir_get(zip, i);
        if v & DIR_SLOT_DEL != 0 {
            info |= 0x20;
        }
        if v & DIR_SLOT_OWNED != 0 {
            info |= n_owned;
            n_owned = 1;
        } else {
            n_owned += 1;
        }
        let offs = usize::from(v & DIR_SLOT_MASK);
        set_next(frame, rec, offs);
        rec = offs;
        frame[rec - 5] = info as u8;
        info = 0;
    }
    set_next(frame, rec, NEW_SUPREMUM);
    frame[NEW_SUPREMUM - 5] = n_owned as u8;
    let mut prev = None;
    for i in h.n_recs..h.n_dense {
        let offs = usize::from(dir_get(zip, i));
        if let Some(p) = prev {
            set_next(frame, p, offs);
        }
        frame[offs - 5] = 0;
        prev = Some(offs);
    }
    if let Some(p) = prev {
        set_next(frame, p, 0);
    }
    Ok(())
}
