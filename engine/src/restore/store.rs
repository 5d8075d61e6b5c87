//! The backup's tablespaces as a [`PageStore`] for the redo appliers: a page is
//! read from its file the first time the redo names it and kept in memory until
//! it is written back, so memory grows with the pages the redo touches, never
//! with the size of the data.

use super::journal::{self, PageWrite};
use super::{io_err, RestoreError, Result};
use crate::format::page::{self, PageLayout};
use crate::format::page_compressed;
use crate::io::{EditFile, LocalFs};
use crate::restore::prepare::{PageMap, PageSet, PageStore};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Open files kept at most; more are closed (a backup may hold many thousand tables).
const OPEN_FILES: usize = 256;
/// Page 0 is read with this much of the file (the largest page size).
const PAGE0_READ: usize = 65536;

/// One tablespace of the backup.
#[derive(Debug, Clone)]
pub struct Space {
    pub path: PathBuf,
    pub layout: PageLayout,
    /// PAGE_COMPRESSED (FSP flags): its pages may be stored compressed. They are
    /// inflated when read and compressed again when written back, as the
    /// server's flush does ([`FileStore::write_back`]).
    pub page_compressed: bool,
    /// The algorithm its pages are compressed with: the FSP flags' for full_crc32,
    /// else the one found on the pages read (the server's setting when it wrote them).
    pub algorithm: Option<page_compressed::Algorithm>,
    /// FSP flags (page 0): a full_crc32 tablespace's compression algorithm.
    pub flags: u32,
    /// Page 0 was not written when the file was copied: the layout is assumed.
    pub unwritten: bool,
}

/// The tablespaces by id, and the pages the redo named so far.
pub struct FileStore<'a> {
    fs: &'a dyn LocalFs,
    spaces: BTreeMap<u32, Space>,
    open: HashMap<u32, Box<dyn EditFile>>,
    pages: PageMap<Vec<u8>>,
    /// The first problem met while reading a page (the applier only sees None).
    problem: Option<RestoreError>,
    /// Files whose page 0 is not written yet: no space id to file them under.
    pub skipped: Vec<PathBuf>,
    /// The server's `innodb_compression_level` (backup-my.cnf): what it compresses
    /// PAGE_COMPRESSED pages with.
    pub compression_level: u32,
    /// The CRC-32C field of full_crc32 PAGE_COMPRESSED pages as read: the server
    /// never rewrites it in a page it compresses (only the frame gets a checksum),
    /// so a page compressed again keeps it, as the server's flush would.
    inner_crc: HashMap<(u32, u32), [u8; 4]>,
    /// Pages [`FileStore::write_back`] stored compressed.
    pub pages_compressed: u64,
    /// Pages handed over as zeros, never read: the redo rebuilds them from INIT_PAGE
    /// ([`PageStore::take_initialized_page`]), so their writes need no journal record.
    unread: PageSet,
}

/// A full_crc32 tablespace's compression algorithm (FSP flags bits 5-7).
fn flags_algorithm(flags: u32, page_compressed: bool) -> Option<page_compressed::Algorithm> {
    let full_crc32 = flags & page::FSP_FLAGS_FCRC32_MARKER != 0;
    (page_compressed && full_crc32)
        .then(|| page_compressed::Algorithm::from_code(u64::from((flags >> 5) & 7)))
        .flatten()
}

impl<'a> FileStore<'a> {
    pub fn new(fs: &'a dyn LocalFs) -> Self {
        FileStore {
            fs,
            spaces: BTreeMap::new(),
            open: HashMap::new(),
            pages: PageMap::default(),
            problem: None,
            skipped: Vec::new(),
            compression_level: 6,
            inner_crc: HashMap::new(),
            pages_compressed: 0,
            unread: PageSet::default(),
        }
    }

    pub fn spaces(&self) -> &BTreeMap<u32, Space> {
        &self.spaces
    }

    /// Files a tablespace under the id its page 0 holds; refuses an encrypted one.
    pub fn add(&mut self, path: &Path) -> Result<()> {
        let mut f = self.fs.open_read(path).map_err(io_err(path, "opening"))?;
        let mut head = vec![0u8; PAGE0_READ];
        let got = f.read_at(&mut head, 0).map_err(io_err(path, "reading page 0 of"))?;
        head.truncate(got);
        if head.len() < page::FSP_SPACE_FLAGS + 4 || head[..page::MIN_PAGE_SIZE.min(head.len())].iter().all(|&b| b == 0)
        {
            self.skipped.push(path.to_path_buf());
            return Ok(());
        }
        let bad = |detail: String| RestoreError::BadPage { path: path.to_path_buf(), page: 0, page_lsn: 0, detail };
        let layout = page::layout_from_page0(&head).map_err(|e| bad(e.to_string()))?;
        let fsp = page::fsp_header(&head).map_err(|e| bad(e.to_string()))?;
        let size = f.size().map_err(io_err(path, "reading the size of"))?;
        if size % layout.physical_size as u64 != 0 {
            return Err(RestoreError::BadPage {
                path: path.to_path_buf(),
                page: (size / layout.physical_size as u64) as u32,
                page_lsn: 0,
                detail: format!(
                    "the file is {size} bytes, not a whole number of {}-byte pages: it is truncated",
                    layout.physical_size
                ),
            });
        }
        if head.len() >= layout.physical_size {
            page::validate_page(&head[..layout.physical_size], fsp.space_id, 0, layout)
                .map_err(|d| bad(d.to_string()))?;
        }
        if page::is_encrypted_tablespace(&head, layout) {
            return Err(RestoreError::Encrypted { path: path.to_path_buf() });
        }
        let page_compressed = page_compressed::flags_say_page_compressed(fsp.flags);
        let algorithm = flags_algorithm(fsp.flags, page_compressed);
        let space =
            Space { path: path.to_path_buf(), layout, page_compressed, algorithm, flags: fsp.flags, unwritten: false };
        if let Some(other) = self.spaces.insert(fsp.space_id, space) {
            return Err(RestoreError::DuplicateSpace { space: fsp.space_id, a: other.path, b: path.to_path_buf() });
        }
        Ok(())
    }

    /// Files a tablespace whose page 0 is not written yet under the id the redo gives
    /// its name; the redo rebuilds page 0, whose flags (`flags`, 0 if unknown) give `layout`.
    pub fn add_unwritten(&mut self, path: &Path, space_id: u32, layout: PageLayout, flags: u32) -> Result<()> {
        let page_compressed = page_compressed::flags_say_page_compressed(flags);
        let algorithm = flags_algorithm(flags, page_compressed);
        let space = Space { path: path.to_path_buf(), layout, page_compressed, algorithm, flags, unwritten: true };
        if let Some(other) = self.spaces.insert(space_id, space) {
            return Err(RestoreError::DuplicateSpace { space: space_id, a: other.path, b: path.to_path_buf() });
        }
        Ok(())
    }

    /// After the redo was applied: a tablespace filed by [`Self::add_unwritten`] whose
    /// rebuilt page 0 gives another page layout than the one assumed is refused.
    pub fn check_unwritten_layouts(&mut self) -> Result<()> {
        let assumed: Vec<(u32, PageLayout)> =
            self.spaces.iter().filter(|(_, s)| s.unwritten).map(|(id, s)| (*id, s.layout)).collect();
        for (id, layout) in assumed {
            let Some(p0) = self.pages.get(&(id, 0)) else { continue };
            let Ok(real) = page::layout_from_page0(p0) else { continue };
            let flags = page::fsp_header(p0).map(|h| h.flags).unwrap_or(0);
            if real != layout || page_compressed::flags_say_page_compressed(flags) != self.spaces[&id].page_compressed {
                let path = self.spaces[&id].path.clone();
                return Err(RestoreError::BadPage {
                    path,
                    page: 0,
                    page_lsn: page::fil_header(p0).map(|h| h.lsn).unwrap_or(0),
                    detail: format!(
                        "the file was copied before the server wrote its page 0 and the redo makes it a tablespace \
                         of {}-byte pages ({} in memory{}{}{}), which innohot cannot prepare from such a copy",
                        real.physical_size,
                        real.logical_size,
                        if real.full_crc32 { ", full_crc32" } else { "" },
                        if real.compressed { ", ROW_FORMAT=COMPRESSED" } else { "" },
                        if page_compressed::flags_say_page_compressed(flags) { ", PAGE_COMPRESSED" } else { "" }
                    ),
                });
            }
        }
        Ok(())
    }

    /// The problem met while the redo was applied, if any: it wins over the applier's verdict.
    pub fn take_problem(&mut self) -> Option<RestoreError> {
        self.problem.take()
    }

    /// How many pages were read from the files (those held, less the ones built unread).
    pub fn pages_read(&self) -> usize {
        self.pages.len() - self.unread.iter().filter(|id| self.pages.contains_key(id)).count()
    }

    fn file(&mut self, space: u32) -> Result<&mut Box<dyn EditFile>> {
        if !self.open.contains_key(&space) {
            if self.open.len() >= OPEN_FILES {
                self.open.clear();
            }
            let path = &self.spaces[&space].path;
            let f = self.fs.open_edit(path).map_err(io_err(path, "opening"))?;
            self.open.insert(space, f);
        }
        Ok(self.open.get_mut(&space).expect("just opened"))
    }

    /// Reads one page; past the end of the file a zeroed page (the file grows when it is
    /// written). A ROW_FORMAT=COMPRESSED page stays as stored (the redo addresses the
    /// compressed frame); a PAGE_COMPRESSED one is inflated.
    fn load(&mut self, space: u32, page_no: u32) -> Result<Vec<u8>> {
        let sp = self.spaces[&space].clone();
        let psize = sp.layout.physical_size;
        let mut buf = vec![0u8; psize];
        let f = self.file(space)?;
        let got = f.read_at(&mut buf, page_no as u64 * psize as u64).map_err(io_err(&sp.path, "reading"))?;
        if got == psize {
            if let Err(defect) = page::validate_page(&buf, space, page_no, sp.layout) {
                let page_lsn = page::fil_header(&buf).map(|h| h.lsn).unwrap_or(0);
                return Err(RestoreError::BadPage {
                    path: sp.path,
                    page: page_no,
                    page_lsn,
                    detail: defect.to_string(),
                });
            }
        } else if got != 0 {
            return Err(RestoreError::BadPage {
                path: sp.path,
                page: page_no,
                page_lsn: 0,
                detail: format!("only {got} of its {psize} bytes are in the file: the file is truncated"),
            });
        }
        if sp.page_compressed && got == psize {
            let page = if page_compressed::is_compressed_page(&buf, sp.layout.full_crc32) {
                let (page, algorithm) = inflated(&sp, page_no, &buf)?;
                self.spaces.get_mut(&space).expect("a known space").algorithm.get_or_insert(algorithm);
                page
            } else {
                buf
            };
            if sp.layout.full_crc32 {
                let crc: [u8; 4] = page[psize - 4..].try_into().expect("4 bytes");
                self.inner_crc.insert((space, page_no), crc);
            }
            return Ok(page);
        }
        if got == psize
            && !sp.layout.full_crc32
            && page::fil_header(&buf).is_ok_and(|h| h.page_type == page_compressed::PAGE_TYPE_MYSQL_COMPRESSED)
        {
            // MySQL 5.7 transparent compression: redo applies to the page the server
            // compressed; written back whole, as 5.7 writes a page that would not shrink.
            let mut out = vec![0u8; psize];
            page_compressed::inflate_mysql(&buf, &mut out).map_err(|e| RestoreError::BadPage {
                path: sp.path.clone(),
                page: page_no,
                page_lsn: 0,
                detail: format!("its MySQL 5.7 COMPRESSION contents cannot be inflated: {e}"),
            })?;
            return Ok(out);
        }
        Ok(buf)
    }

    /// Writes the given pages back (in file order) through the prepare journal
    /// (`super::journal`: recorded durably first, so that no crash tears a page),
    /// each file written fdatasynced. A file shorter than the size (pages) the redo
    /// last wrote to its FSP header is extended with zeros, as the server's recovery
    /// extends it; an undo tablespace the redo truncated (TRIM_PAGES, `trimmed`:
    /// space -> new size) is then cut to its FSP size, as recovery (and so
    /// mariabackup --prepare) cuts it. `dir` is the backup the files are in.
    pub fn write_back(
        &mut self,
        dir: &Path,
        pages: &BTreeSet<(u32, u32)>,
        fsp_sizes: &BTreeMap<u32, u32>,
        trimmed: &BTreeMap<u32, u32>,
    ) -> Result<u64> {
        let sizes: Vec<(u32, u64)> = fsp_sizes
            .iter()
            // Files copied before their page 0 was written too: the server reads the size
            // from the page 0 prepare rebuilt and refuses to read past the file's end
            // ("outside the bounds of the file"), and mariabackup extends them.
            .filter_map(|(&space, &n)| {
                let sp = self.spaces.get(&space)?;
                Some((space, u64::from(n) * sp.layout.physical_size as u64))
            })
            .filter(|(_, want)| *want > 0)
            .collect();
        let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).to_path_buf();
        let mut writes = Vec::new();
        // Whether each write goes into the journal: all but those of pages built unread
        // inside their file (a torn write past its end would leave the file a part page
        // long, which a re-run refuses as truncated).
        let mut journaled = Vec::new();
        let mut file_sizes: BTreeMap<u32, u64> = BTreeMap::new();
        for &(space, page_no) in pages {
            let Some(mut bytes) = self.pages.remove(&(space, page_no)) else { continue };
            if let Some(stored) = self.compressed_form(space, page_no, &bytes) {
                bytes = stored;
            }
            debug_assert_eq!(bytes.len(), self.spaces[&space].layout.physical_size, "space {space} page {page_no}");
            let offset = page_no as u64 * bytes.len() as u64;
            let rebuilt = self.unread.contains(&(space, page_no));
            let inside = rebuilt && offset + bytes.len() as u64 <= self.file_size(space, &mut file_sizes)?;
            journaled.push(!inside);
            writes.push(PageWrite { rel: rel(&self.spaces[&space].path), offset, bytes });
        }
        let written = writes.len() as u64;
        for (space, want) in sizes {
            let path = self.spaces[&space].path.clone();
            let psize = self.spaces[&space].layout.physical_size;
            let planned = writes.iter().filter(|w| w.rel == rel(&path)).map(|w| w.offset + w.bytes.len() as u64).max();
            let size = self.file_size(space, &mut file_sizes)?;
            if size.max(planned.unwrap_or(0)) < want {
                writes.push(PageWrite { rel: rel(&path), offset: want - psize as u64, bytes: vec![0u8; psize] });
                journaled.push(true);
            }
        }
        if !writes.is_empty() {
            let recorded = writes.iter().zip(&journaled).filter(|(_, &j)| j).map(|(w, _)| w);
            journal::record(self.fs, dir, recorded)?;
            journal::apply(self.fs, dir, &writes)?;
        }
        // After the journal: a cut is idempotent, so a prepare killed around it and
        // run again cuts the same file to the same size.
        for (&space, &trim_pages) in trimmed {
            let pages_n = fsp_sizes.get(&space).copied().unwrap_or(trim_pages);
            self.shrink(space, pages_n)?;
        }
        Ok(written)
    }

    /// Zeroes the pages of PAGE_COMPRESSED tablespaces the redo left freed: the
    /// server punches a hole where such a page was (recovery, and so mariabackup's
    /// prepare, too), and copy-back leaves a page of zeros as a hole. A freed page
    /// the redo did not otherwise touch is added; returns every page zeroed, for
    /// [`FileStore::write_back`]. A page of any other tablespace keeps what the
    /// redo last wrote to it.
    pub fn zero_freed_page_compressed(
        &mut self,
        freed: impl IntoIterator<Item = (u32, u32)>,
    ) -> Result<Vec<(u32, u32)>> {
        let mut zeroed = Vec::new();
        for (space, page_no) in freed {
            let Some(sp) = self.spaces.get(&space).filter(|s| s.page_compressed && !s.layout.is_compressed()) else {
                continue;
            };
            let (path, psize) = (sp.path.clone(), sp.layout.physical_size);
            if let Some(page) = self.pages.get_mut(&(space, page_no)) {
                page.fill(0);
            } else {
                // Past the file's end there is nothing to clear.
                let len = self.file(space)?.size().map_err(io_err(&path, "reading the size of"))?;
                if (u64::from(page_no) + 1) * psize as u64 > len {
                    continue;
                }
                self.pages.insert((space, page_no), vec![0u8; psize]);
            }
            zeroed.push((space, page_no));
        }
        Ok(zeroed)
    }

    /// A page of a PAGE_COMPRESSED tablespace as the server's flush would store it
    /// (`page_compressed::compress_*`: the frame, zeros to the page's end, which
    /// copy-back leaves as a hole); None to store it as it is: another kind of
    /// tablespace, a page the server never compresses or that would not save a
    /// block, or an algorithm innohot cannot write (lzo, lzma, bzip2).
    fn compressed_form(&mut self, space: u32, page_no: u32, page: &[u8]) -> Option<Vec<u8>> {
        let sp = &self.spaces[&space];
        if !sp.page_compressed || sp.layout.is_compressed() {
            return None;
        }
        // A legacy tablespace none of whose pages were read compressed: zlib,
        // the server's default, which every server can read.
        let algorithm = sp.algorithm.unwrap_or(page_compressed::Algorithm::Zlib);
        let with = page_compressed::CompressWith {
            algorithm,
            level: self.compression_level,
            block_size: crate::io::sparse::BLOCK,
        };
        let mut out = vec![0u8; page.len()];
        if sp.layout.full_crc32 {
            let mut inner = page.to_vec();
            if let Some(crc) = self.inner_crc.get(&(space, page_no)) {
                let n = inner.len();
                inner[n - 4..].copy_from_slice(crc);
            }
            page_compressed::compress_full_crc32(&inner, with, &mut out)?;
        } else {
            page_compressed::compress_legacy(page, with, &mut out)?;
        }
        self.pages_compressed += 1;
        Some(out)
    }

    /// The size of the file of `space` before prepare writes it (looked up once).
    fn file_size(&mut self, space: u32, known: &mut BTreeMap<u32, u64>) -> Result<u64> {
        if let Some(&size) = known.get(&space) {
            return Ok(size);
        }
        let path = self.spaces[&space].path.clone();
        let size = self.file(space)?.size().map_err(io_err(&path, "reading the size of"))?;
        known.insert(space, size);
        Ok(size)
    }

    /// Cuts the file of `space` to `pages_n` pages when longer (a truncated undo
    /// tablespace), durably.
    fn shrink(&mut self, space: u32, pages_n: u32) -> Result<()> {
        let Some(sp) = self.spaces.get(&space) else { return Ok(()) };
        let (path, psize) = (sp.path.clone(), sp.layout.physical_size as u64);
        let want = u64::from(pages_n) * psize;
        let f = self.file(space)?;
        let have = f.size().map_err(io_err(&path, "reading the size of"))?;
        if want > 0 && have > want {
            f.set_len(want).map_err(io_err(&path, "truncating"))?;
            f.sync().map_err(io_err(&path, "fdatasync of"))?;
        }
        Ok(())
    }
}

/// A stored page_compressed page as the server holds it in memory, and its algorithm.
fn inflated(sp: &Space, page_no: u32, stored: &[u8]) -> Result<(Vec<u8>, page_compressed::Algorithm)> {
    let mut out = vec![0u8; stored.len()];
    let done = if sp.layout.full_crc32 {
        page_compressed::inflate_full_crc32(stored, sp.flags, &mut out)
    } else {
        page_compressed::inflate(stored, &mut out)
    };
    done.map_err(|e| RestoreError::BadPage {
        path: sp.path.clone(),
        page: page_no,
        page_lsn: page::fil_header(stored).map(|h| h.lsn).unwrap_or(0),
        detail: format!("its PAGE_COMPRESSED contents cannot be inflated: {e}"),
    })
    .map(|algorithm| (out, algorithm))
}

impl PageStore for FileStore<'_> {
    fn is_compressed(&mut self, space: u32) -> bool {
        self.spaces.get(&space).is_some_and(|s| s.layout.is_compressed())
    }
    fn take_page(&mut self, space: u32, page_no: u32) -> Option<Vec<u8>> {
        self.page_mut(space, page_no)?;
        self.pages.remove(&(space, page_no))
    }
    fn take_initialized_page(&mut self, space: u32, page_no: u32) -> Option<Vec<u8>> {
        let sp = self.spaces.get(&space).filter(|_| self.problem.is_none())?;
        // PAGE_COMPRESSED pages keep fields of the stored page (`inner_crc`); zip pages
        // are applied as stored; an assumed layout may be wrong; page 0 is read by a
        // re-run before any redo (to file the tablespace), so its write stays
        // journalled: those are read.
        let read = sp.page_compressed || sp.layout.is_compressed() || sp.unwritten || page_no == 0;
        if read || self.pages.contains_key(&(space, page_no)) {
            return self.take_page(space, page_no);
        }
        self.unread.insert((space, page_no));
        Some(vec![0u8; sp.layout.physical_size])
    }
    fn put_page(&mut self, space: u32, page_no: u32, bytes: Vec<u8>) {
        if self.spaces.contains_key(&space) {
            self.pages.insert((space, page_no), bytes);
        }
    }
    fn page_mut(&mut self, space: u32, page_no: u32) -> Option<&mut [u8]> {
        if self.problem.is_some() || !self.spaces.contains_key(&space) {
            return None;
        }
        if !self.pages.contains_key(&(space, page_no)) {
            match self.load(space, page_no) {
                Ok(buf) => {
                    self.pages.insert((space, page_no), buf);
                }
                Err(e) => {
                    self.problem = Some(e);
                    return None;
                }
            }
        }
        self.pages.get_mut(&(space, page_no)).map(|v| v.as_mut_slice())
    }
}
