//! The data-file copier: finds the tablespaces, then copies each in chunks,
//! validating every page and re-reading a chunk that holds a torn page.
//! A state machine: each `step` reads and writes at most one chunk.

use crate::error::{BackupError, Result};
use crate::events::{emit, EventKind, Phase, Progress, Role};
use crate::format::page::{self, PageDefect, PageLayout};
use crate::io::{Clock, EntryKind, ReadPolicy, SourceFile, SourceFs, TargetDir, TargetFile};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// O_DIRECT wants buffers aligned to the device block; 4 KiB covers common devices.
const IO_ALIGN: usize = 4096;

/// What xtrabackup read per step in the reference run (10 MiB).
pub const DEFAULT_CHUNK_SIZE: usize = 10 * 1024 * 1024;
/// Peers re-read a chunk with a bad page up to 10 times, 100 ms apart.
pub const DEFAULT_PAGE_RETRIES: u32 = 10;
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySettings {
    pub chunk_size: usize,
    /// Re-reads of a chunk with an invalid page before the backup fails.
    pub page_retries: u32,
    pub retry_delay: Duration,
    pub read_policy: ReadPolicy,
}

impl Default for CopySettings {
    fn default() -> Self {
        CopySettings {
            chunk_size: DEFAULT_CHUNK_SIZE,
            page_retries: DEFAULT_PAGE_RETRIES,
            retry_delay: DEFAULT_RETRY_DELAY,
            read_policy: ReadPolicy::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TablespaceKind {
    System,
    Undo,
    /// A file-per-table or general tablespace (`.ibd`).
    Table,
}

/// One InnoDB data file to copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tablespace {
    pub source: PathBuf,
    /// Where it goes, relative to the backup directory.
    pub target: PathBuf,
    pub kind: TablespaceKind,
}

/// One file of `innodb_data_file_path` ("ibdata1:12M;ibdata2:50M:autoextend").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFileSpec {
    pub name: String,
    pub size_bytes: u64,
    pub autoextend: bool,
}

fn parse_size(raw: &str) -> Option<u64> {
    let (digits, unit) = raw.split_at(raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len()));
    let n: u64 = digits.parse().ok()?;
    let mult = match unit.to_ascii_uppercase().as_str() {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => return None,
    };
    n.checked_mul(mult)
}

/// Parses `innodb_data_file_path`.
pub fn parse_data_file_path(spec: &str) -> Result<Vec<DataFileSpec>> {
    let bad = |why: &str| BackupError::Config(format!("innodb_data_file_path {spec:?}: {why}"));
    let mut files = Vec::new();
    for part in spec.split(';').filter(|p| !p.trim().is_empty()) {
        let mut fields = part.trim().split(':');
        let name = fields.next().filter(|n| !n.is_empty()).ok_or_else(|| bad("a file has no name"))?;
        let size = fields.next().ok_or_else(|| bad("a file has no size"))?;
        let size = size.trim_end_matches("newraw").trim_end_matches("raw");
        let size_bytes = parse_size(size).ok_or_else(|| bad("a size is not a number with K/M/G"))?;
        let autoextend = fields.next() == Some("autoextend");
        files.push(DataFileSpec { name: name.to_string(), size_bytes, autoextend });
    }
    if files.is_empty() {
        return Err(bad("no data files"));
    }
    Ok(files)
}

/// Where the server keeps its InnoDB files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InnodbLayout {
    pub datadir: PathBuf,
    pub data_home_dir: PathBuf,
    pub data_files: Vec<DataFileSpec>,
    pub undo_dir: PathBuf,
    pub undo_tablespaces: u32,
}

/// Resolves a server directory setting: empty or "." means the datadir; relative paths are under it.
pub fn server_dir(datadir: &Path, setting: Option<&str>) -> PathBuf {
    match setting.map(str::trim) {
        None | Some("") | Some(".") | Some("./") => datadir.to_path_buf(),
        Some(p) if Path::new(p).is_absolute() => PathBuf::from(p),
        Some(p) => datadir.join(p),
    }
}

/// Files of an ALTER, TRUNCATE or DROP in progress (`#sql-alter-…`, `#sql-ib…`,
/// `#sql-backup-…`): never part of a consistent copy; under the lock the
/// statement's outcome is settled and the real table's file is what counts.
pub fn is_temporary_name(name: &str) -> bool {
    name.starts_with("#sql")
}

/// Where a DATA DIRECTORY tablespace's `.isl` link file says its `.ibd` lives.
pub fn read_link_file(fs: &dyn SourceFs, isl: &Path) -> Result<PathBuf> {
    let mut f = fs
        .open(isl, ReadPolicy { direct: false, fadvise: false })
        .map_err(|e| BackupError::io(isl, "opening a DATA DIRECTORY link file", e))?;
    let mut buf = vec![0u8; 4096];
    let got = f.read_at(&mut buf, 0).map_err(|e| BackupError::io(isl, "reading", e))?;
    let text = String::from_utf8_lossy(&buf[..got]);
    let target = text.trim_end_matches(['\n', '\r', '\0', ' ']);
    if target.is_empty() || !Path::new(target).is_absolute() {
        return Err(BackupError::Format {
            path: isl.to_path_buf(),
            source: crate::format::FormatError::Malformed {
                what: "DATA DIRECTORY link file",
                detail: format!("{target:?} is not an absolute path to a .ibd file"),
            },
        });
    }
    Ok(PathBuf::from(target))
}

/// The system tablespace files, undo tablespaces, then every `.ibd` at the top of
/// the datadir and one level down, each group in name order. A DATA DIRECTORY
/// table is found by its `.isl` link file and copied from where the link points
/// into the schema directory, as if it were local (mariabackup's layout; the
/// `.isl` is copied too, so a restore puts the file back where it was).
pub fn discover_tablespaces(fs: &dyn SourceFs, layout: &InnodbLayout) -> Result<Vec<Tablespace>> {
    let mut out = Vec::new();
    for f in &layout.data_files {
        let source = layout.data_home_dir.join(&f.name);
        let target = PathBuf::from(Path::new(&f.name).file_name().unwrap_or_default());
        out.push(Tablespace { source, target, kind: TablespaceKind::System });
    }
    for n in 1..=layout.undo_tablespaces {
        let name = format!("undo{n:03}");
        let source = layout.undo_dir.join(&name);
        if !fs.exists(&source) {
            return Err(BackupError::io(
                &source,
                "opening an undo tablespace",
                std::io::Error::from(std::io::ErrorKind::NotFound),
            ));
        }
        out.push(Tablespace { source, target: PathBuf::from(name), kind: TablespaceKind::Undo });
    }
    let list = |dir: &Path| fs.list(dir).map_err(|e| BackupError::io(dir, "listing the data directory", e));
    let mut tables = Vec::new();
    for entry in list(&layout.datadir)? {
        let path = layout.datadir.join(&entry.name);
        match entry.kind {
            EntryKind::File if entry.name.ends_with(".ibd") && !is_temporary_name(&entry.name) => {
                let rel = PathBuf::from(&entry.name);
                tables.push(Tablespace { source: path, target: rel, kind: TablespaceKind::Table });
            }
            EntryKind::Dir => {
                for inner in list(&path)? {
                    if inner.kind != EntryKind::File || is_temporary_name(&inner.name) {
                        continue;
                    }
                    let rel = Path::new(&entry.name).join(&inner.name);
                    if inner.name.ends_with(".ibd") {
                        tables.push(Tablespace {
                            source: path.join(&inner.name),
                            target: rel,
                            kind: TablespaceKind::Table,
                        });
                    } else if let Some(stem) = inner.name.strip_suffix(".isl") {
                        let isl = path.join(&inner.name);
                        let source = match read_link_file(fs, &isl) {
                            Ok(source) => source,
                            // Dropped since the listing: the lock-time rescan settles it.
                            Err(BackupError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                                continue
                            }
                            Err(e) => return Err(e),
                        };
                        let target = Path::new(&entry.name).join(format!("{stem}.ibd"));
                        tables.push(Tablespace { source, target, kind: TablespaceKind::Table });
                    }
                }
            }
            _ => {}
        }
    }
    // A local .ibd and a link for the same table cannot both be the server's:
    // the link wins, as it does for the server (links sort first, dedup keeps it).
    tables.sort_by_key(|t| (t.target.clone(), t.source.starts_with(&layout.datadir)));
    tables.dedup_by(|later, earlier| later.target == earlier.target);
    out.extend(tables);
    Ok(out)
}

/// What one `FileCopier::step` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyStep {
    Copied {
        bytes: u64,
    },
    /// A page failed validation; call again at or after this clock time.
    RetryAt(Duration),
    Done {
        bytes: u64,
    },
}

/// Copies one tablespace, one chunk per step.
pub struct FileCopier {
    ts: Tablespace,
    src: Box<dyn SourceFile>,
    out: Box<dyn TargetFile>,
    out_path: PathBuf,
    settings: CopySettings,
    /// The server's layout for a new file: used while page 0 is not written yet.
    new_file_layout: PageLayout,
    layout: Option<PageLayout>,
    /// The layout is the server's default because page 0 was not written yet.
    layout_guessed: bool,
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
        let src = fs
            .open(&ts.source, settings.read_policy)
            .map_err(|e| BackupError::io(&ts.source, "opening a tablespace", e))?;
        if let Some(parent) = ts.target.parent().filter(|p| !p.as_os_str().is_empty()) {
            target
                .create_dir_all(parent)
                .map_err(|e| BackupError::io(target.root().join(parent), "creating a directory", e))?;
        }
        let out_path = target.root().join(&ts.target);
        let out = target.create_file(&ts.target).map_err(|e| BackupError::io(&out_path, "creating", e))?;
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
            out_path,
            settings: settings.clone(),
            new_file_layout,
            layout: None,
            layout_guessed: false,
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

    /// The space id page 0 gave, once the first step has read it.
    pub fn space_id(&self) -> Option<u32> {
        self.layout.and(Some(self.space_id)).filter(|_| self.space_id != 0 || self.ts.kind == TablespaceKind::System)
    }

    fn read_err(&self, e: std::io::Error) -> BackupError {
        BackupError::io(&self.ts.source, "reading", e)
    }

    /// Page 0 tells the page size; a file whose page 0 is not written yet uses the server's.
    fn learn_layout(&mut self) -> Result<PageLayout> {
        let mut head = vec![0u8; 4096];
        let got = self.src.read_at(&mut head, 0).map_err(|e| self.read_err(e))?;
        head.truncate(got);
        if got >= page::FSP_SPACE_FLAGS + 4 && head.iter().any(|&b| b != 0) {
            let fsp = page::fsp_header(&head)
                .map_err(|source| BackupError::Format { path: self.ts.source.clone(), source })?;
            self.space_id = fsp.space_id;
            self.layout_guessed = false;
            return page::layout_from_page0(&head)
                .map_err(|source| BackupError::Format { path: self.ts.source.clone(), source });
        }
        self.layout_guessed = true;
        Ok(self.new_file_layout)
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
        let (start, chunk) = (self.buf_start, self.chunk);
        let got = self.src.read_at(&mut self.buf[start..start + chunk], self.offset).map_err(|e| self.read_err(e))?;
        // A trailing partial page is the server extending the file: redo covers it.
        let whole = got - got % psize;
        if whole == 0 {
            return self.finish();
        }
        if let Some(retry) = self.validate_chunk(layout, whole)? {
            return Ok(retry);
        }
        self.failed_reads = 0;
        self.out
            .write_at(&self.buf[start..start + whole], self.offset)
            .map_err(|e| BackupError::io(&self.out_path, "writing", e))?;
        self.src.done_with(self.offset, whole as u64);
        self.offset += whole as u64;
        self.progress.chunk_copied(self.role, whole as u64);
        Ok(CopyStep::Copied { bytes: whole as u64 })
    }

    /// No bigger than the file (plus a page, to see it grow): small tables are common.
    fn allocate_buffer(&mut self, psize: usize) -> Result<()> {
        let size = self.src.size().map_err(|e| self.read_err(e))? as usize;
        let pages = (self.settings.chunk_size / psize).max(1).min(size / psize + 1);
        self.chunk = pages * psize;
        // Room to start at a 4 KiB boundary: O_DIRECT then reads straight into it.
        self.buf = vec![0u8; self.chunk + IO_ALIGN];
        self.buf_start = self.buf.as_ptr().align_offset(IO_ALIGN);
        Ok(())
    }

    /// The end of the file: the copy is made durable before it is reported done.
    fn finish(&mut self) -> Result<CopyStep> {
        self.out.sync().map_err(|e| BackupError::io(&self.out_path, "fdatasync", e))?;
        let kind = EventKind::CopyDone { target: self.out_path.display().to_string(), bytes: self.offset };
        emit(&*self.progress, &*self.clock, self.phase, self.role, kind);
        Ok(CopyStep::Done { bytes: self.offset })
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

/// The space id in page 0's FSP header; None for a file whose page 0 is not written yet.
pub fn read_space_id(fs: &dyn SourceFs, path: &Path) -> Result<Option<u32>> {
    let mut f = fs
        .open(path, ReadPolicy { direct: false, fadvise: false })
        .map_err(|e| BackupError::io(path, "opening a tablespace", e))?;
    let mut head = vec![0u8; 4096];
    let got = f.read_at(&mut head, 0).map_err(|e| BackupError::io(path, "reading", e))?;
    head.truncate(got);
    if got < page::FSP_SPACE_FLAGS + 4 || head.iter().all(|&b| b == 0) {
        return Ok(None);
    }
    let fsp = page::fsp_header(&head).map_err(|source| BackupError::Format { path: path.to_path_buf(), source })?;
    Ok(Some(fsp.space_id))
}

/// Files of non-InnoDB tables, copied under the lock (docs/FORMATS.md); a
/// flavor adds its own engines' (MariaDB: Aria's MAD and MAI).
pub const NON_INNODB_EXTENSIONS: &[&str] =
    &["frm", "isl", "MYD", "MYI", "MRG", "TRG", "TRN", "ARM", "ARZ", "CSM", "CSV", "opt", "par"];

/// Files of every schema directory with a non-InnoDB extension, in name order.
pub fn discover_non_innodb(fs: &dyn SourceFs, datadir: &Path, extensions: &[&str]) -> Result<Vec<(PathBuf, PathBuf)>> {
    let list = |dir: &Path| fs.list(dir).map_err(|e| BackupError::io(dir, "listing the data directory", e));
    let mut out = Vec::new();
    for schema in list(datadir)?.into_iter().filter(|e| e.kind == EntryKind::Dir) {
        let dir = datadir.join(&schema.name);
        for f in list(&dir)?.into_iter().filter(|e| e.kind == EntryKind::File && !is_temporary_name(&e.name)) {
            let ext = Path::new(&f.name).extension().and_then(|e| e.to_str()).unwrap_or("");
            if extensions.contains(&ext) {
                out.push((dir.join(&f.name), Path::new(&schema.name).join(&f.name)));
            }
        }
    }
    Ok(out)
}

/// When a copied file is made durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// fdatasync before returning.
    Now,
    /// The caller syncs it later (`TargetDir::sync_file`): files copied while
    /// the server is locked are synced after the lock, not under it.
    Deferred,
}

/// Copies a whole non-InnoDB file (no page structure to validate).
/// `buf` is the caller's, reused from file to file (a datadir holds hundreds of
/// small .frm files, copied while the server is locked); it grows to at most
/// `chunk_size`.
pub fn copy_plain_file(
    fs: &dyn SourceFs,
    target: &dyn TargetDir,
    source: &Path,
    rel: &Path,
    chunk_size: usize,
    buf: &mut Vec<u8>,
    durability: Durability,
) -> Result<u64> {
    let mut src = fs
        .open(source, ReadPolicy { direct: false, fadvise: true })
        .map_err(|e| BackupError::io(source, "opening", e))?;
    if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
        target
            .create_dir_all(parent)
            .map_err(|e| BackupError::io(target.root().join(parent), "creating a directory", e))?;
    }
    let out_path = target.root().join(rel);
    let mut out = target.create_file(rel).map_err(|e| BackupError::io(&out_path, "creating", e))?;
    let size = src.size().map_err(|e| BackupError::io(source, "sizing", e))?;
    // One extra byte past the known size notices a file that grew.
    let want = (size as usize + 1).clamp(4096, chunk_size.max(4096));
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let buf = &mut buf[..want];
    let mut offset = 0u64;
    loop {
        let got = src.read_at(buf, offset).map_err(|e| BackupError::io(source, "reading", e))?;
        if got == 0 {
            break;
        }
        out.write_at(&buf[..got], offset).map_err(|e| BackupError::io(&out_path, "writing", e))?;
        offset += got as u64;
    }
    if durability == Durability::Now {
        out.sync().map_err(|e| BackupError::io(&out_path, "fdatasync", e))?;
    }
    Ok(offset)
}
