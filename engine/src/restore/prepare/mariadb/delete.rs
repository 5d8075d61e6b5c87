//! DELETE_ROW_FORMAT_{REDUNDANT,DYNAMIC}, as `page_apply_delete_redundant` and
//! `page_apply_delete_dynamic` (page0cur.cc) apply them: unlink the record after
//! the given predecessor, fix its slot's n_owned, free its space, rebalance.

use super::index::*;

/// The checks both formats make before looking at the records.
fn frame(pg: &[u8], page_no: u32, comp: bool) -> Res<usize> {
    let n_slots = usize::from(r2(pg, PAGE_N_DIR_SLOTS)?);
    let n_recs = r2(pg, PAGE_N_RECS)?;
    let sup = if comp { NEW_SUPREMUM } else { OLD_SUPREMUM };
    if n_recs == 0
        || n_slots < 2
        || !is_index_page(pg)
        || !page_no_is(pg, page_no)
        || r2(pg, sup - 2)? != 0
        || is_comp(pg) != comp
    {
        return Err(format!(
            "the page is not a non-empty index page of this format (n_recs {n_recs}, n_slots {n_slots})"
        )
        .into());
    }
    slot_at(pg.len(), n_slots - 1)
}

/// Walks from the deleted record to the one owning its slot (at most n_recs steps);
/// returns it, its n_owned less one, and its slot.
fn owner(pg: &[u8], rec: usize, last_slot: usize, comp: bool) -> Res<(usize, u8, usize)> {
    let (bot, sup, extra) =
        if comp { (NEW_SUPREMUM_END, NEW_SUPREMUM, NEW_EXTRA) } else { (OLD_SUPREMUM_END, OLD_SUPREMUM, OLD_EXTRA) };
    let mut steps = r2(pg, PAGE_N_RECS)?;
    let mut s = rec;
    let owned = loop {
        let n = n_owned(pg, s, comp)?;
        if n != 0 {
            break n;
        }
        if comp {
            let step = r2(pg, s - 2)?;
            if usize::from(step) < NEW_EXTRA || step > 0u16.wrapping_sub(NEW_EXTRA as u16) {
                return Err(format!("record {s} links {step} bytes on").into());
            }
        }
        s = next_rec(pg, s, comp)?;
        if s != sup && (s < bot + extra || last_slot < s) {
            return Err(format!("the record list leads to {s}, outside the records").into());
        }
        if steps == 0 {
            return Err("no record owns a slot within n_recs steps (a cycle?)".into());
        }
        steps -= 1;
    };
    Ok((s, owned - 1, find_slot(pg, s, last_slot)?))
}

/// Unlinks `rec` (after `prev`, before `next`), then frees and rebalances.
fn unlink(pg: &mut [u8], comp: bool, prev: usize, rec: usize, next: usize, sizes: (usize, usize)) -> Res<()> {
    let last_slot = slot_at(pg.len(), usize::from(r2(pg, PAGE_N_DIR_SLOTS)?) - 1)?;
    let (mut s, owned, slot) = owner(pg, rec, last_slot, comp)?;
    if rec == s {
        s = prev;
        w2(pg, slot, prev as u16)?;
    }
    if comp {
        w2(pg, prev - 2, (next as u16).wrapping_sub(prev as u16))?;
    } else {
        copy(pg, rec - 2, prev - 2, 2)?;
    }
    set_n_owned(pg, s, owned, comp)?;
    let (data_size, extra_size) = sizes;
    mem_free(pg, rec, data_size, extra_size)?;
    if owned < MIN_N_OWNED {
        balance_slot(pg, (slot_at(pg.len(), 0)? - slot) / 2)?;
    }
    Ok(())
}

/// `page_apply_delete_dynamic`.
pub fn delete_dynamic(pg: &mut [u8], page_no: u32, prev: usize, hdr_size: usize, data_size: usize) -> Res<()> {
    let slot = frame(pg, page_no, true)?;
    let p = usize::from((NEW_INFIMUM + prev) as u16);
    if p > slot {
        return Err(format!("the predecessor {p} is past the directory").into());
    }
    let rec = next_rec(pg, p, true)?;
    if rec < NEW_SUPREMUM_END + NEW_EXTRA || slot < rec {
        return Err(format!("the deleted record {rec} is outside the records").into());
    }
    let extra_size = NEW_EXTRA + hdr_size;
    if rec < NEW_SUPREMUM_END + extra_size || slot < rec + data_size {
        return Err(format!("a {extra_size}+{data_size}-byte record at {rec} does not fit the records").into());
    }
    let next = next_rec(pg, rec, true)?;
    if next != NEW_SUPREMUM && (next < NEW_SUPREMUM_END + NEW_EXTRA || slot < next) {
        return Err(format!("the successor {next} is outside the records").into());
    }
    unlink(pg, true, p, rec, next, (data_size, extra_size))
}

/// `page_apply_delete_redundant`.
pub fn delete_redundant(pg: &mut [u8], page_no: u32, prev: usize) -> Res<()> {
    let slot = frame(pg, page_no, false)?;
    let p = OLD_INFIMUM + prev;
    if p > slot {
        return Err(format!("the predecessor {p} is past the directory").into());
    }
    let rec = next_rec(pg, p, false)?;
    if rec < OLD_SUPREMUM_END + OLD_EXTRA || slot < rec {
        return Err(format!("the deleted record {rec} is outside the records").into());
    }
    let extra_size = old_extra_size(pg, rec)?;
    let data_size = old_data_size(pg, rec)?;
    if rec < OLD_SUPREMUM_END + extra_size || slot < rec + data_size {
        return Err(format!("a {extra_size}+{data_size}-byte record at {rec} does not fit the records").into());
    }
    let next = next_rec(pg, rec, false)?;
    if next != OLD_SUPREMUM && (next < OLD_SUPREMUM_END + OLD_EXTRA || slot < next) {
        return Err(format!("the successor {next} is outside the records").into());
    }
    unlink(pg, false, p, rec, next, (data_size, extra_size))
}
