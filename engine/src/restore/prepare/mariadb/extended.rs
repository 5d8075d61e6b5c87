//! EXTENDED redo records (`mrec_ext_t`, mtr0types.h): decoded into [`Extended`]
//! with the length checks of `log_phys_t::apply` (log0recv.cc), then applied to
//! one page by the row-format and undo appliers.

use super::index::{self, IndexDefect, Res};
use super::insert::{insert_dynamic, insert_redundant, Insert};
use super::{delete, undo};
use crate::format::mariadb::varint::{read_varint, varint_len};

pub const INIT_ROW_FORMAT_REDUNDANT: u8 = 0;
pub const INIT_ROW_FORMAT_DYNAMIC: u8 = 1;
pub const UNDO_INIT: u8 = 2;
pub const UNDO_APPEND: u8 = 3;
pub const INSERT_HEAP_REDUNDANT: u8 = 4;
pub const INSERT_REUSE_REDUNDANT: u8 = 5;
pub const INSERT_HEAP_DYNAMIC: u8 = 6;
pub const INSERT_REUSE_DYNAMIC: u8 = 7;
pub const DELETE_ROW_FORMAT_REDUNDANT: u8 = 8;
pub const DELETE_ROW_FORMAT_DYNAMIC: u8 = 9;
pub const TRIM_PAGES: u8 = 10;

/// One EXTENDED record's payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Extended<'a> {
    /// INIT_ROW_FORMAT_REDUNDANT (false) or _DYNAMIC (true).
    InitIndex {
        comp: bool,
    },
    UndoInit,
    /// UNDO_APPEND: the undo record's bytes.
    UndoAppend {
        rec: &'a [u8],
    },
    Insert(Insert<'a>),
    DeleteRedundant {
        prev: usize,
    },
    DeleteDynamic {
        prev: usize,
        hdr_size: usize,
        data_size: usize,
    },
    /// TRIM_PAGES: the page number of the record is the tablespace's new size.
    TrimPages,
}

/// An EXTENDED record the server's recovery would refuse too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {detail}")]
pub struct ExtError {
    pub what: &'static str,
    pub detail: IndexDefect,
}

/// The subtype's name, for errors.
pub fn name(subtype: u8) -> &'static str {
    const NAMES: [&str; 11] = [
        "INIT_ROW_FORMAT_REDUNDANT",
        "INIT_ROW_FORMAT_DYNAMIC",
        "UNDO_INIT",
        "UNDO_APPEND",
        "INSERT_HEAP_REDUNDANT",
        "INSERT_REUSE_REDUNDANT",
        "INSERT_HEAP_DYNAMIC",
        "INSERT_REUSE_DYNAMIC",
        "DELETE_ROW_FORMAT_REDUNDANT",
        "DELETE_ROW_FORMAT_DYNAMIC",
        "TRIM_PAGES",
    ];
    NAMES.get(usize::from(subtype)).copied().unwrap_or("unknown EXTENDED subtype")
}

impl Extended<'_> {
    pub fn subtype(&self) -> u8 {
        match self {
            Extended::InitIndex { comp } => u8::from(*comp),
            Extended::UndoInit => UNDO_INIT,
            Extended::UndoAppend { .. } => UNDO_APPEND,
            Extended::Insert(i) => INSERT_HEAP_REDUNDANT + 2 * u8::from(i.comp) + u8::from(i.reuse),
            Extended::DeleteRedundant { .. } => DELETE_ROW_FORMAT_REDUNDANT,
            Extended::DeleteDynamic { .. } => DELETE_ROW_FORMAT_DYNAMIC,
            Extended::TrimPages => TRIM_PAGES,
        }
    }
}

/// Reads one varint of at most `max` bytes; `room` says whether bytes must remain after it.
fn field(rest: &mut &[u8], max: usize, room: bool, what: &str) -> Res<usize> {
    let first = *rest.first().ok_or_else(|| format!("the record ends before its {what}"))?;
    let len = varint_len(first);
    if len > max || len > rest.len() || (room && len == rest.len()) {
        return Err(format!("its {what} ({len}-byte varint) does not fit the {} bytes left", rest.len()).into());
    }
    let (v, _) = read_varint(rest).map_err(|e| format!("its {what}: {e}"))?;
    *rest = &rest[len..];
    Ok(v as usize)
}

/// Decodes an EXTENDED payload (subtype byte first).
pub fn decode(payload: &[u8]) -> Result<Extended<'_>, ExtError> {
    let subtype = *payload.first().ok_or_else(|| ExtError { what: "EXTENDED", detail: "an empty record".into() })?;
    let bad = |detail: IndexDefect| ExtError { what: name(subtype), detail };
    let len = payload.len();
    let mut rest = &payload[1..];
    let rest = &mut rest;
    let ext = match subtype {
        INIT_ROW_FORMAT_REDUNDANT | INIT_ROW_FORMAT_DYNAMIC | UNDO_INIT | TRIM_PAGES if len != 1 => {
            return Err(bad(format!("{len} bytes, not 1").into()))
        }
        INIT_ROW_FORMAT_REDUNDANT | INIT_ROW_FORMAT_DYNAMIC => Extended::InitIndex { comp: subtype == 1 },
        UNDO_INIT => Extended::UndoInit,
        TRIM_PAGES => Extended::TrimPages,
        UNDO_APPEND if len <= 3 => return Err(bad(format!("{len} bytes, at least 4 needed").into())),
        UNDO_APPEND => Extended::UndoAppend { rec: &payload[1..] },
        INSERT_HEAP_REDUNDANT..=INSERT_REUSE_DYNAMIC => Extended::Insert(decode_insert(subtype, rest).map_err(bad)?),
        DELETE_ROW_FORMAT_REDUNDANT => {
            if !(2..=4).contains(&len) || varint_len(payload[1]) != len - 1 {
                return Err(bad(format!("{len} bytes are not a subtype and one varint").into()));
            }
            Extended::DeleteRedundant { prev: field(rest, 3, false, "predecessor").map_err(bad)? }
        }
        DELETE_ROW_FORMAT_DYNAMIC => {
            let prev = field(rest, 3, true, "predecessor").map_err(bad)?;
            let hdr_size = field(rest, 2, true, "header size").map_err(bad)?;
            if rest.is_empty() || varint_len(rest[0]) != rest.len() {
                return Err(bad("the data size is not the last varint".into()));
            }
            Extended::DeleteDynamic { prev, hdr_size, data_size: field(rest, 3, false, "data size").map_err(bad)? }
        }
        _ => return Err(bad(format!("subtype {subtype} does not exist").into())),
    };
    Ok(ext)
}

fn decode_insert<'a>(subtype: u8, rest: &mut &'a [u8]) -> Res<Insert<'a>> {
    if rest.is_empty() {
        return Err("a bare subtype byte".into());
    }
    let comp = subtype & 2 != 0;
    let reuse = subtype & 1 != 0;
    let prev = field(rest, 3, true, "predecessor")?;
    let shift = if comp && reuse { field(rest, 3, true, "shift")? } else { 0 };
    let enc_hdr = field(rest, if comp { 3 } else { 2 }, true, "encoded header")?;
    let hdr_c = field(rest, 2, true, "shared header length")?;
    let data_c = field(rest, if comp { 3 } else { 2 }, false, "shared data length")?;
    Ok(Insert { comp, reuse, prev, shift, enc_hdr, hdr_c, data_c, data: rest })
}

/// Applies a decoded record (not TRIM_PAGES, which is about the file) to page `page_no`.
pub fn apply(pg: &mut [u8], page_no: u32, ext: &Extended<'_>) -> Result<(), ExtError> {
    let what = name(ext.subtype());
    let bad = |detail: IndexDefect| ExtError { what, detail };
    if page_no < 3 {
        return Err(bad(format!("page {page_no}: EXTENDED records never name pages 0..2").into()));
    }
    match ext {
        Extended::InitIndex { comp } => index::create(pg, *comp),
        Extended::UndoInit => undo::init(pg),
        Extended::UndoAppend { rec } => undo::append(pg, rec).map_err(bad)?,
        Extended::Insert(ins) if ins.comp => insert_dynamic(pg, page_no, ins).map_err(bad)?,
        Extended::Insert(ins) => insert_redundant(pg, page_no, ins).map_err(bad)?,
        Extended::DeleteRedundant { prev } => delete::delete_redundant(pg, page_no, *prev).map_err(bad)?,
        Extended::DeleteDynamic { prev, hdr_size, data_size } => {
            delete::delete_dynamic(pg, page_no, *prev, *hdr_size, *data_size).map_err(bad)?
        }
        Extended::TrimPages => return Err(bad("TRIM_PAGES changes the file, not a page".into())),
    }
    Ok(())
}
