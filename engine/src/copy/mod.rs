//! The data-file copy: finds the tablespaces, then copies each in chunks
//! (`file`), validating every page and re-reading a chunk that holds a torn
//! page, on as many lanes as the user asked for (`pool`).

pub mod delta;
mod file;
mod pace;
mod paced;
mod pool;
mod throttle;

pub use file::{CopyStep, FileCopier};
pub use pace::{AutoPacer, Load, PaceMode, PaceSample, DEFAULT_MAX_IMPACT_PERCENT, DEFAULT_PACE_WINDOW};
pub use paced::{PaceState, PaceStretch};
pub use pool::{CopyLane, CopyPool, CopyTask, FinishedCopy, LaneStep, PoolServices};
pub use throttle::Throttle;

use crate::error::{BackupError, Result};
use crate::format::page;
use crate::io::{EntryKind, ReadPolicy, SourceFs, TargetDir};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// 1 MiB: fastest in the chunk x policy sweep and end to end (docs/PERFORMANCE.md:
/// a 2.8 GB datadir at `--parallel 2`, 0.93x the time of 10 MiB chunks, the
/// size xtrabackup reads per step) and a third of the memory.
pub const DEFAULT_CHUNK_SIZE: usize = 1024 * 1024;
/// Peers re-read a chunk with a bad page up to 10 times, 100 ms apart.
pub const DEFAULT_PAGE_RETRIES: u32 = 10;
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_millis(100);
/// Large enough that a range's setup (a dup of the handle, page 0) is noise,
/// small enough that lanes finish together: with a few 100-MB tables, larger
/// ranges left one lane copying alone at the end.
pub const DEFAULT_RANGE_SIZE: u64 = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySettings {
    pub chunk_size: usize,
    /// Lanes copying at once (files, and ranges of large files).
    pub parallel: usize,
    /// A file larger than this is copied as ranges of this size on several
    /// lanes, so one large table does not serialize the copy.
    pub range_size: u64,
    /// How fast the data files are read before the lock (never under it).
    pub pacing: Pacing,
    /// Re-reads of a chunk with an invalid page before the backup fails.
    pub page_retries: u32,
    pub retry_delay: Duration,
    pub read_policy: ReadPolicy,
    /// An incremental backup: only the pages changed at or after this LSN
    /// are taken, into `NAME.delta` and `NAME.meta` (see `delta`).
    pub incremental_from: Option<crate::format::Lsn>,
}

impl Default for CopySettings {
    fn default() -> Self {
        CopySettings {
            chunk_size: DEFAULT_CHUNK_SIZE,
            parallel: 1,
            range_size: DEFAULT_RANGE_SIZE,
            pacing: Pacing::default(),
            page_retries: DEFAULT_PAGE_RETRIES,
            retry_delay: DEFAULT_RETRY_DELAY,
            read_policy: ReadPolicy::default(),
            incremental_from: None,
        }
    }
}

/// How the data-file copy is paced (`--throttle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pacing {
    /// As fast as the disk goes (`--throttle=0`).
    Unpaced,
    /// At most this many bytes per second, all lanes together (`--throttle=N`, MiB/s).
    Fixed(u64),
    /// As fast as the server lets it (`--throttle=auto`): see `pace`.
    Auto { max_impact_percent: u32, window: Duration },
}

impl Default for Pacing {
    fn default() -> Self {
        Pacing::Auto { max_impact_percent: DEFAULT_MAX_IMPACT_PERCENT, window: DEFAULT_PACE_WINDOW }
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
    let bad = |why: &str| BackupError::Config(format!("innodb_data_file_path '{spec}': {why}"));
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
                detail: format!("'{target}' is not an absolute path to a .ibd file"),
            },
        });
    }
    Ok(PathBuf::from(target))
}

/// The system tablespace files, undo tablespaces, then every `.ibd` at the top of
/// the datadir and one level down, each group in name order. A DATA DIRECTORY
/// table (or, at the top, a MySQL 5.7 general tablespace outside the datadir)
/// is found by its `.isl` link file and copied from where the link points
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
            // MySQL 5.7's general tablespace created with an absolute ADD
            // DATAFILE path: its link sits at the top of the datadir.
            EntryKind::File if entry.name.ends_with(".isl") && !is_temporary_name(&entry.name) => {
                let stem = entry.name.trim_end_matches(".isl");
                let source = match read_link_file(fs, &path) {
                    Ok(source) => source,
                    Err(BackupError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                tables.push(Tablespace {
                    source,
                    target: PathBuf::from(format!("{stem}.ibd")),
                    kind: TablespaceKind::Table,
                });
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
pub fn discover_non_innodb(
    fs: &dyn SourceFs,
    datadir: &Path,
    extensions: &[&str],
    ignored_dirs: &[String],
) -> Result<SchemaFiles> {
    let list = |dir: &Path| fs.list(dir).map_err(|e| BackupError::io(dir, "listing the data directory", e));
    let mut out = SchemaFiles::default();
    for schema in list(datadir)?.into_iter().filter(|e| e.kind == EntryKind::Dir) {
        if ignored_dirs.contains(&schema.name) {
            continue;
        }
        let dir = datadir.join(&schema.name);
        let entries = list(&dir)?;
        if entries.is_empty() {
            out.empty_schemas.push(schema.name.clone());
        }
        for f in entries.into_iter().filter(|e| e.kind == EntryKind::File && !is_temporary_name(&e.name)) {
            let ext = Path::new(&f.name).extension().and_then(|e| e.to_str()).unwrap_or("");
            if extensions.contains(&ext) {
                out.files.push((dir.join(&f.name), Path::new(&schema.name).join(&f.name)));
            }
        }
    }
    Ok(out)
}

/// The schema directories' non-InnoDB files, and the directories with nothing
/// in them (a database without tables and without db.opt is still a database:
/// the backup holds it as an empty `db.opt`, as mariabackup's does).
#[derive(Debug, Default)]
pub struct SchemaFiles {
    /// (source, path in the backup)
    pub files: Vec<(PathBuf, PathBuf)>,
    pub empty_schemas: Vec<String>,
}

/// The server's `ignore_db_dirs` (a comma-separated list): directories of the
/// datadir that are no database, never backed up.
pub fn ignored_db_dirs(setting: Option<&str>) -> Vec<String> {
    setting.unwrap_or("").split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()
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
