//! An incremental backup's copy of one tablespace (docs/FORMATS.md §7b): of
//! every validated chunk, only the pages changed since the base
//! (`format::delta::changed_pages`) go to `NAME.delta`, a block at a time,
//! front to back (a stream takes it as it is written); `NAME.meta` is
//! written when the copy ends and the layout is known for sure.
//!
//! A table whose page 0 is not on disk yet (MariaDB writes a new table's
//! page 0 lazily) has no layout and no space id to put in a meta: it was
//! created after the server's last checkpoint, so after the base, and the
//! incremental's redo holds its creation. It is copied whole as `db/t.new`,
//! as mariabackup does: its prepare moves `db/t.new` into the base as
//! `db/t.ibd` before it applies the deltas and the redo, whatever the DDL
//! markers say, so the copy waits until DDL is blocked (`pool`).

use crate::format::delta::{self, DeltaMeta};
use crate::format::page::PageLayout;
use crate::format::Lsn;
use crate::io::TargetFile;
use std::io;
use std::path::{Path, PathBuf};

/// `NAME.delta` beside `NAME` (`db/t.ibd` → `db/t.ibd.delta`).
pub fn delta_path(rel: &Path) -> PathBuf {
    let mut s = rel.as_os_str().to_owned();
    s.push(delta::DELTA_SUFFIX);
    PathBuf::from(s)
}

/// `NAME.meta` beside `NAME`.
pub fn meta_path(rel: &Path) -> PathBuf {
    let mut s = rel.as_os_str().to_owned();
    s.push(delta::META_SUFFIX);
    PathBuf::from(s)
}

/// `db/t.new` for `db/t.ibd`: a whole table in an incremental backup.
pub fn new_path(rel: &Path) -> PathBuf {
    rel.with_extension("new")
}

/// What one tablespace's copy is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyForm {
    /// The file itself (a full backup).
    Whole,
    /// `NAME.delta` and `NAME.meta` (an incremental backup).
    Delta,
    /// The whole file as `db/t.new` (an incremental backup's table whose
    /// page 0 was not on disk yet: see the top of this module).
    New,
}

/// The files one tablespace's copy is made of. A copy renamed or removed
/// during the backup is renamed or removed file by file.
pub fn copy_files(rel: &Path, form: CopyForm) -> Vec<PathBuf> {
    match form {
        CopyForm::Whole => vec![rel.to_path_buf()],
        CopyForm::Delta => vec![delta_path(rel), meta_path(rel)],
        CopyForm::New => vec![new_path(rel)],
    }
}

/// The pages a delta copy looked at and took, for the backup's report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeltaCount {
    pub pages_scanned: u64,
    pub pages_written: u64,
}

/// `NAME.delta` and `NAME.meta` being written.
pub struct DeltaOutput {
    delta: Box<dyn TargetFile>,
    meta: Box<dyn TargetFile>,
    from_lsn: Lsn,
    /// Bytes of `NAME.delta` written so far.
    written: u64,
    /// The block being filled: its page numbers and pages.
    block_pages: Vec<u32>,
    block: Vec<u8>,
    page_size: Option<usize>,
    count: DeltaCount,
}

impl DeltaOutput {
    pub fn new(delta: Box<dyn TargetFile>, meta: Box<dyn TargetFile>, from_lsn: Lsn) -> Self {
        DeltaOutput {
            delta,
            meta,
            from_lsn,
            written: 0,
            block_pages: Vec::new(),
            block: Vec::new(),
            page_size: None,
            count: DeltaCount::default(),
        }
    }

    pub fn count(&self) -> DeltaCount {
        self.count
    }

    /// Bytes of `NAME.delta` written so far (the last block is written by `finish`).
    pub fn delta_bytes(&self) -> u64 {
        self.written
    }

    /// Takes a validated chunk of whole pages that starts at byte `offset` of
    /// the tablespace. Chunks come in file order, each once.
    pub fn take_chunk(&mut self, chunk: &[u8], offset: u64, page_size: usize) -> io::Result<()> {
        let bad = |e: crate::format::FormatError| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
        match self.page_size {
            // A copy that learned page 0 late (a new table) may have guessed the
            // server's size first: every chunk read whole pages of one size.
            Some(size) if size != page_size && self.count.pages_written > 0 => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("the page size changed from {size} to {page_size} bytes during the copy"),
                ))
            }
            _ => self.page_size = Some(page_size),
        }
        let first = u32::try_from(offset / page_size as u64)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "page number beyond 2^32"))?;
        let changed = delta::changed_pages(chunk, page_size, first, self.from_lsn).map_err(bad)?;
        self.count.pages_scanned += (chunk.len() / page_size) as u64;
        self.count.pages_written += changed.len() as u64;
        let room = delta::pages_per_block(page_size);
        for p in changed {
            if self.block_pages.len() == room {
                self.write_block(page_size, false)?;
            }
            self.block_pages.push(p.page_no);
            self.block.extend_from_slice(p.page);
        }
        Ok(())
    }

    fn write_block(&mut self, page_size: usize, last: bool) -> io::Result<()> {
        let header = delta::block_header(page_size, &self.block_pages, last)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        self.delta.write_at(&header, self.written)?;
        self.written += header.len() as u64;
        if !self.block.is_empty() {
            self.delta.write_at(&self.block, self.written)?;
            self.written += self.block.len() as u64;
        }
        self.block_pages.clear();
        self.block.clear();
        Ok(())
    }

    /// Writes the last block and the meta, both made durable. `layout` and
    /// `space_id` are the tablespace's, from its page 0 (or the server's
    /// layout for a file whose page 0 was never written).
    pub fn finish(&mut self, layout: PageLayout, space_id: u32) -> io::Result<u64> {
        let page_size = layout.physical_size;
        self.write_block(page_size, true)?;
        self.delta.sync()?;
        let meta = delta::encode_meta(&DeltaMeta::for_layout(layout, space_id));
        self.meta.write_at(meta.as_bytes(), 0)?;
        self.meta.sync()?;
        Ok(self.written)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::delta::{decode, parse_meta};
    use crate::io::mem::MemFile;

    const PS: usize = 4096;

    /// A page with LSN `lsn` (0: all zeros, a page never written).
    fn page(no: u32, lsn: u64) -> Vec<u8> {
        let mut p = vec![0u8; PS];
        if lsn != 0 {
            p[4..8].copy_from_slice(&no.to_be_bytes());
            p[16..24].copy_from_slice(&lsn.to_be_bytes());
            p[100] = no as u8;
        }
        p
    }

    fn output() -> (DeltaOutput, MemFile, MemFile) {
        let (d, m) = (MemFile::default(), MemFile::default());
        (DeltaOutput::new(Box::new(d.clone()), Box::new(m.clone()), 1000), d, m)
    }

    #[test]
    fn takes_pages_at_or_after_from_lsn_across_chunks_and_blocks() {
        let (mut out, delta, meta) = output();
        let room = delta::pages_per_block(PS) as u32;
        // Two and a half blocks of changed pages, with older and unwritten pages between.
        let lsns: Vec<u64> = (0..room * 5 + 10).map(|n| [1000, 999, 0, 5000][n as usize % 4]).collect();
        let all: Vec<u8> = lsns.iter().enumerate().flat_map(|(n, &l)| page(n as u32, l)).collect();
        for (i, chunk) in all.chunks(PS * 7).enumerate() {
            out.take_chunk(chunk, (i * PS * 7) as u64, PS).unwrap();
        }
        let layout = PageLayout::for_new_file(PS, None);
        let written = out.finish(layout, 42).unwrap();
        let bytes = delta.bytes();
        assert_eq!(written, bytes.len() as u64);
        let want: Vec<u32> = (0..lsns.len() as u32).filter(|&n| lsns[n as usize] >= 1000).collect();
        let got = decode(PS, &bytes).unwrap();
        assert_eq!(got.iter().map(|p| p.page_no).collect::<Vec<_>>(), want);
        assert!(got.iter().all(|p| p.page == page(p.page_no, lsns[p.page_no as usize]).as_slice()));
        assert!(want.len() > 2 * room as usize, "the case spans three blocks");
        assert_eq!(out.count(), DeltaCount { pages_scanned: lsns.len() as u64, pages_written: want.len() as u64 });
        let m = parse_meta(std::str::from_utf8(&meta.bytes()).unwrap()).unwrap();
        assert_eq!((m.page_size, m.zip_size, m.space_id), (PS, 0, 42));
        assert_eq!((delta.syncs(), meta.syncs()), (1, 1));
    }

    #[test]
    fn nothing_changed_is_one_empty_last_block() {
        let (mut out, delta, _) = output();
        out.take_chunk(&[page(0, 10), page(1, 999)].concat(), 0, PS).unwrap();
        out.finish(PageLayout::for_new_file(PS, None), 7).unwrap();
        assert_eq!(delta.bytes(), delta::encode(PS, &[]).unwrap());
    }

    #[test]
    fn a_full_last_block_is_marked_last() {
        let (mut out, delta, _) = output();
        let room = delta::pages_per_block(PS) as u32;
        let all: Vec<u8> = (0..room).flat_map(|n| page(n, 2000)).collect();
        out.take_chunk(&all, 0, PS).unwrap();
        out.finish(PageLayout::for_new_file(PS, None), 7).unwrap();
        let pages: Vec<_> =
            all.chunks(PS).enumerate().map(|(n, p)| delta::DeltaPage { page_no: n as u32, page: p }).collect();
        assert_eq!(delta.bytes(), delta::encode(PS, &pages).unwrap());
    }

    #[test]
    fn copy_names() {
        assert_eq!(delta_path(Path::new("db/t.ibd")), Path::new("db/t.ibd.delta"));
        assert_eq!(meta_path(Path::new("ibdata1")), Path::new("ibdata1.meta"));
        assert_eq!(copy_files(Path::new("db/t.ibd"), CopyForm::Whole), vec![PathBuf::from("db/t.ibd")]);
        let delta = copy_files(Path::new("db/t.ibd"), CopyForm::Delta);
        assert_eq!(delta, vec![PathBuf::from("db/t.ibd.delta"), PathBuf::from("db/t.ibd.meta")]);
        assert_eq!(copy_files(Path::new("db/t#P#p0.ibd"), CopyForm::New), vec![PathBuf::from("db/t#P#p0.new")]);
    }
}
