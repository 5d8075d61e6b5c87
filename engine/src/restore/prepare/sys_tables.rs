//! InnoDB's table dictionary, SYS_TABLES, read from the system tablespace's pages:
//! which tablespace each table lives in. Prepare and verify ask it only for an
//! InnoDB table whose `.ibd` is not in the backup: a table created with
//! innodb_file_per_table=OFF lives in the system tablespace (SPACE 0) and has no
//! `.ibd`, any other needs its file.
//!
//! SYS_TABLES is a ROW_FORMAT=REDUNDANT clustered index whose root page number is
//! DICT_HDR_TABLES in the dictionary header (page 7 of the system tablespace). Its
//! records are (NAME, DB_TRX_ID, DB_ROLL_PTR, ID, N_COLS, TYPE, MIX_ID, MIX_LEN,
//! CLUSTER_NAME, SPACE); node pointers are (NAME, child page number). Pure: pages
//! come from the caller.

use super::mariadb::index::OLD_SUPREMUM;
use super::mariadb::index::{self, next_rec, old_n_fields, old_short, IndexDefect, Res, OLD_EXTRA, OLD_INFIMUM};
use crate::format::page::{FIL_NULL, FIL_PAGE_DATA, FIL_PAGE_NEXT};
use std::collections::{BTreeMap, BTreeSet};

/// The dictionary header's page in the system tablespace.
pub const DICT_HDR_PAGE: u32 = 7;
/// DICT_HDR_TABLES: the root page of SYS_TABLES, in the dictionary header.
const DICT_HDR_TABLES: usize = FIL_PAGE_DATA + 32;
/// REC_INFO_DELETED_FLAG in the info bits byte (6 bytes before a REDUNDANT record).
const DELETED: u8 = 0x20;
const NAME_FIELD: usize = 0;
const SPACE_FIELD: usize = 9;
/// A B-tree deeper than this, or a leaf chain longer than this, is not a dictionary.
const MAX_LEVELS: usize = 32;
const MAX_LEAVES: usize = 1 << 20;

/// Why the system tablespace's pages do not make a dictionary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DictError {
    #[error("page 7 (the dictionary header) cannot be read")]
    HeaderUnreadable,
    #[error("page 7 is too short for a dictionary header")]
    HeaderShort,
    #[error("SYS_TABLES (root page {root}) is deeper than {MAX_LEVELS} levels")]
    TooDeep { root: u32 },
    #[error("the SYS_TABLES leaf pages loop back to page {page_no}")]
    LeavesLoop { page_no: u32 },
    #[error("SYS_TABLES page {page_no} cannot be read")]
    PageUnreadable { page_no: u32 },
    #[error("page {page_no} is not a page of SYS_TABLES (a REDUNDANT index page)")]
    NotDictionaryPage { page_no: u32 },
    #[error("SYS_TABLES page {page_no}: {defect}")]
    Record { page_no: u32, defect: IndexDefect },
}

/// Every table SYS_TABLES lists, by its InnoDB name (`db/t`, `db/t#P#p0`, in the
/// file name encoding), with the id of the tablespace that holds it. `read_page`
/// gives a page of the system tablespace. Err says why the pages do not make a
/// dictionary.
pub fn sys_tables(read_page: &mut dyn FnMut(u32) -> Option<Vec<u8>>) -> Result<BTreeMap<String, u32>, DictError> {
    let header = read_page(DICT_HDR_PAGE).ok_or(DictError::HeaderUnreadable)?;
    let root = be_u32(&header, DICT_HDR_TABLES).ok_or(DictError::HeaderShort)?;
    let mut page_no = root;
    let mut leaf = None;
    for _ in 0..MAX_LEVELS {
        let pg = index_page(read_page, page_no)?;
        if index::is_leaf(&pg) {
            leaf = Some(pg);
            break;
        }
        let first = next_rec(&pg, OLD_INFIMUM, false).map_err(|e| at(page_no, e))?;
        let child = field(&pg, first, 1).and_then(|f| be_u32(f, 0).ok_or_else(|| "a short child page number".into()));
        page_no = child.map_err(|e| at(page_no, e))?;
    }
    let mut pg = leaf.ok_or(DictError::TooDeep { root })?;
    let mut out = BTreeMap::new();
    let mut seen = BTreeSet::new();
    loop {
        let this = page_no_of(&pg);
        if !seen.insert(this) || seen.len() > MAX_LEAVES {
            return Err(DictError::LeavesLoop { page_no: this });
        }
        leaf_records(&pg, &mut out).map_err(|e| at(this, e))?;
        match be_u32(&pg, FIL_PAGE_NEXT) {
            Some(FIL_NULL) | None => return Ok(out),
            Some(next) => pg = index_page(read_page, next)?,
        }
    }
}

/// The live (not delete-marked) records of one leaf page: NAME -> SPACE.
fn leaf_records(pg: &[u8], out: &mut BTreeMap<String, u32>) -> Res<()> {
    let mut rec = next_rec(pg, OLD_INFIMUM, false)?;
    // A page holds fewer records than bytes: more steps mean a loop.
    for _ in 0..pg.len() {
        if rec == OLD_SUPREMUM {
            return Ok(());
        }
        let deleted = index::r1(pg, index::back(rec, OLD_EXTRA)?)? & DELETED != 0;
        if !deleted {
            let name = String::from_utf8_lossy(field(pg, rec, NAME_FIELD)?).into_owned();
            let space = be_u32(field(pg, rec, SPACE_FIELD)?, 0).ok_or("a SPACE field shorter than 4 bytes")?;
            out.insert(name, space);
        }
        rec = next_rec(pg, rec, false)?;
    }
    Err("the records of the page do not end at the supremum".into())
}

/// Field `n` of a REDUNDANT record: its bytes (empty for SQL NULL).
fn field(pg: &[u8], rec: usize, n: usize) -> Res<&[u8]> {
    let fields = old_n_fields(pg, rec)?;
    if n >= fields {
        return Err(format!("the record at byte {rec} has {fields} fields, not {}", n + 1).into());
    }
    let short = old_short(pg, rec)?;
    let end_of = |i: usize| -> Res<(usize, bool)> {
        Ok(if short {
            let v = index::r1(pg, index::back(rec, OLD_EXTRA + i + 1)?)?;
            (usize::from(v & 0x7F), v & 0x80 != 0)
        } else {
            let v = index::r2(pg, index::back(rec, OLD_EXTRA + 2 * (i + 1))?)?;
            (usize::from(v & 0x3FFF), v & 0x8000 != 0)
        })
    };
    let start = if n == 0 { 0 } else { end_of(n - 1)?.0 };
    let (end, null) = end_of(n)?;
    if null {
        return Ok(&[]);
    }
    pg.get(rec + start..rec + end).filter(|_| start <= end).ok_or_else(|| format!("field {n} leaves the page").into())
}

/// A page of SYS_TABLES: an index page in the REDUNDANT format.
fn index_page(read_page: &mut dyn FnMut(u32) -> Option<Vec<u8>>, page_no: u32) -> Result<Vec<u8>, DictError> {
    let pg = read_page(page_no).ok_or(DictError::PageUnreadable { page_no })?;
    if pg.len() <= OLD_SUPREMUM || !index::is_index_page(&pg) || index::is_comp(&pg) {
        return Err(DictError::NotDictionaryPage { page_no });
    }
    Ok(pg)
}

fn at(page_no: u32, defect: IndexDefect) -> DictError {
    DictError::Record { page_no, defect }
}

fn page_no_of(pg: &[u8]) -> u32 {
    be_u32(pg, crate::format::page::FIL_PAGE_OFFSET).unwrap_or(FIL_NULL)
}

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4).map(|s| u32::from_be_bytes(s.try_into().expect("4 bytes")))
}
