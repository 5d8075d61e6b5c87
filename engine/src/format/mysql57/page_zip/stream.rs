//! The zlib stream of a compressed page: a 2-byte zlib header declaring at
//! most the logical page size as window, a first deflate block with the
//! field information ended by a full flush (an empty stored block,
//! `00 00 ff ff` on a byte boundary), the record bytes, the Adler-32 of
//! everything inflated.

use super::{Result, ZipError, PAGE_DATA};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

/// The inflated stream of a compressed page.
pub struct Inflated {
    pub fields: Vec<u8>,
    pub records: Vec<u8>,
    /// Bytes of the zlib stream, header and Adler-32 included.
    pub len: usize,
}

fn err(at: usize, what: impl Into<String>) -> ZipError {
    ZipError::Stream { at: PAGE_DATA + at, what: what.into() }
}

/// Inflates `input` (the compressed page from PAGE_DATA up to where the
/// uncompressed trailer begins) for a page of `1 << wbits` bytes.
pub fn inflate(input: &[u8], wbits: u32, max_out: usize) -> Result<Inflated> {
    check_header(input, wbits)?;
    let (out, used) = inflate_raw(&input[2..], max_out)?;
    let end = 2 + used;
    let check = input.get(end..end + 4).ok_or_else(|| err(end, "the Adler-32 is cut off"))?;
    if check != adler32(&out).to_be_bytes() {
        return Err(err(end, "incorrect Adler-32 of the inflated data"));
    }
    let n_fields = fields_len(input, &out)?;
    Ok(Inflated { fields: out[..n_fields].to_vec(), records: out[n_fields..].to_vec(), len: end + 4 })
}

fn check_header(input: &[u8], wbits: u32) -> Result<()> {
    if input.len() < 2 {
        return Err(err(0, "no room for a zlib header"));
    }
    let (cmf, flg) = (input[0], input[1]);
    if cmf & 0x0f != 8 || (u16::from(cmf) << 8 | u16::from(flg)) % 31 != 0 {
        return Err(err(0, format!("not a zlib header: {cmf:02x} {flg:02x}")));
    }
    if u32::from(cmf >> 4) + 8 > wbits {
        return Err(err(0, format!("window of 2^{} bytes above 2^{wbits}", (cmf >> 4) + 8)));
    }
    if flg & 0x20 != 0 {
        return Err(err(1, "a preset dictionary is required"));
    }
    Ok(())
}

/// Inflates a raw deflate stream to its end: the output and the bytes used.
fn inflate_raw(input: &[u8], max_out: usize) -> Result<(Vec<u8>, usize)> {
    let mut z = Decompress::new(false);
    let mut out = vec![0u8; max_out];
    match z.decompress(input, &mut out, FlushDecompress::Finish) {
        Ok(Status::StreamEnd) => {
            out.truncate(z.total_out() as usize);
            Ok((out, z.total_in() as usize))
        }
        Ok(_) if z.total_out() as usize == max_out => Err(err(2, "inflates to more than the page holds")),
        Ok(_) => Err(err(2 + z.total_in() as usize, "the stream does not end before the page trailer")),
        Err(e) => Err(err(2 + z.total_in() as usize, format!("inflate: {e}"))),
    }
}

/// How many of the inflated bytes `out` the first deflate block (the field
/// information) holds: what inflating up to the first full-flush marker
/// gives.
fn fields_len(input: &[u8], out: &[u8]) -> Result<usize> {
    // The field information is at most 2 * 1025 bytes: its block ends early.
    let mut p = 2;
    while p + 4 <= input.len().min(4096) {
        if input[p..p + 4] == [0, 0, 0xff, 0xff] {
            let mut z = Decompress::new(false);
            let mut buf = vec![0u8; out.len() + 1];
            let part = &input[2..p + 4];
            if let Ok(Status::Ok | Status::BufError) = z.decompress(part, &mut buf, FlushDecompress::Sync) {
                let n = z.total_out() as usize;
                if z.total_in() as usize == part.len() && n > 0 && n <= out.len() && buf[..n] == out[..n] {
                    return Ok(n);
                }
            }
        }
        p += 1;
    }
    Err(err(2, "no full flush ends the field information"))
}

/// A zlib stream of `fields` (full flush) and `records` at `level`, with a
/// header declaring a window of `1 << wbits` bytes.
pub fn deflate(fields: &[u8], records: &[u8], level: u32, wbits: u32) -> Result<Vec<u8>> {
    let cmf = 0x08 | ((wbits - 8) << 4) as u8;
    let mut flg: u8 = 0x80;
    let rem = (u16::from(cmf) << 8 | u16::from(flg)) % 31;
    if rem != 0 {
        flg += (31 - rem) as u8;
    }
    let mut out = vec![cmf, flg];
    let mut z = Compress::new(Compression::new(level.min(10)), false);
    run(&mut z, fields, &mut out, FlushCompress::Full)?;
    run(&mut z, records, &mut out, FlushCompress::Finish)?;
    let mut all = fields.to_vec();
    all.extend_from_slice(records);
    out.extend(adler32(&all).to_be_bytes());
    Ok(out)
}

fn run(z: &mut Compress, mut input: &[u8], out: &mut Vec<u8>, flush: FlushCompress) -> Result<()> {
    loop {
        out.reserve(input.len() + 1024);
        let before = z.total_in();
        let status = z.compress_vec(input, out, flush).map_err(|e| err(0, format!("deflate: {e}")))?;
        input = &input[(z.total_in() - before) as usize..];
        let done = match flush {
            FlushCompress::Finish => status == Status::StreamEnd,
            _ => input.is_empty() && out.len() < out.capacity(),
        };
        if done {
            return Ok(());
        }
    }
}

/// Adler-32 (RFC 1950).
pub fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    b << 16 | a
}
