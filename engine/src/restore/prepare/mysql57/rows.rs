//! MySQL 5.7's row records on an uncompressed index page, as its recovery applies
//! them: `rec_get_offsets` with the index the record describes, then
//! `page_cur_insert_rec_low`, `page_cur_delete_rec` (with 5.7's `page_mem_free`:
//! the record joins PAGE_FREE, nothing is zeroed), delete marks and in-place
//! updates. The directory maintenance is the shared [`crate::restore::prepare::index`].

use crate::format::mysql57::body::{IndexDesc, InsertBody, SysVals, Update, SQL_NULL};
use crate::restore::prepare::index::*;

/// `DICT_MAX_FIXED_COL_LEN`: a longer fixed column is stored as a variable one.
const MAX_FIXED: u16 = 768;
const DELETED_FLAG: u8 = 0x20;
pub const MIN_REC_FLAG: u8 = 0x10;
/// `BTR_KEEP_SYS_FLAG`: DB_TRX_ID and DB_ROLL_PTR are left as they are.
const KEEP_SYS_FLAG: u8 = 4;

/// Where a record's fields are: header size and each field's [start, end) from
/// the origin, whether it is SQL NULL.
#[derive(Debug, Clone)]
pub struct Offsets {
    pub extra: usize,
    pub fields: Vec<(usize, usize, bool)>,
    /// The fields stored externally (their last 20 bytes a BLOB pointer).
    pub externs: Vec<usize>,
}

impl Offsets {
    pub fn data(&self) -> usize {
        self.fields.last().map_or(0, |f| f.1)
    }
    pub fn size(&self) -> usize {
        self.extra + self.data()
    }
}

/// `rec_get_offsets` for the record at `rec` of `buf` (a page or a built record).
pub fn offsets(buf: &[u8], rec: usize, comp: bool, index: Option<&IndexDesc>) -> Res<Offsets> {
    if !comp {
        return offsets_old(buf, rec);
    }
    let index = index.ok_or("a COMPACT page record without an index description")?;
    let status = r1(buf, back(rec, 3)?)? & 7;
    let n_fields = match status {
        0 => index.fields.len(),
        // A node pointer: the key (n_unique_in_tree) and the child page number.
        1 if index.fields.len() > usize::from(index.n_uniq) => usize::from(index.n_uniq),
        1 => index.fields.len(),
        2 | 3 => return Ok(Offsets { extra: NEW_EXTRA, fields: vec![(0, 8, false)], externs: Vec::new() }),
        s => return Err(format!("record {rec} has status {s}").into()),
    };
    let n_nullable = index.fields.iter().filter(|f| *f & 0x8000 == 0).count();
    // As the server's pointers: they may sit before a built record's first byte
    // while nothing is read there (a record with no nullable or variable field).
    let mut nulls = rec.wrapping_sub(NEW_EXTRA + 1);
    let mut lens = nulls.wrapping_sub(n_nullable.div_ceil(8));
    let mut null_mask = 1u16;
    let mut offs = 0usize;
    let mut fields = Vec::with_capacity(n_fields + 1);
    let mut externs = Vec::new();
    for &f in &index.fields[..n_fields] {
        if f & 0x8000 == 0 {
            if null_mask == 0x100 {
                nulls = nulls.wrapping_sub(1);
                null_mask = 1;
            }
            let null = u16::from(r1(buf, nulls)?) & null_mask != 0;
            null_mask <<= 1;
            if null {
                fields.push((offs, offs, true));
                continue;
            }
        }
        let len = f & 0x7FFF;
        let fixed = if (len + 1) & 0x7FFF <= 1 || len > MAX_FIXED { 0 } else { usize::from(len) };
        let start = offs;
        if fixed != 0 {
            offs += fixed;
        } else {
            let mut l = usize::from(r1(buf, lens)?);
            lens = lens.wrapping_sub(1);
            if len > 255 && l & 0x80 != 0 {
                l = l << 8 | usize::from(r1(buf, lens)?);
                if l & 0x4000 != 0 {
                    externs.push(fields.len());
                }
                l &= 0x3FFF;
                lens = lens.wrapping_sub(1);
            }
            offs += l;
        }
        fields.push((start, offs, false));
    }
    if status == 1 {
        fields.push((offs, offs + 4, false));
    }
    Ok(Offsets { extra: rec.wrapping_sub(lens).wrapping_sub(1), fields, externs })
}

/// REDUNDANT records describe themselves: n_fields end offsets of 1 or 2 bytes.
fn offsets_old(buf: &[u8], rec: usize) -> Res<Offsets> {
    let n = old_n_fields(buf, rec)?;
    let short = old_short(buf, rec)?;
    let mut fields = Vec::with_capacity(n);
    let mut start = 0;
    for i in 0..n {
        let (end, null) = if short {
            let v = r1(buf, back(rec, OLD_EXTRA + 1 + i)?)?;
            (usize::from(v & 0x7F), v & 0x80 != 0)
        } else {
            let v = r2(buf, back(rec, OLD_EXTRA + 2 * (i + 1))?)?;
            (usize::from(v & 0x3FFF), v & 0x8000 != 0)
        };
        fields.push((start, end, null));
        start = end;
    }
    Ok(Offsets { extra: old_extra_size(buf, rec)?, fields, externs: Vec::new() })
}

fn set_info_bits(pg: &mut [u8], rec: usize, comp: bool, bits: u8) -> Res<()> {
    let at = back(rec, if comp { NEW_EXTRA } else { OLD_EXTRA })?;
    let b = r1(pg, at)?;
    w1(pg, at, (b & 0x0F) | (bits & 0xF0))
}

fn info_bits(pg: &[u8], rec: usize, comp: bool) -> Res<u8> {
    Ok(r1(pg, back(rec, if comp { NEW_EXTRA } else { OLD_EXTRA })?)? & 0xF0)
}

/// `btr_rec_set_deleted_flag`.
pub fn set_deleted(pg: &mut [u8], rec: usize, val: u8) -> Res<()> {
    let comp = is_comp(pg);
    let bits = info_bits(pg, rec, comp)?;
    set_info_bits(pg, rec, comp, if val != 0 { bits | DELETED_FLAG } else { bits & !DELETED_FLAG })
}

/// `btr_set_min_rec_mark`.
pub fn set_min_mark(pg: &mut [u8], rec: usize) -> Res<()> {
    let comp = is_comp(pg);
    let bits = info_bits(pg, rec, comp)?;
    set_info_bits(pg, rec, comp, bits | MIN_REC_FLAG)
}

/// `row_upd_rec_sys_fields_in_recovery` unless the flags keep them.
fn sys_fields(pg: &mut [u8], rec: usize, ix: Option<&IndexDesc>, flags: u8, sys: &SysVals) -> Res<()> {
    if flags & KEEP_SYS_FLAG != 0 {
        return Ok(());
    }
    let offs = offsets(pg, rec, is_comp(pg), ix)?;
    let &(start, end, _) = offs.fields.get(sys.pos as usize).ok_or(format!("no field {} for DB_TRX_ID", sys.pos))?;
    if end - start != 6 {
        return Err(format!("DB_TRX_ID (field {}) is {} bytes, not 6", sys.pos, end - start).into());
    }
    put(pg, rec + start, &sys.trx_id.to_be_bytes()[2..])?;
    put(pg, rec + end, &sys.roll_ptr)
}

/// MLOG_REC_CLUST_DELETE_MARK.
pub fn clust_delete_mark(
    pg: &mut [u8],
    ix: Option<&IndexDesc>,
    flags: u8,
    val: u8,
    sys: &SysVals,
    rec: usize,
) -> Res<()> {
    set_deleted(pg, rec, val)?;
    sys_fields(pg, rec, ix, flags, sys)
}

/// MLOG_REC_UPDATE_IN_PLACE: sys fields, info bits, then each field (same length).
pub fn update_in_place(
    pg: &mut [u8],
    ix: Option<&IndexDesc>,
    flags: u8,
    sys: &SysVals,
    rec: usize,
    u: &Update,
) -> Res<()> {
    let comp = is_comp(pg);
    let offs = offsets(pg, rec, comp, ix)?;
    sys_fields(pg, rec, ix, flags, sys)?;
    set_info_bits(pg, rec, comp, u.info_bits)?;
    for f in &u.fields {
        if f.field_no as usize >= REC_MAX_N_FIELDS {
            continue; // a virtual column: not in the record
        }
        let n = f.field_no as usize;
        let &(start, end, null) = offs.fields.get(n).ok_or(format!("the record has no field {n}"))?;
        match &f.value {
            None if null => {}
            None if comp => return Err(format!("field {n} set to NULL in place on a COMPACT page").into()),
            None => {
                pg.get_mut(rec + start..rec + end).ok_or("the field leaves the page")?.fill(0);
                set_null_bit_old(pg, rec, n, true)?;
            }
            Some(v) => {
                if null {
                    set_null_bit_old(pg, rec, n, false)?;
                }
                if !null && v.len() != end - start {
                    return Err(
                        format!("field {n} of {} bytes updated in place to {} bytes", end - start, v.len()).into()
                    );
                }
                put(pg, rec + start, v)?;
            }
        }
    }
    let _ = SQL_NULL;
    Ok(())
}

fn set_null_bit_old(pg: &mut [u8], rec: usize, n: usize, val: bool) -> Res<()> {
    if old_short(pg, rec)? {
        let at = back(rec, OLD_EXTRA + 1 + n)?;
        let v = r1(pg, at)?;
        w1(pg, at, if val { v | 0x80 } else { v & 0x7F })
    } else {
        let at = back(rec, OLD_EXTRA + 2 * (n + 1))?;
        let v = r2(pg, at)?;
        w2(pg, at, if val { v | 0x8000 } else { v & 0x7FFF })
    }
}

/// The record before `rec` (walking from the previous directory slot's record).
pub fn prev_rec(pg: &[u8], rec: usize) -> Res<usize> {
    let comp = is_comp(pg);
    let (owner, _) = owner_of(pg, rec, comp)?;
    let last = slot_at(pg.len(), usize::from(r2(pg, PAGE_N_DIR_SLOTS)?) - 1)?;
    let slot = find_slot(pg, owner, last)?;
    let mut at = usize::from(r2(pg, slot + 2)?);
    for _ in 0..=MAX_N_OWNED as usize * 2 {
        let next = next_rec(pg, at, comp)?;
        if next == rec {
            return Ok(at);
        }
        at = next;
    }
    Err(format!("no record leads to {rec} within its directory slot").into())
}

/// `page_rec_find_owner_rec`: the record owning `rec`'s slot and its n_owned.
fn owner_of(pg: &[u8], rec: usize, comp: bool) -> Res<(usize, u8)> {
    let mut at = rec;
    for _ in 0..=usize::from(MAX_N_OWNED) * 2 {
        let n = n_owned(pg, at, comp)?;
        if n != 0 {
            return Ok((at, n));
        }
        at = next_rec(pg, at, comp)?;
    }
    Err(format!("no record owns {rec} (a cycle?)").into())
}

fn set_next(pg: &mut [u8], rec: usize, next: usize, comp: bool) -> Res<()> {
    let v = match (comp, next) {
        (true, 0) => 0,
        (true, n) => (n as u16).wrapping_sub(rec as u16),
        (false, n) => n as u16,
    };
    w2(pg, back(rec, 2)?, v)
}

/// `page_cur_parse_insert_rec`: builds the record from the cursor record's first
/// bytes and the logged ones, then inserts it after the cursor.
/// `zip`: the page is a ROW_FORMAT=COMPRESSED page's frame and the insert took
/// `page_cur_insert_rec_zip`'s own path (see [`insert_built`]).
pub fn insert(pg: &mut [u8], ix: Option<&IndexDesc>, cursor: usize, ins: &InsertBody, zip: bool) -> Res<usize> {
    let comp = is_comp(pg);
    let coffs = offsets(pg, cursor, comp, ix)?;
    let (info_bits, origin, mismatch) = match ins.info {
        Some(i) => (i.info_bits, i.origin_offset as usize, i.mismatch_index as usize),
        None => {
            let status = if comp { r1(pg, cursor - 3)? & 7 } else { 0 };
            let bits = info_bits(pg, cursor, comp)? | status;
            let m = coffs.size().checked_sub(ins.data.len()).ok_or("more logged bytes than the cursor record")?;
            (bits, coffs.extra, m)
        }
    };
    let start = back(cursor, coffs.extra)?;
    let mut buf = pg.get(start..start + mismatch).ok_or("the shared prefix leaves the page")?.to_vec();
    buf.extend_from_slice(&ins.data);
    if origin < if comp { NEW_EXTRA } else { OLD_EXTRA } || origin > buf.len() {
        return Err(format!("record origin {origin} outside the {}-byte record", buf.len()).into());
    }
    if comp {
        buf[origin - 5] = (buf[origin - 5] & 0x0F) | (info_bits & 0xF0);
        buf[origin - 3] = (buf[origin - 3] & !7) | (info_bits & 7);
    } else {
        buf[origin - 6] = (buf[origin - 6] & 0x0F) | (info_bits & 0xF0);
    }
    let offs = offsets(&buf, origin, comp, ix)?;
    if offs.size() != buf.len() || offs.extra != origin {
        return Err(format!("the built record is {} bytes, its header says {}", buf.len(), offs.size()).into());
    }
    insert_built(pg, ix, cursor, &buf, origin, zip)
}

/// `page_cur_insert_rec_low`: the first PAGE_FREE record if it is large enough,
/// else the heap; linked after `cur`, counted, the directory kept. On a
/// compressed page's frame (`zip`, `page_cur_insert_rec_zip`) a free record is
/// reused only in place: the new record's origin is the free one's, so its
/// header may be shorter, never longer.
pub fn insert_built(
    pg: &mut [u8],
    ix: Option<&IndexDesc>,
    cur: usize,
    rec: &[u8],
    extra: usize,
    zip: bool,
) -> Res<usize> {
    let comp = is_comp(pg);
    let size = rec.len();
    let free = usize::from(r2(pg, PAGE_FREE)?);
    let reuse = if free == 0 {
        None
    } else {
        let f = offsets(pg, free, comp, ix)?;
        match zip {
            false => (f.size() >= size).then_some((free, free - f.extra)),
            true if f.extra < extra => None,
            true => (f.size() >= size + (f.extra - extra)).then_some((free, free - extra)),
        }
    };
    let (start, heap_no) = match reuse {
        Some((free, start)) => {
            let heap_no = if comp { new_heap_no(pg, free)? } else { old_heap_no(pg, free)? };
            let next = next_rec(pg, free, comp)?;
            let next = if r2(pg, back(free, 2)?)? == 0 { 0 } else { next };
            w2(pg, PAGE_FREE, next as u16)?;
            let garbage = r2(pg, PAGE_GARBAGE)?;
            w2(pg, PAGE_GARBAGE, garbage.wrapping_sub(size as u16))?;
            (start, heap_no)
        }
        None => {
            let top = usize::from(r2(pg, PAGE_HEAP_TOP)?);
            let last = slot_at(pg.len(), usize::from(r2(pg, PAGE_N_DIR_SLOTS)?) - 1)?;
            if top + size > last {
                return Err(format!("a {size}-byte record does not fit between the heap and the directory").into());
            }
            let h = r2(pg, PAGE_N_HEAP)?;
            w2(pg, PAGE_N_HEAP, h.wrapping_add(1))?;
            w2(pg, PAGE_HEAP_TOP, (top + size) as u16)?;
            (top, usize::from(h & 0x7FFF))
        }
    };
    put(pg, start, rec)?;
    let new = start + extra;
    let next = next_rec(pg, cur, comp)?;
    set_next(pg, new, next, comp)?;
    set_next(pg, cur, new, comp)?;
    let n_recs = r2(pg, PAGE_N_RECS)?;
    w2(pg, PAGE_N_RECS, n_recs.wrapping_add(1))?;
    set_n_owned(pg, new, 0, comp)?;
    if comp {
        let v = r2(pg, new - 4)? & 7 | (heap_no << 3) as u16;
        w2(pg, new - 4, v)?;
    } else {
        let v = r2(pg, new - 5)? & 7 | (heap_no << 3) as u16;
        w2(pg, new - 5, v)?;
    }
    direction(pg, cur, new, next)?;
    w2(pg, PAGE_LAST_INSERT, new as u16)?;
    let (owner, n) = owner_of(pg, new, comp)?;
    set_n_owned(pg, owner, n + 1, comp)?;
    if n == MAX_N_OWNED {
        let last = slot_at(pg.len(), usize::from(r2(pg, PAGE_N_DIR_SLOTS)?) - 1)?;
        split_slot(pg, find_slot(pg, owner, last)?)?;
    }
    Ok(new)
}

/// PAGE_DIRECTION and PAGE_N_DIRECTION after an insert (5.7 keeps them on every
/// page in recovery: its dummy index is never spatial).
fn direction(pg: &mut [u8], cur: usize, new: usize, next: usize) -> Res<()> {
    let _ = new;
    let last = usize::from(r2(pg, PAGE_LAST_INSERT)?);
    let dir = r2(pg, PAGE_INSTANT)?;
    let n = r2(pg, PAGE_N_DIRECTION)?;
    let (d, n) = if last == 0 {
        (5, 0)
    } else if last == cur && dir != 1 {
        (2, n.wrapping_add(1))
    } else if next == last && dir != 2 {
        (1, n.wrapping_add(1))
    } else {
        (5, 0)
    };
    w2(pg, PAGE_INSTANT, d)?;
    w2(pg, PAGE_N_DIRECTION, n)
}

/// `page_cur_delete_rec` in recovery. On a compressed page's frame (`zip`),
/// the freed record's info bits and n_owned are zeroed, and so are the columns
/// the compressed page keeps uncompressed: the child page number, or
/// DB_TRX_ID, DB_ROLL_PTR and the BLOB pointers.
pub fn delete(pg: &mut [u8], ix: Option<&IndexDesc>, rec: usize, zip: bool) -> Res<()> {
    let comp = is_comp(pg);
    let offs = offsets(pg, rec, comp, ix)?;
    let (owner, n) = owner_of(pg, rec, comp)?;
    let last = slot_at(pg.len(), usize::from(r2(pg, PAGE_N_DIR_SLOTS)?) - 1)?;
    let slot = find_slot(pg, owner, last)?;
    w2(pg, PAGE_LAST_INSERT, 0)?;
    let prev = prev_rec(pg, rec)?;
    let next = next_rec(pg, rec, comp)?;
    set_next(pg, prev, next, comp)?;
    let owner = if owner == rec {
        w2(pg, slot, prev as u16)?;
        prev
    } else {
        owner
    };
    set_n_owned(pg, owner, n - 1, comp)?;
    // page_mem_free: onto PAGE_FREE, counted as garbage; the bytes stay.
    let free = usize::from(r2(pg, PAGE_FREE)?);
    set_next(pg, rec, free, comp)?;
    w2(pg, PAGE_FREE, rec as u16)?;
    let garbage = r2(pg, PAGE_GARBAGE)?;
    w2(pg, PAGE_GARBAGE, garbage.wrapping_add(offs.size() as u16))?;
    let n_recs = r2(pg, PAGE_N_RECS)?;
    w2(pg, PAGE_N_RECS, n_recs.wrapping_sub(1))?;
    if n <= MIN_N_OWNED {
        balance_slot(pg, (slot_at(pg.len(), 0)? - slot) / 2)?;
    }
    if zip {
        zip_clear(pg, ix, rec, &offs)?;
    }
    Ok(())
}

/// The frame's side of `page_zip_dir_delete` and `page_zip_clear_rec`: the
/// compressor wants a free record's info bits and n_owned zero.
fn zip_clear(pg: &mut [u8], ix: Option<&IndexDesc>, rec: usize, offs: &Offsets) -> Res<()> {
    w1(pg, back(rec, NEW_EXTRA)?, 0)?;
    let leaf = is_leaf(pg);
    let mut zero = |from: usize, len: usize| -> Res<()> {
        pg.get_mut(rec + from..rec + from + len).ok_or("a cleared column leaves the page")?.fill(0);
        Ok(())
    };
    if !leaf {
        return zero(offs.data().checked_sub(4).ok_or("a node pointer record under 4 bytes")?, 4);
    }
    let ix = ix.ok_or("a compressed page record without an index description")?;
    if usize::from(ix.n_uniq) >= ix.fields.len() {
        return Ok(()); // a secondary index: nothing is kept apart
    }
    let &(trx_id, _, _) = offs.fields.get(usize::from(ix.n_uniq)).ok_or("no DB_TRX_ID field")?;
    zero(trx_id, 13)?;
    for &f in &offs.externs {
        let (_, end, _) = offs.fields[f];
        zero(end.checked_sub(20).ok_or("a BLOB pointer under 20 bytes")?, 20)?;
    }
    Ok(())
}
