//! `page_zip_compress()`: a compressed page (empty modification log) that
//! decompresses to a given frame.

use super::fields::ZipIndex;
use super::rec::frame_layout;
use super::stream;
use super::unzip::{Hdr, Kind};
use super::*;
use crate::restore::prepare::index::{NEW_INFIMUM, NEW_SUPREMUM, PAGE_FREE};

fn frame_err(offset: usize, what: impl Into<String>) -> ZipError {
    ZipError::Frame { offset, what: what.into() }
}

/// The dense directory of a frame and its records in heap order.
struct Dense {
    /// Entries: user records in key order with flags, then the free list.
    entries: Vec<u16>,
    /// Record offsets by heap number - 2.
    recs: Vec<usize>,
    n_user: usize,
}

/// Compresses `frame` (a COMPACT index page of the logical page size) into
/// a `zip_size`-byte page with zlib `level`, the record fields described by
/// `ix` (the field information of the page, e.g. from [`decompress_full`]).
/// `None` when it does not fit. The checksum is left for the caller.
pub fn compress(frame: &[u8], ix: &ZipIndex, zip_size: usize, level: u32) -> Result<Option<Vec<u8>>> {
    let logical = frame.len();
    check_sizes(zip_size, logical)?;
    index_type(frame)?;
    let h = Hdr::read(frame, logical, usize::MAX)?;
    if ix.leaf != h.leaf {
        return Err(ZipError::Fields(format!("field information for leaf={} on a page with leaf={}", ix.leaf, h.leaf)));
    }
    check_fixed_records(frame)?;
    if h.n_dense * DIR_SLOT_SIZE >= zip_size {
        return Ok(None);
    }
    let kind = Kind::of(ix);
    let trailer = h.n_dense * kind.slot_size();
    if zip_size - PAGE_DATA - 1 <= trailer + 6 {
        return Ok(None);
    }
    let dense = dir_encode(frame, &h, kind)?;
    let (records, store, blobs) = split_records(frame, &h, &dense, ix, kind)?;
    let fits = |z: &[u8]| PAGE_DATA + z.len() + 1 + trailer + blobs.len() * EXTERN_REF_SIZE <= zip_size;
    let mut z = stream::deflate(&ix.raw, &records, level, logical.trailing_zeros())?;
    if !fits(&z) && level < 9 {
        // The server's deflate (memLevel 9, a window of the page size) can fit a
        // page ours does not at the same level: a page it filled may need 9 here,
        // and prepare must not refuse what the server's recovery would write.
        z = stream::deflate(&ix.raw, &records, 9, logical.trailing_zeros())?;
    }
    if !fits(&z) {
        return Ok(None);
    }
    let mut zip = vec![0u8; zip_size];
    zip[..PAGE_DATA].copy_from_slice(&frame[..PAGE_DATA]);
    zip[PAGE_DATA..PAGE_DATA + z.len()].copy_from_slice(&z);
    let mut at = zip_size;
    for &e in &dense.entries {
        at -= DIR_SLOT_SIZE;
        zip[at..at + 2].copy_from_slice(&e.to_be_bytes());
    }
    for s in &store {
        at -= s.len();
        zip[at..at + s.len()].copy_from_slice(s);
    }
    for b in &blobs {
        at -= EXTERN_REF_SIZE;
        zip[at..at + EXTERN_REF_SIZE].copy_from_slice(b);
    }
    Ok(Some(zip))
}

/// The infimum and supremum the compressed page leaves out must be the
/// standard ones.
fn check_fixed_records(frame: &[u8]) -> Result<()> {
    let inf = NEW_INFIMUM;
    if frame[inf - 5..inf - 2] != [0x01, 0x00, 0x02] || &frame[inf..inf + 8] != b"infimum\0" {
        return Err(frame_err(inf, "not the standard infimum record"));
    }
    let sup = NEW_SUPREMUM;
    if frame[sup - 5] > 8 || frame[sup - 4..sup] != [0x00, 0x0b, 0x00, 0x00] || &frame[sup..sup + 8] != b"supremum" {
        return Err(frame_err(sup, "not the standard supremum record"));
    }
    Ok(())
}

fn next_of(frame: &[u8], rec: usize) -> usize {
    let v = be16(frame, rec - 2);
    usize::from((rec as u16).wrapping_add(v))
}

/// `page_zip_dir_encode()`: walks the record list and the free list.
fn dir_encode(frame: &[u8], h: &Hdr, kind: Kind) -> Result<Dense> {
    let n_heap = h.n_dense + 2;
    let mut d = Dense { entries: Vec::new(), recs: vec![0; h.n_dense], n_user: 0 };
    let leftmost = frame[8..12] == [0xff; 4];
    let mut min_mark = if kind == Kind::NodePtr && leftmost { 0x10 } else { 0 };
    let mut rec = NEW_INFIMUM;
    loop {
        rec = next_of(frame, rec);
        if rec == NEW_SUPREMUM {
            break;
        }
        let info = take_rec(frame, rec, &mut d, n_heap, kind)?;
        let mut e = rec as u16;
        if frame[rec - 5] & 0x0f != 0 {
            e |= DIR_SLOT_OWNED;
        }
        if info & 0x20 != 0 {
            e |= DIR_SLOT_DEL;
        }
        if info & !0x20 != min_mark {
            return Err(frame_err(rec, format!("info bits {info:#x} (expected {min_mark:#x})")));
        }
        min_mark = 0;
        d.entries.push(e);
    }
    d.n_user = d.entries.len();
    if d.n_user != h.n_recs {
        return Err(frame_err(rec, format!("{} records in the list, PAGE_N_RECS {}", d.n_user, h.n_recs)));
    }
    let mut rec = usize::from(be16(frame, PAGE_FREE));
    while rec != 0 {
        take_rec(frame, rec, &mut d, n_heap, kind)?;
        if frame[rec - 5] != 0 {
            return Err(frame_err(rec, "a free record with info bits or n_owned"));
        }
        d.entries.push(rec as u16);
        let v = be16(frame, rec - 2);
        rec = if v == 0 { 0 } else { next_of(frame, rec) };
    }
    if d.entries.len() != h.n_dense {
        return Err(frame_err(0, format!("{} records listed, PAGE_N_HEAP - 2 = {}", d.entries.len(), h.n_dense)));
    }
    if d.recs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(frame_err(0, "heap numbers are not in address order"));
    }
    Ok(d)
}

/// Checks a listed record and notes it under its heap number; its info bits.
fn take_rec(frame: &[u8], rec: usize, d: &mut Dense, n_heap: usize, kind: Kind) -> Result<u8> {
    if rec < PAGE_ZIP_START + 5 || rec >= frame.len() - 8 || d.entries.len() > n_heap {
        return Err(frame_err(rec, "a record outside the record area (or a loop)"));
    }
    let hs = usize::from(be16(frame, rec - 4));
    let heap_no = hs >> 3;
    if heap_no < 2 || heap_no >= n_heap || hs & 7 != kind.status() {
        return Err(frame_err(rec, format!("heap_no {heap_no}, status {} on this page", hs & 7)));
    }
    if d.recs[heap_no - 2] != 0 {
        return Err(frame_err(rec, format!("heap_no {heap_no} used twice")));
    }
    d.recs[heap_no - 2] = rec;
    Ok(frame[rec - 5] & 0xf0)
}

type Split = (Vec<u8>, Vec<Vec<u8>>, Vec<[u8; EXTERN_REF_SIZE]>);

/// The record bytes the stream holds, the uncompressed columns by heap
/// number, the BLOB pointers of existing records in heap order.
fn split_records(frame: &[u8], h: &Hdr, d: &Dense, ix: &ZipIndex, kind: Kind) -> Result<Split> {
    let (mut s, mut store, mut blobs) = (Vec::new(), Vec::new(), Vec::new());
    let free: Vec<usize> = d.entries[d.n_user..].iter().map(|&e| usize::from(e)).collect();
    let mut next_in = PAGE_ZIP_START;
    let take = |s: &mut Vec<u8>, from: &mut usize, to: usize| -> Result<()> {
        if to < *from || to > frame.len() {
            return Err(frame_err(to, format!("record bytes overlap (at {})", *from)));
        }
        s.extend_from_slice(&frame[*from..to]);
        *from = to;
        Ok(())
    };
    for &rec in &d.recs {
        take(&mut s, &mut next_in, rec - 5)?;
        next_in = rec;
        let lay = frame_layout(frame, rec, ix, kind == Kind::NodePtr)
            .filter(|l| rec + l.data <= frame.len() - 8 && rec >= l.extra + PAGE_ZIP_START)
            .ok_or_else(|| frame_err(rec, "unreadable record"))?;
        let end = rec + lay.data;
        match kind {
            Kind::Sec => continue,
            Kind::NodePtr => {
                take(&mut s, &mut next_in, end - NODE_PTR_SIZE)?;
                store.push(frame[end - NODE_PTR_SIZE..end].to_vec());
                next_in = end;
            }
            Kind::Clust(trx) => {
                let f = lay.fields.get(trx).filter(|f| f.len >= TRX_ROLL_LEN && !f.ext);
                let f = f.ok_or_else(|| frame_err(rec, "no DB_TRX_ID,DB_ROLL_PTR field"))?;
                for (i, g) in lay.fields.iter().enumerate() {
                    if i == trx {
                        take(&mut s, &mut next_in, rec + f.start)?;
                        store.push(frame[next_in..next_in + TRX_ROLL_LEN].to_vec());
                        next_in += TRX_ROLL_LEN;
                    } else if g.ext {
                        let src = (rec + g.start + g.len)
                            .checked_sub(EXTERN_REF_SIZE)
                            .ok_or_else(|| frame_err(rec, "short external field"))?;
                        take(&mut s, &mut next_in, src)?;
                        next_in += EXTERN_REF_SIZE;
                        if !free.contains(&rec) {
                            blobs.push(frame[src..src + EXTERN_REF_SIZE].try_into().expect("20 bytes"));
                        }
                    }
                }
                take(&mut s, &mut next_in, end)?;
            }
        }
    }
    take(&mut s, &mut next_in, h.heap_top)?;
    Ok((s, store, blobs))
}
