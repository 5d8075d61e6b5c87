//! `innohot extract`: an xbstream into a directory, fed in pieces of any size.
//!
//! Each file is created exclusively (the target's rule: O_CREAT|O_EXCL,
//! 0640, parents 0750), takes its chunks at ascending, contiguous offsets from
//! 0 (what every writer of the format produces; anything else means a damaged
//! or spliced stream), and is made durable at its end chunk. At the end of
//! the input every file must have had its end chunk and no chunk may be cut
//! short: `mbstream -x` accepts a stream truncated at a chunk boundary, which
//! here is an error naming each file left open.

use super::compress::{Decompressor, ZST_SUFFIX};
use crate::format::xbstream::{self, Chunk};
use crate::format::FormatError;
use crate::io::{TargetDir, TargetFile};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("byte {at} of the stream: {source}")]
    Format { at: u64, source: FormatError },
    #[error(
        "{path}: a chunk at offset {got} where the file's next byte is {expected}: chunks out of order or \
         missing (a damaged or spliced stream)"
    )]
    OutOfOrder { path: String, expected: u64, got: u64 },
    #[error("{path}: a chunk after the file's end chunk (the stream holds the file twice)")]
    AfterEnd { path: String },
    #[error("{path}: {what}: {source} (extract into a new or empty directory)")]
    Io { path: PathBuf, what: &'static str, source: std::io::Error },
    #[error("{path}: its zstd data ends inside a frame: the file is damaged; take the stream again")]
    CutInsideFrame { path: String },
    #[error("{path}: not zstd data ({source}): the file is damaged, or it is not compressed (leave out --decompress)")]
    NotZstd { path: String, source: std::io::Error },
    #[error("reading the stream: {0}")]
    Read(std::io::Error),
    #[error("the stream ends inside a chunk ({left} bytes of it read): it was cut short; take the stream again")]
    CutInsideChunk { left: usize },
    #[error(
        "the stream ends before the end of {}: it was cut short (the writer stopped or a transfer failed); \
         take the stream again",
        open.join(", ")
    )]
    FilesLeftOpen { open: Vec<String> },
}

/// What was extracted.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Each file and its size.
    pub files: BTreeMap<String, u64>,
    /// Each file's CRC-32 (zlib's), for the manifest check.
    pub crcs: BTreeMap<String, u32>,
    /// Bytes of the stream read.
    pub stream_bytes: u64,
    /// Chunks of an unknown type the writer marked ignorable.
    pub skipped_chunks: u64,
    /// Files written decompressed (`NAME.zst` in the stream, `NAME` on disk).
    pub decompressed: u64,
}

pub(super) struct OpenFile {
    file: Box<dyn TargetFile>,
    /// The file's next byte in the stream.
    next: u64,
    crc: flate2::Crc,
    /// `--decompress` of a `.zst`: the decoder and the next byte written.
    decoder: Option<(Decompressor, u64)>,
}

/// Turns an xbstream into files under a target directory.
pub struct Extractor<'a> {
    /// Stream bytes of a chunk not complete yet.
    pending: Vec<u8>,
    files: Files<'a>,
}

/// The files being written and those done.
pub(super) struct Files<'a> {
    target: &'a dyn TargetDir,
    pub(super) open: HashMap<String, OpenFile>,
    pub(super) report: ExtractReport,
    decompress: bool,
}

impl<'a> Extractor<'a> {
    pub fn new(target: &'a dyn TargetDir) -> Self {
        Extractor { pending: Vec::new(), files: Files::new(target, false) }
    }

    /// Files named `NAME.zst` (`backup --compress=zstd`) are written as
    /// `NAME`, decompressed as they arrive.
    pub fn decompressing(mut self) -> Self {
        self.files.decompress = true;
        self
    }

    /// Takes the next bytes of the stream (a piece of any size).
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(), ExtractError> {
        self.pending.extend_from_slice(bytes);
        let mut used = 0;
        loop {
            let at = self.files.report.stream_bytes;
            let decoded =
                xbstream::decode(&self.pending[used..]).map_err(|source| ExtractError::Format { at, source })?;
            let Some((chunk, len)) = decoded else { break };
            match chunk {
                Chunk::Payload { path, offset, data } => self.files.write(path, offset, data)?,
                Chunk::Eof { path } => self.files.close(path)?,
                Chunk::Skipped { .. } => self.files.report.skipped_chunks += 1,
            }
            used += len;
            self.files.report.stream_bytes += len as u64;
        }
        self.pending.drain(..used);
        Ok(())
    }

    /// The input ended: every file must be complete.
    pub fn finish(self) -> Result<ExtractReport, ExtractError> {
        if !self.pending.is_empty() {
            return Err(ExtractError::CutInsideChunk { left: self.pending.len() });
        }
        if !self.files.open.is_empty() {
            let mut open: Vec<String> = self.files.open.into_keys().collect();
            open.sort();
            return Err(ExtractError::FilesLeftOpen { open });
        }
        Ok(self.files.report)
    }
}

impl<'a> Files<'a> {
    pub(super) fn new(target: &'a dyn TargetDir, decompress: bool) -> Self {
        Files { target, open: HashMap::new(), report: ExtractReport::default(), decompress }
    }

    pub(super) fn write(&mut self, path: &str, offset: u64, data: &[u8]) -> Result<(), ExtractError> {
        if self.report.files.contains_key(path) {
            return Err(ExtractError::AfterEnd { path: path.into() });
        }
        if !self.open.contains_key(path) {
            let file = self.open_file(path)?;
            self.open.insert(path.to_string(), file);
        }
        let f = self.open.get_mut(path).expect("opened above");
        if offset != f.next {
            return Err(ExtractError::OutOfOrder { path: path.into(), expected: f.next, got: offset });
        }
        let io = |source| ExtractError::Io { path: path.into(), what: "writing", source };
        match &mut f.decoder {
            None => f.file.write_at(data, offset).map_err(io)?,
            Some((decoder, at)) => {
                let file = &mut f.file;
                let mut write = |bytes: &[u8]| {
                    file.write_at(bytes, *at)?;
                    *at += bytes.len() as u64;
                    Ok(())
                };
                decoder.feed(data, &mut write).map_err(|source| match source.kind() {
                    std::io::ErrorKind::Other => ExtractError::NotZstd { path: path.into(), source },
                    _ => io(source),
                })?;
            }
        }
        f.crc.update(data);
        f.next += data.len() as u64;
        Ok(())
    }

    pub(super) fn close(&mut self, path: &str) -> Result<(), ExtractError> {
        if self.report.files.contains_key(path) {
            return Err(ExtractError::AfterEnd { path: path.into() });
        }
        let mut f = match self.open.remove(path) {
            Some(f) => f,
            // A file with no payload at all: empty.
            None => self.open_file(path)?,
        };
        if let Some((decoder, _)) = &f.decoder {
            if !decoder.complete() {
                return Err(ExtractError::CutInsideFrame { path: path.into() });
            }
            self.report.decompressed += 1;
        }
        f.file.sync().map_err(|source| ExtractError::Io { path: path.into(), what: "syncing", source })?;
        self.report.files.insert(path.to_string(), f.next);
        self.report.crcs.insert(path.to_string(), f.crc.sum());
        Ok(())
    }

    fn open_file(&self, path: &str) -> Result<OpenFile, ExtractError> {
        let (name, decoder) = match path.strip_suffix(ZST_SUFFIX).filter(|n| self.decompress && !n.is_empty()) {
            Some(name) => {
                let d = Decompressor::new().map_err(|source| ExtractError::Io {
                    path: path.into(),
                    what: "starting zstd for",
                    source,
                })?;
                (name, Some((d, 0)))
            }
            None => (path, None),
        };
        Ok(OpenFile { file: self.create(name)?, next: 0, crc: flate2::Crc::new(), decoder })
    }

    fn create(&self, path: &str) -> Result<Box<dyn TargetFile>, ExtractError> {
        let rel = Path::new(path);
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            self.target.create_dir_all(parent).map_err(|source| ExtractError::Io {
                path: parent.into(),
                what: "creating the directory",
                source,
            })?;
        }
        self.target.create_file(rel).map_err(|source| ExtractError::Io { path: rel.into(), what: "creating", source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::xbstream::{eof_chunk, payload_header};
    use crate::io::local::RealLocalFs;
    use crate::io::real::RealTargetDir;
    use crate::io::LocalFs;

    fn chunk(path: &str, offset: u64, data: &[u8]) -> Vec<u8> {
        let mut c = payload_header(path, offset, data).unwrap();
        c.extend_from_slice(data);
        c
    }

    fn stream() -> Vec<u8> {
        [
            chunk("ibdata1", 0, b"0123"),
            chunk("db/t.ibd", 0, b"ab"),
            chunk("ibdata1", 4, b"4567"),
            eof_chunk("ibdata1").unwrap(),
            eof_chunk("db/empty.frm").unwrap(),
            chunk("db/t.ibd", 2, b"c"),
            eof_chunk("db/t.ibd").unwrap(),
        ]
        .concat()
    }

    fn extract(pieces: &[&[u8]]) -> (tempfile::TempDir, Result<ExtractReport, ExtractError>) {
        let dir = tempfile::tempdir().unwrap();
        let target = RealTargetDir::create(&dir.path().join("x"), false).unwrap();
        let mut e = Extractor::new(&target);
        let r = pieces.iter().try_for_each(|p| e.feed(p)).and_then(|()| e.finish());
        (dir, r)
    }

    #[test]
    fn a_stream_fed_in_any_pieces_gives_the_same_files() {
        let s = stream();
        for piece in [1, 3, 7, 64, s.len()] {
            let pieces: Vec<&[u8]> = s.chunks(piece).collect();
            let (dir, r) = extract(&pieces);
            let report = r.unwrap();
            let sizes: Vec<(&str, u64)> = report.files.iter().map(|(p, n)| (p.as_str(), *n)).collect();
            assert_eq!(sizes, [("db/empty.frm", 0), ("db/t.ibd", 3), ("ibdata1", 8)]);
            assert_eq!(report.stream_bytes, s.len() as u64);
            let x = dir.path().join("x");
            let read = |p: &str| RealLocalFs.read_all(&x.join(p)).unwrap();
            assert_eq!(read("ibdata1"), b"01234567");
            assert_eq!(read("db/t.ibd"), b"abc");
            assert_eq!(read("db/empty.frm"), b"");
        }
    }

    #[test]
    fn a_truncated_stream_is_refused_naming_what_is_missing() {
        let s = stream();
        // Cut at the boundary after ibdata1's end chunk: db/t.ibd is left open.
        let boundary =
            [chunk("ibdata1", 0, b"0123"), chunk("db/t.ibd", 0, b"ab"), chunk("ibdata1", 4, b"4567")].concat().len()
                + eof_chunk("ibdata1").unwrap().len();
        let e = extract(&[&s[..boundary]]).1.unwrap_err().to_string();
        assert!(e.contains("ends before the end of db/t.ibd") && e.contains("cut short"), "{e}");
        let e = extract(&[&s[..boundary + 5]]).1.unwrap_err().to_string();
        assert!(e.contains("ends inside a chunk (5 bytes"), "{e}");
    }

    #[test]
    fn out_of_order_repeated_or_clashing_chunks_are_refused() {
        let gap = [chunk("f", 0, b"ab"), chunk("f", 3, b"d")].concat();
        let e = extract(&[&gap]).1.unwrap_err().to_string();
        assert!(e.contains("f: a chunk at offset 3 where the file's next byte is 2"), "{e}");
        let twice = [chunk("f", 0, b"a"), eof_chunk("f").unwrap(), chunk("f", 0, b"a")].concat();
        assert!(extract(&[&twice]).1.unwrap_err().to_string().contains("after the file's end chunk"));
        let mut damaged = chunk("f", 0, b"abc");
        *damaged.last_mut().unwrap() ^= 1;
        let e = extract(&[&damaged]).1.unwrap_err().to_string();
        assert!(e.contains("byte 0 of the stream") && e.contains("damaged in transit"), "{e}");
    }
}
