//! `innohot_prepare_journal`: prepare's doublewrite. Pages are changed in place,
//! and a page write cut short by a crash (power loss) leaves a torn page the redo
//! cannot mend. So every write prepare is about to make goes first into this file,
//! which is made durable (fdatasync, directory fsync) before the first page is
//! touched, and removed once every written file is durable. A prepare that finds
//! a whole journal writes it again (the page writes it records are the result of
//! applying the redo, so writing them twice is harmless); one it finds torn was
//! cut before any page was touched, and is dropped.
//!
//! One kind of write needs no record: a page the redo rebuilds from its INIT_PAGE,
//! which prepare builds without reading it (as recovery does). A re-run never
//! reads what such a write left, torn or not, and builds the page again from the
//! unchanged redo copy; leaving it out halves the bytes a prepare of freshly
//! written pages (BLOBs, bulk-built indexes) writes.
//!
//! Layout: `innohot prepare journal 1\n`, then per write: path length (u32 BE),
//! the path relative to the backup, offset (u64 BE), length (u32 BE), the bytes;
//! then 0xFFFFFFFF, the number of writes (u64 BE), and the CRC-32C of everything
//! before it (u32 BE).

use super::{io_err, RestoreError, Result};
use crate::format::page_compressed;
use crate::io::{sparse, EditFile, LocalFs};
use std::collections::BTreeSet;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

pub const JOURNAL: &str = "innohot_prepare_journal";
const MAGIC: &[u8] = b"innohot prepare journal 1\n";
const END: u32 = u32::MAX;

/// One write prepare makes: `bytes` at `offset` of the file `rel` (relative to the backup).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageWrite {
    pub rel: PathBuf,
    pub offset: u64,
    pub bytes: Vec<u8>,
}

/// Bytes the journal is written in at a time (a page's record is its header and bytes).
const JOURNAL_CHUNK: usize = 1 << 20;

/// Records `writes` in the backup's journal, durably: the writes whose old bytes a
/// re-run needs (a page prepare rebuilds without reading it needs no record).
pub fn record<'a>(fs: &dyn LocalFs, dir: &Path, writes: impl IntoIterator<Item = &'a PageWrite>) -> Result<()> {
    let path = dir.join(JOURNAL);
    let mut f = fs.create_file(&path).map_err(io_err(&path, "creating"))?;
    let mut at = 0u64;
    let mut buf: Vec<u8> = Vec::with_capacity(JOURNAL_CHUNK + 65536);
    let mut flush = |buf: &mut Vec<u8>| -> Result<()> {
        f.write_at(buf, at).map_err(io_err(&path, "writing"))?;
        at += buf.len() as u64;
        buf.clear();
        Ok(())
    };
    let mut crc = 0u32;
    buf.extend_from_slice(MAGIC);
    let mut count = 0u64;
    for w in writes {
        count += 1;
        let name = w.rel.as_os_str().as_bytes();
        buf.extend((name.len() as u32).to_be_bytes());
        buf.extend(name);
        buf.extend(w.offset.to_be_bytes());
        buf.extend((w.bytes.len() as u32).to_be_bytes());
        buf.extend_from_slice(&w.bytes);
        if buf.len() >= JOURNAL_CHUNK {
            crc = crc32c::crc32c_append(crc, &buf);
            flush(&mut buf)?;
        }
    }
    buf.extend(END.to_be_bytes());
    buf.extend(count.to_be_bytes());
    crc = crc32c::crc32c_append(crc, &buf);
    buf.extend(crc.to_be_bytes());
    flush(&mut buf)?;
    f.sync().map_err(io_err(&path, "fdatasync of"))?;
    fs.sync_dir(dir).map_err(io_err(dir, "fsync of"))
}

/// The writes a whole journal holds; None when it is torn.
fn parse(data: &[u8]) -> Option<Vec<PageWrite>> {
    let body = data.strip_prefix(MAGIC)?;
    let crc_at = data.len().checked_sub(4)?;
    let crc = u32::from_be_bytes(data[crc_at..].try_into().ok()?);
    if crc32c::crc32c(&data[..crc_at]) != crc {
        return None;
    }
    let mut rest = &body[..body.len().checked_sub(4)?];
    let mut take = |n: usize| -> Option<&[u8]> {
        let (a, b) = (rest.get(..n)?, rest.get(n..)?);
        rest = b;
        Some(a)
    };
    let mut out = Vec::new();
    loop {
        let len = u32::from_be_bytes(take(4)?.try_into().ok()?);
        if len == END {
            let count = u64::from_be_bytes(take(8)?.try_into().ok()?);
            return (count == out.len() as u64).then_some(out);
        }
        let rel = PathBuf::from(std::ffi::OsString::from_vec(take(len as usize)?.to_vec()));
        let offset = u64::from_be_bytes(take(8)?.try_into().ok()?);
        let n = u32::from_be_bytes(take(4)?.try_into().ok()?) as usize;
        out.push(PageWrite { rel, offset, bytes: take(n)?.to_vec() });
    }
}

/// Makes the writes (each file fdatasynced once), then removes the journal.
pub fn apply(fs: &dyn LocalFs, dir: &Path, writes: &[PageWrite]) -> Result<()> {
    let files: BTreeSet<&Path> = writes.iter().map(|w| w.rel.as_path()).collect();
    for rel in files {
        let path = dir.join(rel);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return Err(RestoreError::BadMetadata {
                path: dir.join(JOURNAL),
                detail: format!("it names {}, which is not a file of the backup", rel.display()),
            });
        }
        let mut f = fs.open_edit(&path).map_err(io_err(&path, "opening"))?;
        let sparse_pages =
            sparse_page_size(&mut *f, writes.iter().filter(|w| w.rel == rel)).map_err(io_err(&path, "reading"))?;
        let size = f.size().map_err(io_err(&path, "reading the size of"))?;
        for w in writes.iter().filter(|w| w.rel == rel) {
            match sparse_pages {
                Some(ps) if w.bytes.len() == ps && w.offset.is_multiple_of(ps as u64) => {
                    sparse::rewrite_page(&mut *f, &w.bytes, w.offset, size)
                }
                _ => f.write_at(&w.bytes, w.offset),
            }
            .map_err(io_err(&path, "writing"))?;
        }
        f.sync().map_err(io_err(&path, "fdatasync of"))?;
    }
    forget(fs, dir)
}

/// The page size of a PAGE_COMPRESSED tablespace, whose pages are written with
/// holes after their frames as the server leaves them; None for other files. Page
/// 0 as the writes leave it, or else as the file holds it.
fn sparse_page_size<'a>(
    f: &mut dyn EditFile,
    mut writes: impl Iterator<Item = &'a PageWrite>,
) -> io::Result<Option<usize>> {
    if let Some(w) = writes.find(|w| w.offset == 0) {
        return Ok(page_compressed::sparse_page_size(&w.bytes));
    }
    let mut head = vec![0u8; sparse::BLOCK];
    let n = f.read_at(&mut head, 0)?;
    Ok(page_compressed::sparse_page_size(&head[..n]))
}

/// Removes the journal, durably.
fn forget(fs: &dyn LocalFs, dir: &Path) -> Result<()> {
    let path = dir.join(JOURNAL);
    fs.remove_file(&path).map_err(io_err(&path, "removing"))?;
    fs.sync_dir(dir).map_err(io_err(dir, "fsync of"))
}

/// What an interrupted prepare left: a whole journal is written again, a torn one
/// dropped. Returns whether pages were written.
pub fn recover(fs: &dyn LocalFs, dir: &Path) -> Result<bool> {
    let path = dir.join(JOURNAL);
    if !fs.exists(&path) {
        return Ok(false);
    }
    match parse(&fs.read_all(&path).map_err(io_err(&path, "reading"))?) {
        Some(writes) => apply(fs, dir, &writes).map(|()| true),
        None => forget(fs, dir).map(|()| false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::memfs::MemFs;

    #[test]
    fn a_whole_journal_is_replayed_and_a_torn_one_dropped() {
        let fs = MemFs::new();
        let dir = Path::new("/b");
        fs.put_file(&dir.join("db/t.ibd"), &[0u8; 1024]);
        let writes = vec![
            PageWrite { rel: "db/t.ibd".into(), offset: 512, bytes: vec![7; 512] },
            PageWrite { rel: "db/t.ibd".into(), offset: 2048, bytes: vec![9; 512] },
        ];
        record(&fs, dir, &writes).unwrap();
        let whole = fs.read_all(&dir.join(JOURNAL)).unwrap();
        assert_eq!(parse(&whole), Some(writes.clone()));
        for cut in 0..whole.len() {
            assert_eq!(parse(&whole[..cut]), None, "cut at {cut}");
        }
        assert!(recover(&fs, dir).unwrap());
        let t = fs.read_all(&dir.join("db/t.ibd")).unwrap();
        assert_eq!((&t[512..1024], &t[2048..], t.len()), (&[7u8; 512][..], &[9u8; 512][..], 2560));
        assert!(!fs.exists(&dir.join(JOURNAL)));
        fs.put_file(&dir.join(JOURNAL), &whole[..whole.len() - 1]);
        assert!(!recover(&fs, dir).unwrap());
        assert!(!fs.exists(&dir.join(JOURNAL)));
        assert_eq!(fs.read_all(&dir.join("db/t.ibd")).unwrap(), t);
    }
}
