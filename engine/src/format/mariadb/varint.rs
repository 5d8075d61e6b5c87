//! The variable-length integers of MariaDB's redo records (`mlog_decode_varint`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarintError {
    /// The bytes end inside the integer.
    Truncated,
    /// A first byte 0xF1..0xFF, or a 5-byte value beyond 32 bits.
    Invalid,
}

impl std::fmt::Display for VarintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            VarintError::Truncated => "the bytes end inside the number",
            VarintError::Invalid => "not a valid variable-length number",
        })
    }
}

/// Bytes of the varint that starts with `first`: one more than its leading one bits
/// (the server's rule; lengths above 5 are invalid).
#[inline]
pub fn varint_len(first: u8) -> usize {
    first.leading_ones() as usize + 1
}

const MIN_2BYTE: u32 = 0x80;
const MIN_3BYTE: u32 = MIN_2BYTE + (1 << 14);
const MIN_4BYTE: u32 = MIN_3BYTE + (1 << 21);
const MIN_5BYTE: u32 = MIN_4BYTE + (1 << 28);

/// Decodes `mlog_decode_varint`: 0xxxxxxx; 10xxxxxx +1 byte (+0x80); 110xxxxx +2
/// (+0x4080); 1110xxxx +3 (+0x204080); 0xF0 +4 (+0x10204080). Returns (value, bytes).
#[inline]
pub fn read_varint(b: &[u8]) -> Result<(u32, usize), VarintError> {
    let first = *b.first().ok_or(VarintError::Truncated)?;
    let len = varint_len(first);
    // 0xF1..0xF7 have a 5-byte length but no valid value; 0xF8.. are longer still.
    if len > 5 || (len == 5 && first != 0xF0) {
        return Err(VarintError::Invalid);
    }
    let bytes = b.get(..len).ok_or(VarintError::Truncated)?;
    let tail = bytes[1..].iter().fold(0u64, |acc, &x| acc << 8 | u64::from(x));
    let value = match len {
        1 => u64::from(first),
        2 => u64::from(MIN_2BYTE) + (u64::from(first & 0x3F) << 8 | tail),
        3 => u64::from(MIN_3BYTE) + (u64::from(first & 0x1F) << 16 | tail),
        4 => u64::from(MIN_4BYTE) + (u64::from(first & 0x0F) << 24 | tail),
        _ => u64::from(MIN_5BYTE) + tail,
    };
    u32::try_from(value).map(|v| (v, len)).map_err(|_| VarintError::Invalid)
}

/// Bytes `write_varint` uses for `v`.
pub fn varint_size(v: u32) -> usize {
    match v {
        _ if v < MIN_2BYTE => 1,
        _ if v < MIN_3BYTE => 2,
        _ if v < MIN_4BYTE => 3,
        _ if v < MIN_5BYTE => 4,
        _ => 5,
    }
}

/// Encodes `mlog_encode_varint` (the inverse of `read_varint`).
pub fn write_varint(out: &mut Vec<u8>, v: u32) {
    match varint_size(v) {
        1 => out.push(v as u8),
        2 => out.extend_from_slice(&((v - MIN_2BYTE) as u16 | 0x8000).to_be_bytes()),
        3 => out.extend_from_slice(&((v - MIN_3BYTE) | 0xC0_0000).to_be_bytes()[1..]),
        4 => out.extend_from_slice(&((v - MIN_4BYTE) | 0xE000_0000).to_be_bytes()),
        _ => {
            out.push(0xF0);
            out.extend_from_slice(&(v - MIN_5BYTE).to_be_bytes());
        }
    }
}
