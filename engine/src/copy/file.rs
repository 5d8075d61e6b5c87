//! One tablespace's copy, or one range of it: a chunk per `step`, every page
//! validated, a chunk with a torn page read again after a delay.

use super::delta::{CopyForm, DeltaCount, DeltaOutput};
use super::{CopySettings, Tablespace, TablespaceKind};
use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::format::page::{self, PageDefect, PageLayout};
use crate::format::page_compressed;
use crate::io::{sparse, Clock, SourceFile, SourceFs, TargetDir, TargetFile};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// O_DIRECT wants buffers aligned to the device block; 4 KiB covers common devices.
const IO_ALIGN: usize = 4096;
/// Every page size (1 KiB compressed to 64 KiB) divides it, so a range
/// boundary is a page boundary whatever the tablespace's layout.
const RANGE_ALIGN: u64 = 64 * 1024;

/// What one `FileCopier::step` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStep {
    Copied {
        bytes: u64,
    },
    /// A page failed validation; call again at or after this clock time.
    RetryAt(Duration),
    /// The range is copied: `bytes` by this copier; `file_bytes` is the whole
    /// file's size once this was its last range (the copy is then durable).
    Done {
        bytes: u64,
        file_bytes: Option<u64>,
    },
}

/// Where a tablespace's pages go: the whole file, or (an incremental
/// backup) the pages changed since the base.
enum Output {
    Whole(Box<dyn TargetFile>),
    Delta(DeltaOutput),
}

/// The backup's copy of one tablespace, shared by the copiers of its ranges:
/// the last one to finish makes it durable and reports it done.
struct TargetCopy {
    file: Mutex<Output>,
    form: CopyForm,
    path: PathBuf,
    ranges_left: AtomicU32,
    bytes: AtomicU64,
    /// The target keeps holes (a directory, not a stream): a PAGE_COMPRESSED
    /// tablespace is then copied sparse, as the server holds it.
    holes_kept: bool,
}

/// Copies one tablespace (or a range of it), one chunk per step.
pub struct FileCopier {
    ts: Tablespace,
    src: Box<dyn SourceFile>,
    out: Arc<TargetCopy>,
    settings: CopySettings,
    /// The range: from `start` to `end`, or to the end of file (which may grow).
    start: u64,
    end: Option<u64>,
    /// The server's layout for a new file: used while page 0 is not written yet.
    new_file_layout: PageLayout,
    layout: Option<PageLayout>,
    /// The layout is the server's default because page 0 was not written yet.
    layout_guessed: bool,
    /// Some(page size) for a PAGE_COMPRESSED tablespace copied sparse
    /// ([`crate::io::sparse`]); and whether the last chunk written ended in a hole.
    sparse_pages: Option<usize>,
    tail_hole: bool,
    space_id: u32,
    offset: u64,
    failed_reads: u32,
    buf: Vec<u8>,
    /// Where the 4 KiB-aligned chunk starts in `buf`, and its length.
    buf_start: usize,
    chunk: usize,
    phase: Phase,
    role: Role,
    progress: Arc<dyn Progress>,
    clock: Arc<dyn Clock>,
}

impl FileCopier {
    /// Opens the source, creates the target (and its directory), says "Copying".
    #[allow(clippy::too_many_arguments)]
    pub fn open(
        ts: Tablespace,
        fs: &dyn SourceFs,
        target: &dyn TargetDir,
        settings: &CopySettings,
        new_file_layout: PageLayout,
        (phase, role): (Phase, Role),
        progress: Arc<dyn Progress>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let mut src = fs
            .open(&ts.source, settings.read_policy)
            .map_err(|e| BackupError::io(&ts.source, "opening a tablespace", e))?;
        if let Some(parent) = ts.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            target
                .create_dir_all(parent)
                .map_err(|e| BackupError::io(target.root().join(parent), "creating a directory", e))?;
        }
        let (form, out_path, out) = create_output(&ts, &mut *src, target, settings)?;
        let out = Arc::new(TargetCopy {
            file: Mutex::new(out),
            form,
            path: out_path.clone(),
            ranges_left: AtomicU32::new(1),
            bytes: AtomicU64::new(0),
            holes_kept: !target.streams(),
        });
        emit(
            &*progress,
            &*clock,
            phase,
            role,
            EventKind::CopyStarted { source: ts.source.display().to_string(), target: out_path.display().to_string() },
        );
        Ok(FileCopier {
            ts,
            src,
            out,
            settings: settings.clone(),
            start: 0,
            end: None,
            new_file_layout,
            layout: None,
            layout_guessed: false,
            sparse_pages: None,
            tail_hole: false,
            space_id: 0,
            offset: 0,
            failed_reads: 0,
            buf: Vec::new(),
            buf_start: 0,
            chunk: 0,
            phase,
            role,
            progress,
            clock,
        })
    }

    pub fn tablespace(&self) -> &Tablespace {
        &self.ts
    }

    /// The identity of the file being read (None where the file system cannot say).
    pub fn file_id(&self) -> Option<crate::io::FileId> {
        self.src.file_id().ok().flatten()
    }

    /// The pages an incremental copy scanned and took (None for a full
    /// backup's copy); a `db/t.new` took every page it read.
    pub fn delta_count(&self) -> Option<DeltaCount> {
        match &*self.out.file.lock().expect("target file lock") {
            Output::Whole(_) if self.out.form == CopyForm::New => {
                let psize = self.layout.unwrap_or(self.new_file_layout).physical_size as u64;
                let pages = self.out.bytes.load(Ordering::SeqCst) / psize;
                Some(DeltaCount { pages_scanned: pages, pages_written: pages })
            }
            Output::Whole(_) => None,
            Output::Delta(d) => Some(d.count()),
        }
    }

    /// What the copy is made of: the file, a delta and meta, or `db/t.new`.
    pub fn form(&self) -> CopyForm {
        self.out.form
    }

    /// The space id page 0 gave, once the first step has read it.
    pub fn space_id(&self) -> Option<u32> {
        self.layout.and(Some(self.space_id)).filter(|_| self.space_id != 0 || self.ts.kind == TablespaceKind::System)
    }

    fn read_err(&self, e: std::io::Error) -> BackupError {
        BackupError::io(&self.ts.source, "reading", e)
    }

    /// Page 0 tells the page size; a file whose page 0 is not written yet uses the server's.
    fn learn_layout(&mut self) -> Result<PageLayout> {
        match page0(&mut *self.src, &self.ts.source)? {
            Some(p) => {
                self.space_id = p.space_id;
                self.layout_guessed = false;
                self.sparse_pages = p.sparse_pages.filter(|_| self.out.holes_kept);
                Ok(p.layout)
            }
            None => {
                self.layout_guessed = true;
                Ok(self.new_file_layout)
            }
        }
    }

    /// A page that re-reading will not change: encrypted, or a format innohot does not read.
    fn permanent_defect(&self, page_no: u64, defect: page::PageDefect) -> BackupError {
        let path = self.ts.source.clone();
        match defect {
            page::PageDefect::Encrypted { .. } => {
                BackupError::Encrypted { path, detail: format!("page {page_no}: {defect}") }
            }
            _ => BackupError::Unsupported(format!(
                "{}: page {page_no} uses {defect}, which innohot cannot read yet (use Percona XtraBackup 2.4 for \
                 tables created with COMPRESSION=, or ALTER TABLE ... COMPRESSION='none' and OPTIMIZE TABLE)",
                path.display()
            )),
        }
    }

    /// Reads, validates and writes the next chunk.
    pub fn step(&mut self) -> Result<CopyStep> {
        let layout = match self.layout {
            Some(l) => l,
            None => {
                let l = self.learn_layout()?;
                self.layout = Some(l);
                l
            }
        };
        let psize = layout.physical_size;
        if self.buf.is_empty() {
            self.allocate_buffer(psize)?;
        }
        debug_assert!(
            self.offset.is_multiple_of(psize as u64),
            "{}: a chunk starts mid-page",
            self.ts.source.display()
        );
        debug_assert!(
            self.end.is_none_or(|end| self.offset <= end),
            "{}: the copy ran past its range",
            self.ts.source.display()
        );
        let (start, mut want) = (self.buf_start, self.chunk);
        if let Some(end) = self.end {
            // Range ends are 64 KiB-aligned, so this stays whole pages.
            want = want.min(end.saturating_sub(self.offset) as usize);
        }
        let got = match want {
            0 => 0,
            _ => self.src.read_at(&mut self.buf[start..start + want], self.offset).map_err(|e| self.read_err(e))?,
        };
        // A trailing partial page is the server extending the file: redo covers it.
        let whole = got - got % psize;
        if whole == 0 {
            return self.finish();
        }
        if let Some(retry) = self.validate_chunk(layout, whole)? {
            return Ok(retry);
        }
        self.failed_reads = 0;
        debug_assert!(
            whole.is_multiple_of(psize) && whole <= want,
            "{}: a chunk of part pages",
            self.ts.source.display()
        );
        let chunk = &self.buf[start..start + whole];
        self.tail_hole = match (&mut *self.out.file.lock().expect("target file lock"), self.sparse_pages) {
            (Output::Whole(f), Some(ps)) => sparse::write_sparse(&mut **f, chunk, self.offset, ps),
            (Output::Whole(f), None) => f.write_at(chunk, self.offset).map(|()| false),
            (Output::Delta(d), _) => d.take_chunk(chunk, self.offset, psize).map(|()| false),
        }
        .map_err(|e| BackupError::io(&self.out.path, "writing", e))?;
        self.src.done_with(self.offset, whole as u64);
        self.offset += whole as u64;
        self.out.bytes.fetch_add(whole as u64, Ordering::SeqCst);
        self.progress.chunk_copied(self.role, whole as u64);
        Ok(CopyStep::Copied { bytes: whole as u64 })
    }

    /// No bigger than the file or range (plus a page, to see a file grow):
    /// small tables are common.
    fn allocate_buffer(&mut self, psize: usize) -> Result<()> {
        let pages_there = match self.end {
            Some(end) => ((end - self.start) as usize / psize).max(1),
            None => self.src.size().map_err(|e| self.read_err(e))?.saturating_sub(self.start) as usize / psize + 1,
        };
        let pages = (self.settings.chunk_size / psize).max(1).min(pages_there);
        self.chunk = pages * psize;
        // Room to start at a 4 KiB boundary: O_DIRECT then reads straight into it.
        self.buf = vec![0u8; self.chunk + IO_ALIGN];
        self.buf_start = self.buf.as_ptr().align_offset(IO_ALIGN);
        Ok(())
    }

    /// The end of the range. The last range to end makes the file durable
    /// before it is reported done.
    fn finish(&mut self) -> Result<CopyStep> {
        let bytes = self.offset - self.start;
        if self.tail_hole {
            // Before the last range's fdatasync: the range's end gets its block.
            if let Output::Whole(f) = &mut *self.out.file.lock().expect("target file lock") {
                sparse::close_hole(&mut **f, self.offset).map_err(|e| BackupError::io(&self.out.path, "writing", e))?;
            }
            self.tail_hole = false;
        }
        if self.out.ranges_left.fetch_sub(1, Ordering::SeqCst) != 1 {
            return Ok(CopyStep::Done { bytes, file_bytes: None });
        }
        let out = &self.out;
        let layout = self.layout.unwrap_or(self.new_file_layout);
        let total = out.bytes.load(Ordering::SeqCst);
        // What the target holds: the copy, or the delta of the changed pages.
        let written = match &mut *out.file.lock().expect("target file lock") {
            Output::Whole(f) => f.sync().map(|()| total),
            Output::Delta(d) => d.finish(layout, self.space_id),
        }
        .map_err(|e| BackupError::io(&out.path, "writing and fdatasync", e))?;
        let kind = EventKind::CopyDone { target: out.path.display().to_string(), bytes: written };
        emit(&*self.progress, &*self.clock, self.phase, self.role, kind);
        Ok(CopyStep::Done { bytes, file_bytes: Some(total) })
    }

    /// Splits a whole-file copier that has not started into ranges of about
    /// `range_size` bytes: it keeps the first, the others are returned (the
    /// last one reads to the end of file, which may still grow). Nothing is
    /// split when the file is smaller than two ranges or the source cannot
    /// be read through a second handle.
    pub fn split(&mut self, range_size: u64) -> Result<Vec<FileCopier>> {
        let range = (range_size / RANGE_ALIGN).max(1) * RANGE_ALIGN;
        // A delta is written front to back, its blocks in page order.
        if self.offset != 0 || self.end.is_some() || self.settings.incremental_from.is_some() {
            return Ok(Vec::new());
        }
        let ranges = self.src.size().map_err(|e| self.read_err(e))? / range;
        if ranges < 2 {
            return Ok(Vec::new());
        }
        let mut sources = Vec::new();
        for _ in 1..ranges {
            match self.src.try_clone().map_err(|e| self.read_err(e))? {
                Some(src) => sources.push(src),
                None => return Ok(Vec::new()),
            }
        }
        self.end = Some(range);
        self.out.ranges_left.store(ranges as u32, Ordering::SeqCst);
        let ranges = sources.into_iter().enumerate().map(|(i, src)| {
            let start = (i as u64 + 1) * range;
            let end = (start + range < ranges * range).then_some(start + range);
            self.range_copier(src, start, end)
        });
        Ok(ranges.collect())
    }

    fn range_copier(&self, src: Box<dyn SourceFile>, start: u64, end: Option<u64>) -> FileCopier {
        FileCopier {
            ts: self.ts.clone(),
            src,
            out: self.out.clone(),
            settings: self.settings.clone(),
            start,
            end,
            new_file_layout: self.new_file_layout,
            layout: None,
            layout_guessed: false,
            sparse_pages: None,
            tail_hole: false,
            space_id: 0,
            offset: start,
            failed_reads: 0,
            buf: Vec::new(),
            buf_start: 0,
            chunk: 0,
            phase: self.phase,
            role: self.role,
            progress: self.progress.clone(),
            clock: self.clock.clone(),
        }
    }

    /// The bytes this copier covers: from, and to (None: the end of file).
    pub fn range(&self) -> (u64, Option<u64>) {
        (self.start, self.end)
    }

    /// The lane that copies this range (for progress and events).
    pub fn set_role(&mut self, role: Role) {
        self.role = role;
    }

    /// Checks every page of the chunk just read: Some(retry) when a page is torn
    /// (being written), an error when a page can never be read.
    fn validate_chunk(&mut self, layout: PageLayout, whole: usize) -> Result<Option<CopyStep>> {
        let (start, psize) = (self.buf_start, layout.physical_size);
        let first_page = self.offset / psize as u64;
        if first_page == 0 && page::is_encrypted_tablespace(&self.buf[start..start + psize], layout) {
            return Err(BackupError::Encrypted {
                path: self.ts.source.clone(),
                detail: "page 0 holds an encryption record".into(),
            });
        }
        for (i, pg) in self.buf[start..start + whole].chunks_exact(psize).enumerate() {
            let page_no = first_page + i as u64;
            let Err(defect) = page::validate_page(pg, self.space_id, page_no as u32, layout) else { continue };
            if defect.is_permanent() {
                return Err(self.permanent_defect(page_no, defect));
            }
            return self.torn_page(page_no, defect).map(Some);
        }
        Ok(None)
    }

    /// A page that fails its checks may be mid-write: read the chunk again after a
    /// delay, up to `page_retries` times.
    fn torn_page(&mut self, page_no: u64, defect: PageDefect) -> Result<CopyStep> {
        self.failed_reads += 1;
        if self.layout_guessed {
            // Page 0 may have been written since (MariaDB writes a new table's pages
            // lazily, page 0 first): the retry learns the layout again.
            self.layout = None;
        }
        if self.failed_reads > self.settings.page_retries {
            return Err(BackupError::CorruptPage {
                path: self.ts.source.clone(),
                page: page_no,
                attempts: self.failed_reads,
                defect: defect.to_string(),
            });
        }
        let kind = EventKind::PageRetry {
            file: self.ts.source.display().to_string(),
            page: page_no,
            attempt: self.failed_reads,
            defect: defect.to_string(),
        };
        emit(&*self.progress, &*self.clock, self.phase, self.role, kind);
        Ok(CopyStep::RetryAt(self.clock.now() + self.settings.retry_delay))
    }
}

/// Creates what the copy writes: the whole file, or (incremental) the delta
/// and its meta, or the whole file as `db/t.new` for a table whose page 0 is not
/// written yet (see `delta`).
fn create_output(
    ts: &Tablespace,
    src: &mut dyn SourceFile,
    target: &dyn TargetDir,
    settings: &CopySettings,
) -> Result<(CopyForm, PathBuf, Output)> {
    // A table whose page 0 is not written yet: whole, as `db/t.new` (see `delta`).
    let new =
        settings.incremental_from.is_some() && ts.kind == TablespaceKind::Table && page0(src, &ts.source)?.is_none();
    Ok(match settings.incremental_from {
        None => {
            let out_path = target.root().join(&ts.target);
            let out = target.create_file(&ts.target).map_err(|e| BackupError::io(&out_path, "creating", e))?;
            (CopyForm::Whole, out_path, Output::Whole(out))
        }
        Some(_) if new => {
            let rel = super::delta::new_path(&ts.target);
            let out_path = target.root().join(&rel);
            let out = target.create_file(&rel).map_err(|e| BackupError::io(&out_path, "creating", e))?;
            (CopyForm::New, out_path, Output::Whole(out))
        }
        Some(from_lsn) => {
            let create = |rel: PathBuf| {
                let path = target.root().join(&rel);
                target.create_file(&rel).map_err(|e| BackupError::io(&path, "creating", e)).map(|f| (path, f))
            };
            let (delta_path, delta) = create(super::delta::delta_path(&ts.target))?;
            let (_, meta) = create(super::delta::meta_path(&ts.target))?;
            (CopyForm::Delta, delta_path, Output::Delta(DeltaOutput::new(delta, meta, from_lsn)))
        }
    })
}

/// What page 0 says of a tablespace.
pub(super) struct Page0 {
    layout: PageLayout,
    space_id: u32,
    /// Some(page size) when PAGE_COMPRESSED: its pages are stored sparse.
    sparse_pages: Option<usize>,
}

/// What page 0 says; None while page 0 is not written yet (MariaDB writes a
/// new table's page 0 lazily).
pub(super) fn page0(src: &mut dyn SourceFile, path: &Path) -> Result<Option<Page0>> {
    let mut head = vec![0u8; 4096];
    let got = src.read_at(&mut head, 0).map_err(|e| BackupError::io(path, "reading", e))?;
    head.truncate(got);
    if got < page::FSP_SPACE_FLAGS + 4 || head.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let format = |source| BackupError::Format { path: path.to_path_buf(), source };
    let fsp = page::fsp_header(&head).map_err(format)?;
    let layout = page::layout_from_page0(&head).map_err(format)?;
    Ok(Some(Page0 { layout, space_id: fsp.space_id, sparse_pages: page_compressed::sparse_page_size(&head) }))
}
