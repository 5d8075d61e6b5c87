//! The index field information at the start of the zlib stream
//! (`page_zip_fields_encode()` / `page_zip_fields_decode()`).
//!
//! One entry per (merged) column, 1 byte, or 2 with the high bit set in the
//! first: bit 0 = NOT NULL; 0/1 a variable-length column of at most 255
//! bytes, 126/127 a longer one, otherwise `fixed_len << 1 | not_null`.
//! Adjacent NOT NULL fixed-length columns are merged into one (at most 768
//! bytes), DB_TRX_ID starts a new merged column. The last entry is, on leaf
//! pages, the position of DB_TRX_ID among the merged columns (0: a
//! secondary index), on non-leaf pages the number of nullable fields.

use super::{Result, ZipError};

/// The largest fixed-length column InnoDB keeps fixed (DICT_MAX_FIXED_COL_LEN).
const MAX_FIXED: usize = 768;
/// REC_MAX_N_FIELDS.
const MAX_FIELDS: usize = 1023;

/// A column of the index as the compressed page describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipField {
    /// 0 for a variable-length column.
    pub fixed_len: usize,
    pub not_null: bool,
    /// A variable-length column that may be longer than 255 bytes (2-byte
    /// lengths, possibly stored externally).
    pub big: bool,
}

/// The decoded field information of one compressed page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipIndex {
    pub fields: Vec<ZipField>,
    /// Size of the null bitmap, in fields.
    pub n_nullable: usize,
    /// Leaf pages of a clustered index: the merged column starting with
    /// DB_TRX_ID (DB_ROLL_PTR follows).
    pub trx_id_col: Option<usize>,
    pub leaf: bool,
    pub spatial: bool,
    /// The encoded bytes, as found in the stream.
    pub raw: Vec<u8>,
}

impl ZipIndex {
    /// Decodes `raw` for a leaf or non-leaf page of a B-tree or R-tree.
    pub fn decode(raw: &[u8], leaf: bool, spatial: bool) -> Result<ZipIndex> {
        let n = count_entries(raw)?;
        let mut at = 0;
        let mut fields = Vec::with_capacity(n);
        for _ in 0..n {
            let (val, two) = read_val(raw, &mut at)?;
            fields.push(decode_field(val, two));
        }
        let (last, _) = read_val(raw, &mut at)?;
        let counted = fields.iter().filter(|f| !f.not_null).count();
        let (n_nullable, trx_id_col) = if leaf {
            match last {
                0 => (counted, None),
                v if v >= n => return Err(ZipError::Fields(format!("DB_TRX_ID column {v} of {n} fields"))),
                v => (counted, Some(v)),
            }
        } else if counted > last {
            return Err(ZipError::Fields(format!("{counted} nullable fields but the page says {last}")));
        } else {
            (last, None)
        };
        Ok(ZipIndex { fields, n_nullable, trx_id_col, leaf, spatial, raw: raw.to_vec() })
    }

    /// The position of the node pointer field in a node pointer record
    /// (dict_index_get_n_unique_in_tree_nonleaf of the page's index).
    pub fn node_ptr_pos(&self) -> usize {
        if self.spatial {
            1
        } else {
            self.fields.len()
        }
    }
}

/// The number of column entries (all but the last entry).
fn count_entries(raw: &[u8]) -> Result<usize> {
    let mut at = 0;
    let mut n = 0usize;
    while at < raw.len() {
        at += if raw[at] & 0x80 != 0 { 2 } else { 1 };
        n += 1;
    }
    if n == 0 || n - 1 > MAX_FIELDS {
        return Err(ZipError::Fields(format!("{} entries in {} bytes", n, raw.len())));
    }
    if at > raw.len() {
        return Err(ZipError::Fields(format!("the last entry is cut at byte {}", raw.len())));
    }
    Ok(n - 1)
}

fn read_val(raw: &[u8], at: &mut usize) -> Result<(usize, bool)> {
    let b = *raw.get(*at).ok_or_else(|| ZipError::Fields(format!("cut at byte {at}")))?;
    *at += 1;
    if b & 0x80 == 0 {
        return Ok((usize::from(b), false));
    }
    let b2 = *raw.get(*at).ok_or_else(|| ZipError::Fields(format!("cut at byte {at}")))?;
    *at += 1;
    Ok((usize::from(b & 0x7f) << 8 | usize::from(b2), true))
}

fn decode_field(val: usize, two: bool) -> ZipField {
    let not_null = val & 1 != 0;
    if two || (2..126).contains(&val) {
        let len = val >> 1;
        // Long fixed-length columns are variable-length ones to InnoDB.
        if len > MAX_FIXED || len == 0 {
            return ZipField { fixed_len: 0, not_null, big: len > 255 };
        }
        return ZipField { fixed_len: len, not_null, big: false };
    }
    ZipField { fixed_len: 0, not_null, big: val >= 126 }
}

/// A column of a real index, for [`encode_fields`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColSpec {
    /// 0 for a variable-length column.
    pub fixed_len: usize,
    pub not_null: bool,
    /// Maximum length above 255 bytes (or a BLOB type).
    pub big: bool,
}

/// What ends the field information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldsTail {
    /// Leaf page of a clustered index: DB_TRX_ID's position in the index.
    ClusteredLeaf {
        trx_id_pos: usize,
    },
    SecondaryLeaf,
    NonLeaf {
        n_nullable: usize,
    },
}

/// `page_zip_fields_encode()`: the field information for `cols`.
pub fn encode_fields(cols: &[ColSpec], tail: FieldsTail) -> Vec<u8> {
    let trx_pos = match tail {
        FieldsTail::ClusteredLeaf { trx_id_pos } => Some(trx_id_pos),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut col, mut trx_col, mut sum) = (0usize, 0usize, 0usize);
    for (i, c) in cols.iter().enumerate() {
        if c.fixed_len == 0 {
            if sum != 0 {
                put_fixed(&mut out, sum << 1 | 1);
                sum = 0;
                col += 1;
            }
            out.push(u8::from(c.not_null) | if c.big { 0x7e } else { 0 });
            col += 1;
        } else if c.not_null {
            if sum != 0 && sum + c.fixed_len > MAX_FIXED {
                put_fixed(&mut out, sum << 1 | 1);
                sum = 0;
                col += 1;
            }
            if i != 0 && Some(i) == trx_pos {
                if sum != 0 {
                    put_fixed(&mut out, sum << 1 | 1);
                    col += 1;
                }
                trx_col = col;
                sum = c.fixed_len;
            } else {
                sum += c.fixed_len;
            }
        } else {
            if sum != 0 {
                put_fixed(&mut out, sum << 1 | 1);
                sum = 0;
                col += 1;
            }
            put_fixed(&mut out, c.fixed_len << 1);
            col += 1;
        }
    }
    if sum != 0 {
        put_fixed(&mut out, sum << 1 | 1);
    }
    let last = match tail {
        FieldsTail::ClusteredLeaf { .. } => trx_col,
        FieldsTail::SecondaryLeaf => 0,
        FieldsTail::NonLeaf { n_nullable } => n_nullable,
    };
    if last < 128 {
        out.push(last as u8);
    } else {
        out.extend([0x80 | (last >> 8) as u8, last as u8]);
    }
    out
}

fn put_fixed(out: &mut Vec<u8>, val: usize) {
    if val < 126 {
        out.push(val as u8);
    } else {
        out.extend([0x80 | (val >> 8) as u8, val as u8]);
    }
}
