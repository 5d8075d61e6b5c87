//! `--compress=zstd`: each streamed file sent as `NAME.zst`, zstd frames one
//! after the other (XtraBackup 8.0's layout; `zstd -d` reads it), and read
//! back by `innohot extract --decompress`.
//!
//! A chunk's bytes are cut into pieces of [`PIECE`] compressed on their own,
//! one frame each, so that several threads share a chunk and a reader never
//! holds more than a piece's window.

use std::io;

/// The suffix of a compressed file in the stream.
pub const ZST_SUFFIX: &str = ".zst";
/// Bytes compressed into one frame.
pub const PIECE: usize = 1 << 20;

/// How a stream compresses its files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compression {
    /// zstd's level (1 fastest .. 19; 3 is zstd's default).
    pub level: i32,
    /// Threads compressing one chunk's pieces at once.
    pub threads: usize,
}

impl Default for Compression {
    fn default() -> Self {
        Compression { level: 3, threads: 1 }
    }
}

/// `data` as zstd frames of at most [`PIECE`] bytes each, in order; an empty
/// `data` gives one empty frame (so that `zstd -d` reads an empty file back).
pub fn compress(data: &[u8], c: Compression) -> io::Result<Vec<u8>> {
    if data.is_empty() {
        return zstd::bulk::compress(data, c.level);
    }
    let pieces: Vec<&[u8]> = data.chunks(PIECE).collect();
    let threads = c.threads.clamp(1, pieces.len());
    if threads == 1 {
        return compress_pieces(&pieces, c.level);
    }
    let per_thread = pieces.len().div_ceil(threads);
    let frames: io::Result<Vec<Vec<u8>>> = std::thread::scope(|s| {
        let workers: Vec<_> =
            pieces.chunks(per_thread).map(|group| s.spawn(move || compress_pieces(group, c.level))).collect();
        workers.into_iter().map(|w| w.join().expect("a zstd worker panicked")).collect()
    });
    Ok(frames?.concat())
}

/// Each piece its own frame, through one compression context (set up once:
/// zstd's context costs more than compressing a small piece).
fn compress_pieces(pieces: &[&[u8]], level: i32) -> io::Result<Vec<u8>> {
    let mut z = zstd::bulk::Compressor::new(level)?;
    let mut out = Vec::new();
    for p in pieces {
        out.extend_from_slice(&z.compress(p)?);
    }
    Ok(out)
}

/// Decompresses one file's frames as its bytes arrive, in any pieces.
pub struct Decompressor {
    inner: zstd::stream::raw::Decoder<'static>,
    out: Vec<u8>,
    /// Whether the input so far ends at a frame's end.
    at_frame_end: bool,
}

impl Decompressor {
    pub fn new() -> io::Result<Self> {
        Ok(Decompressor { inner: zstd::stream::raw::Decoder::new()?, out: vec![0; 1 << 17], at_frame_end: true })
    }

    /// Feeds `data`; `sink` takes the decompressed bytes in order.
    pub fn feed(&mut self, data: &[u8], sink: &mut dyn FnMut(&[u8]) -> io::Result<()>) -> io::Result<()> {
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let mut input = InBuffer::around(data);
        loop {
            let mut output = OutBuffer::around(&mut self.out[..]);
            let before = input.pos();
            let hint = self.inner.run(&mut input, &mut output)?;
            let (produced, full) = (output.pos(), output.pos() == output.capacity());
            if hint == 0 {
                self.at_frame_end = true;
            } else if input.pos() > before || produced > 0 {
                self.at_frame_end = false;
            }
            if produced > 0 {
                sink(&self.out[..produced])?;
            }
            if input.pos() == data.len() && !full {
                return Ok(());
            }
        }
    }

    /// Whether the input ended where a frame ends (not cut inside one).
    pub fn complete(&self) -> bool {
        self.at_frame_end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decompress_in_pieces(z: &[u8], piece: usize) -> (Vec<u8>, bool) {
        let mut d = Decompressor::new().unwrap();
        let mut out = Vec::new();
        for p in z.chunks(piece.max(1)) {
            d.feed(p, &mut |b| {
                out.extend_from_slice(b);
                Ok(())
            })
            .unwrap();
        }
        (out, d.complete())
    }

    #[test]
    fn frames_round_trip_whatever_the_threads_and_the_pieces_fed() {
        let data: Vec<u8> = (0..(3 * PIECE + 12345)).map(|i| (i % 251) as u8 ^ (i / 7919) as u8).collect();
        let one = compress(&data, Compression { level: 1, threads: 1 }).unwrap();
        let four = compress(&data, Compression { level: 1, threads: 4 }).unwrap();
        assert_eq!(one, four, "the same frames whatever the threads");
        for piece in [1 << 20, 4099, 1 << 16] {
            assert_eq!(decompress_in_pieces(&four, piece), (data.clone(), true));
        }
        assert_eq!(zstd::stream::decode_all(&four[..]).unwrap(), data, "zstd's own reader takes the frames");
    }

    #[test]
    fn an_empty_file_is_one_empty_frame_and_a_cut_frame_is_seen() {
        let empty = compress(&[], Compression::default()).unwrap();
        assert!(!empty.is_empty());
        assert_eq!(decompress_in_pieces(&empty, 3), (Vec::new(), true));
        let z = compress(&[7u8; 5000], Compression::default()).unwrap();
        let (_, complete) = decompress_in_pieces(&z[..z.len() - 2], 1000);
        assert!(!complete);
    }
}
