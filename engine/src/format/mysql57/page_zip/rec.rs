//! Field offsets of a COMPACT record described by a [`ZipIndex`]
//! (`rec_init_offsets()` / `rec_get_offsets_reverse()` on the index the
//! compressed page describes).

use super::fields::ZipIndex;
use super::NODE_PTR_SIZE;

/// One field of a record, relative to the record origin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub start: usize,
    pub len: usize,
    pub ext: bool,
}

/// Where a record's fields are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// Header bytes before the origin, the 5 fixed ones included.
    pub extra: usize,
    /// Bytes from the origin to the end of the record.
    pub data: usize,
    pub fields: Vec<Field>,
}

impl Layout {
    pub fn any_ext(&self) -> bool {
        self.fields.iter().any(|f| f.ext)
    }
}

/// The layout of a record whose variable header byte `i` (0 = the byte just
/// before the 5 fixed ones, going away from the origin) is `byte(i)`;
/// `None` when a byte is out of reach or the index is unusable.
pub fn layout(ix: &ZipIndex, node_ptr: bool, byte: impl Fn(usize) -> Option<u8>) -> Option<Layout> {
    let node_pos = if node_ptr { Some(ix.node_ptr_pos()) } else { None };
    let n = match node_pos {
        Some(p) => p + 1,
        None => ix.fields.len(),
    };
    if node_pos.is_some_and(|p| p > ix.fields.len()) {
        return None;
    }
    let mut lens = ix.n_nullable.div_ceil(8);
    let (mut null_bit, mut offs) = (0usize, 0usize);
    let mut fields = Vec::with_capacity(n);
    for i in 0..n {
        let start = offs;
        if Some(i) == node_pos {
            offs += NODE_PTR_SIZE;
            fields.push(Field { start, len: NODE_PTR_SIZE, ext: false });
            continue;
        }
        let f = ix.fields[i];
        if !f.not_null {
            let is_null = byte(null_bit / 8)? & (1 << (null_bit % 8)) != 0;
            null_bit += 1;
            if is_null {
                fields.push(Field { start, len: 0, ext: false });
                continue;
            }
        }
        let (len, ext) = if f.fixed_len != 0 {
            (f.fixed_len, false)
        } else {
            let b = usize::from(byte(lens)?);
            lens += 1;
            if f.big && b & 0x80 != 0 {
                let v = b << 8 | usize::from(byte(lens)?);
                lens += 1;
                (v & 0x3fff, v & 0x4000 != 0)
            } else {
                (b, false)
            }
        };
        offs += len;
        fields.push(Field { start, len, ext });
    }
    Some(Layout { extra: 5 + lens, data: offs, fields })
}

/// The layout of the record at `rec` of `frame`.
pub fn frame_layout(frame: &[u8], rec: usize, ix: &ZipIndex, node_ptr: bool) -> Option<Layout> {
    layout(ix, node_ptr, |i| rec.checked_sub(6 + i).and_then(|at| frame.get(at)).copied())
}
