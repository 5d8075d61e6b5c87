//! INSERT_{HEAP,REUSE}_{DYNAMIC,REDUNDANT}, as `page_apply_insert_dynamic` and
//! `page_apply_insert_redundant` (page0cur.cc) apply them: the record is rebuilt
//! from the bytes it shares with its predecessor plus the logged ones, then linked
//! in and counted. Every check the server makes comes before the first write.

use super::index::*;

/// A decoded insert record (`shift` only on INSERT_REUSE_DYNAMIC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Insert<'a> {
    /// ROW_FORMAT=COMPACT/DYNAMIC (else REDUNDANT).
    pub comp: bool,
    /// Take the first PAGE_FREE record (else extend PAGE_HEAP_TOP).
    pub reuse: bool,
    /// The predecessor, relative to the infimum.
    pub prev: usize,
    /// How far the record starts from the freed one's (bit 0: backwards).
    pub shift: usize,
    /// DYNAMIC: logged header bytes << 3 | instant | info bits; REDUNDANT: (n_fields - 1) << 3 | short << 2 | info bits.
    pub enc_hdr: usize,
    /// Header bytes shared with the predecessor.
    pub hdr_c: usize,
    /// Data bytes shared with the predecessor.
    pub data_c: usize,
    /// The logged header and data bytes.
    pub data: &'a [u8],
}

/// The page's checked frame for an insert: where the new record goes between.
struct Place {
    heap_top: usize,
    last_slot: usize,
    prev: usize,
    next: usize,
    owner: Owner,
}

/// Follows the records from `next` to the one owning a slot (at most 8 steps).
fn owner_of(pg: &[u8], next: usize, comp: bool, heap_top: usize) -> Res<(usize, u8)> {
    let (bot, sup, extra) =
        if comp { (NEW_SUPREMUM_END, NEW_SUPREMUM, NEW_EXTRA) } else { (OLD_SUPREMUM_END, OLD_SUPREMUM, OLD_EXTRA) };
    let mut owner = next;
    let mut steps = MAX_N_OWNED;
    loop {
        let n = n_owned(pg, owner, comp)?;
        if n != 0 {
            return Ok((owner, n));
        }
        owner = next_rec(pg, owner, comp)?;
        if owner != sup && (bot + extra > owner || owner > heap_top) {
            return Err(format!("the record list leads to {owner}, outside the heap").into());
        }
        if steps == 0 {
            return Err("no record owns a slot within 8 steps (a cycle?)".into());
        }
        steps -= 1;
    }
}

/// The checks both formats make on the page header and directory.
fn frame(pg: &[u8], page_no: u32, comp: bool) -> Res<(usize, usize)> {
    let (bot, sup, inf) = if comp {
        (NEW_SUPREMUM_END, NEW_SUPREMUM, NEW_INFIMUM)
    } else {
        (OLD_SUPREMUM_END, OLD_SUPREMUM, OLD_INFIMUM)
    };
    let n_slots = usize::from(r2(pg, PAGE_N_DIR_SLOTS)?);
    let h = usize::from(r2(pg, PAGE_N_HEAP)?);
    let heap_ok = if comp {
        h >= (HEAP_NO_USER_LOW | 0x8000) && (h & 0x7FFF) < pg.len() / NEW_EXTRA && (h & 0x7FFF) >= n_slots
    } else {
        h >= n_slots && h >= HEAP_NO_USER_LOW && h < pg.len() / OLD_EXTRA
    };
    if n_slots < 2 || !heap_ok || !is_index_page(pg) || !page_no_is(pg, page_no) || r2(pg, sup - 2)? != 0 {
        return Err(format!("the page header is not that of an index page (n_slots {n_slots}, n_heap {h:#x})").into());
    }
    let last_slot = slot_at(pg.len(), n_slots - 1)?;
    let heap_top = usize::from(r2(pg, PAGE_HEAP_TOP)?);
    if bot > heap_top || heap_top > last_slot {
        return Err(format!("PAGE_HEAP_TOP {heap_top} is outside {bot}..{last_slot}").into());
    }
    if usize::from(r2(pg, last_slot)?) != sup || usize::from(r2(pg, slot_at(pg.len(), 0)?)?) != inf {
        return Err("the directory does not start at the infimum and end at the supremum".into());
    }
    Ok((heap_top, last_slot))
}

fn place_dynamic(pg: &[u8], page_no: u32, ins: &Insert<'_>) -> Res<Place> {
    let (heap_top, last_slot) = frame(pg, page_no, true)?;
    if (ins.enc_hdr & 4 != 0 && !is_leaf(pg)) || (ins.enc_hdr >> 3) > ins.data.len() {
        return Err(format!(
            "header bits {:#x} do not fit the page or the {} logged bytes",
            ins.enc_hdr,
            ins.data.len()
        )
        .into());
    }
    let prev = usize::from((NEW_INFIMUM + ins.prev) as u16);
    let next = next_rec(pg, prev, true)?;
    if ins.prev != 0 && (NEW_SUPREMUM_END + NEW_EXTRA > prev || prev > heap_top) {
        return Err(format!("the predecessor {prev} is outside the heap").into());
    }
    if next != NEW_SUPREMUM && (NEW_SUPREMUM_END + NEW_EXTRA > next || next > heap_top) {
        return Err(format!("the successor {next} is outside the heap").into());
    }
    let (rec, n_owned) = owner_of(pg, next, true, heap_top)?;
    if n_owned > MAX_N_OWNED {
        return Err(format!("the owner record {rec} owns {n_owned} records").into());
    }
    let slot = find_slot(pg, rec, last_slot)?;
    Ok(Place { heap_top, last_slot, prev, next, owner: Owner { rec, n_owned, slot } })
}

/// `page_apply_insert_dynamic`.
pub fn insert_dynamic(pg: &mut [u8], page_no: u32, ins: &Insert<'_>) -> Res<()> {
    let p = place_dynamic(pg, page_no, ins)?;
    let logged_hdr = ins.enc_hdr >> 3;
    let extra_size = NEW_EXTRA + ins.hdr_c + logged_hdr;
    let data_size = ins.data_c + ins.data.len() - logged_hdr;
    let total = extra_size + data_size;
    let (start, heap_no) = if ins.reuse {
        let free = usize::from(r2(pg, PAGE_FREE)?);
        if NEW_SUPREMUM_END + NEW_EXTRA > free || free > p.heap_top {
            return Err(format!("PAGE_FREE {free} is outside the heap").into());
        }
        let base = free as isize - extra_size as isize;
        let buf = if ins.shift & 1 != 0 { base - (ins.shift >> 1) as isize } else { base + (ins.shift >> 1) as isize };
        if buf < NEW_SUPREMUM_END as isize || buf as usize + total > p.heap_top {
            return Err(format!("the reused space at {buf} (+{total}) is outside the heap").into());
        }
        let garbage = usize::from(r2(pg, PAGE_GARBAGE)?);
        if garbage < total {
            return Err(format!("PAGE_GARBAGE {garbage} is less than the {total}-byte record").into());
        }
        let mut n = r2(pg, back(free, 2)?)?;
        if n != 0 {
            n = n.wrapping_add(free as u16);
            if usize::from(n) < NEW_SUPREMUM_END + NEW_EXTRA || p.heap_top < usize::from(n) {
                return Err(format!("the next free record {n} is outside the heap").into());
            }
        }
        w2(pg, PAGE_FREE, n)?;
        w2(pg, PAGE_GARBAGE, (garbage - total) as u16)?;
        (buf as usize, new_heap_no(pg, free)?)
    } else {
        if p.heap_top + total > p.last_slot {
            return Err(format!("a {total}-byte record does not fit between the heap and the directory").into());
        }
        let h = r2(pg, PAGE_N_HEAP)?;
        w2(pg, PAGE_N_HEAP, h.wrapping_add(1))?;
        w2(pg, PAGE_HEAP_TOP, (p.heap_top + total) as u16)?;
        (p.heap_top, usize::from(h & 0x7FFF))
    };
    write_dynamic(pg, ins, &p, start, heap_no)?;
    let last_insert = usize::from(r2(pg, PAGE_LAST_INSERT)?);
    let rec = start + extra_size;
    w2(pg, PAGE_LAST_INSERT, rec as u16)?;
    w2(pg, p.prev - 2, (rec as u16).wrapping_sub(p.prev as u16))?;
    copy(pg, p.prev, rec, ins.data_c)?;
    put(pg, rec + ins.data_c, &ins.data[logged_hdr..])?;
    finish_insert(pg, last_insert, p.prev, p.next, p.owner)
}

/// The new record's header: logged bytes, the predecessor's shared ones, then
/// info bits, heap number, status and the link to the successor.
fn write_dynamic(pg: &mut [u8], ins: &Insert<'_>, p: &Place, start: usize, heap_no: usize) -> Res<()> {
    let logged_hdr = ins.enc_hdr >> 3;
    put(pg, start, &ins.data[..logged_hdr])?;
    let mut at = start + logged_hdr;
    copy(pg, back(p.prev, NEW_EXTRA + ins.hdr_c)?, at, ins.hdr_c)?;
    at += ins.hdr_c;
    let status = if is_leaf(pg) { (ins.enc_hdr & 4) as u8 } else { 1 };
    w1(pg, at, ((ins.enc_hdr & 3) << 4) as u8)?;
    w1(pg, at + 1, (heap_no >> 5) as u8)?;
    w1(pg, at + 2, ((heap_no & 31) << 3) as u8 | status)?;
    let rec = at + 5;
    w2(pg, rec - 2, (p.next as u16).wrapping_sub(rec as u16))
}

fn place_redundant(pg: &[u8], page_no: u32, ins: &Insert<'_>) -> Res<Place> {
    let (heap_top, last_slot) = frame(pg, page_no, false)?;
    let prev = OLD_INFIMUM + ins.prev;
    if ins.prev != 0 && (OLD_SUPREMUM_END + OLD_EXTRA + 1 > prev || prev > heap_top) {
        return Err(format!("the predecessor {prev} is outside the heap").into());
    }
    let pn_fields = old_n_fields(pg, prev)?;
    if pn_fields == 0 || pn_fields > REC_MAX_N_FIELDS {
        return Err(format!("the predecessor has {pn_fields} fields").into());
    }
    if prev != OLD_INFIMUM && prev.checked_sub(old_extra_size(pg, prev)?).is_none_or(|s| s < OLD_SUPREMUM_END) {
        return Err("the predecessor's header starts below the heap".into());
    }
    if ins.hdr_c != 0 && prev.checked_sub(ins.hdr_c).is_none_or(|s| s < OLD_SUPREMUM_END) {
        return Err(format!("{} shared header bytes start below the heap", ins.hdr_c).into());
    }
    if prev + old_data_size(pg, prev)? > heap_top {
        return Err("the predecessor's data ends past PAGE_HEAP_TOP".into());
    }
    let next = next_rec(pg, prev, false)?;
    if next != OLD_SUPREMUM && (OLD_SUPREMUM_END + OLD_EXTRA > next || next > heap_top) {
        return Err(format!("the successor {next} is outside the heap").into());
    }
    Ok(Place { heap_top, last_slot, prev, next, owner: Owner { rec: 0, n_owned: 0, slot: 0 } })
}

/// `page_apply_insert_redundant`.
pub fn insert_redundant(pg: &mut [u8], page_no: u32, ins: &Insert<'_>) -> Res<()> {
    let mut p = place_redundant(pg, page_no, ins)?;
    let short = (ins.enc_hdr >> 2) & 1 != 0;
    let n_fields = (ins.enc_hdr >> 3) + 1;
    if n_fields > REC_MAX_N_FIELDS {
        return Err(format!("{n_fields} fields").into());
    }
    let extra_size = OLD_EXTRA + if short { n_fields } else { 2 * n_fields };
    let hdr_c = ins.hdr_c + OLD_EXTRA;
    if hdr_c > extra_size || extra_size - hdr_c > ins.data.len() {
        return Err(format!("{hdr_c} shared header bytes do not fit a {extra_size}-byte header").into());
    }
    let (rec, n_owned) = owner_of(pg, p.next, false, p.heap_top)?;
    if n_owned > MAX_N_OWNED {
        return Err(format!("the owner record {rec} owns {n_owned} records").into());
    }
    p.owner = Owner { rec, n_owned, slot: find_slot(pg, rec, p.last_slot)? };
    let hdr = header_redundant(pg, ins, &p, extra_size, hdr_c, n_fields, short)?;
    let data_size = old_data_size(&hdr, extra_size)?;
    if ins.data_c > data_size || extra_size - hdr_c + data_size - ins.data_c != ins.data.len() {
        return Err(format!(
            "{} shared and {} logged bytes do not make the {data_size}-byte record",
            ins.data_c,
            ins.data.len()
        )
        .into());
    }
    let total = extra_size + data_size;
    let (start, heap_no) = if ins.reuse { reuse_redundant(pg, &p, total)? } else { heap_redundant(pg, &p, total)? };
    let mut hdr = hdr;
    let at = extra_size - 5;
    let v = u16::from_be_bytes([hdr[at], hdr[at + 1]]) & 7 | (heap_no << 3) as u16;
    hdr[at..at + 2].copy_from_slice(&v.to_be_bytes());
    let last_insert = usize::from(r2(pg, PAGE_LAST_INSERT)?);
    put(pg, start, &hdr)?;
    let rec = start + extra_size;
    w2(pg, PAGE_LAST_INSERT, rec as u16)?;
    w2(pg, p.prev - 2, rec as u16)?;
    copy(pg, p.prev, rec, ins.data_c)?;
    put(pg, rec + ins.data_c, &ins.data[extra_size - hdr_c..])?;
    finish_insert(pg, last_insert, p.prev, p.next, p.owner)
}

/// The new record's header (heap number not yet set): logged bytes, then the
/// predecessor's last `hdr_c`, with info bits, short flag, n_fields and n_owned set.
fn header_redundant(
    pg: &[u8],
    ins: &Insert<'_>,
    p: &Place,
    extra_size: usize,
    hdr_c: usize,
    n_fields: usize,
    short: bool,
) -> Res<Vec<u8>> {
    let mut hdr = vec![0u8; extra_size];
    hdr[..extra_size - hdr_c].copy_from_slice(&ins.data[..extra_size - hdr_c]);
    let from = back(p.prev, hdr_c)?;
    hdr[extra_size - hdr_c..].copy_from_slice(pg.get(from..p.prev).ok_or("the predecessor's header leaves the page")?);
    let r = extra_size;
    hdr[r - 6] = (hdr[r - 6] & 0x0F) | ((ins.enc_hdr & 3) << 4) as u8;
    hdr[r - 3] = (hdr[r - 3] & !1) | u8::from(short);
    let nf = u16::from_be_bytes([hdr[r - 4], hdr[r - 3]]) & !0x7FE | (n_fields << 1) as u16;
    hdr[r - 4..r - 2].copy_from_slice(&nf.to_be_bytes());
    hdr[r - 6] &= 0xF0;
    Ok(hdr)
}

/// Takes the first PAGE_FREE record, which must be large enough.
fn reuse_redundant(pg: &mut [u8], p: &Place, total: usize) -> Res<(usize, usize)> {
    let free = usize::from(r2(pg, PAGE_FREE)?);
    if OLD_SUPREMUM_END + OLD_EXTRA > free || free > p.heap_top {
        return Err(format!("PAGE_FREE {free} is outside the heap").into());
    }
    let fextra = old_extra_size(pg, free)?;
    if free.checked_sub(fextra).is_none_or(|s| s < OLD_SUPREMUM_END) {
        return Err("the free record's header starts below the heap".into());
    }
    let fdata = old_data_size(pg, free)?;
    if free + fdata > p.heap_top || total > fextra + fdata {
        return Err(format!("the {}-byte free record cannot hold {total} bytes", fextra + fdata).into());
    }
    let garbage = usize::from(r2(pg, PAGE_GARBAGE)?);
    if garbage < fextra + fdata {
        return Err(format!("PAGE_GARBAGE {garbage} is less than the free record").into());
    }
    let next_free = r2(pg, free - 2)?;
    let nf = usize::from(next_free);
    if nf != 0 && (nf < OLD_SUPREMUM_END + OLD_EXTRA + 1 || p.heap_top < nf) {
        return Err(format!("the next free record {nf} is outside the heap").into());
    }
    w2(pg, PAGE_GARBAGE, (garbage - total) as u16)?;
    let heap_no = old_heap_no(pg, free)?;
    w2(pg, PAGE_FREE, next_free)?;
    Ok((free - fextra, heap_no))
}

fn heap_redundant(pg: &mut [u8], p: &Place, total: usize) -> Res<(usize, usize)> {
    if p.heap_top + total > p.last_slot {
        return Err(format!("a {total}-byte record does not fit between the heap and the directory").into());
    }
    let h = r2(pg, PAGE_N_HEAP)?;
    w2(pg, PAGE_N_HEAP, h.wrapping_add(1))?;
    w2(pg, PAGE_HEAP_TOP, (p.heap_top + total) as u16)?;
    Ok((p.heap_top, usize::from(h)))
}
