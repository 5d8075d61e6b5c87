//! What a backup must hold for a server to start on it (issue 19), checked by
//! prepare before it writes anything and by verify: `backup-my.cnf`; the system
//! tablespace files its `innodb_data_file_path` names; `undo001`..`undoN` for its
//! `innodb_undo_tablespaces`; the `.ibd` of every InnoDB table whose `.frm` is in
//! the backup (of every InnoDB partition its `.par` lists). A table created with
//! innodb_file_per_table=OFF lives in the system tablespace and has no `.ibd`: the
//! tables without one are handed back ([`Findings::without_ibd`]) for the caller
//! to ask SYS_TABLES ([`crate::restore::prepare::sys_tables`]) where they live.
//!
//! An InnoDB `.frm` is told from the other engines' by its legacy_db_type byte
//! (byte 3: 12 InnoDB, 20 partitioned, whose byte 61 is the partitions' engine)
//! and by the files beside it: a table with MyISAM, Aria, CSV, ARCHIVE or MERGE
//! files is not InnoDB. A view's `.frm` is text (`TYPE=VIEW`).

use crate::io::{DirEntry, EntryKind};
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};

/// legacy_db_type of an InnoDB table (`DB_TYPE_INNODB`).
const DB_TYPE_INNODB: u8 = 12;
/// legacy_db_type of a partitioned table (`DB_TYPE_PARTITION_DB`).
const DB_TYPE_PARTITION: u8 = 20;
/// Where a partitioned table's `.frm` keeps its partitions' engine.
const FRM_PART_DB_TYPE: usize = 61;
/// Files of the other engines: a table that has them is not InnoDB.
const OTHER_ENGINE_EXTENSIONS: [&str; 9] = ["MYD", "MYI", "MAD", "MAI", "CSV", "CSM", "ARZ", "ARM", "MRG"];
/// Schemas that never hold InnoDB tables (their `.frm` belong to their own engine).
const NOT_INNODB_SCHEMAS: [&str; 1] = ["performance_schema"];
/// Bytes of a `.frm` read to tell its engine.
const FRM_HEAD: usize = 64;
/// The most a `.par` holds (a table has at most 8192 partitions).
const PAR_MAX: usize = 1 << 20;

/// The server settings `backup-my.cnf` records that say which files must be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// innodb_data_file_path's files, as the backup names them (no directory).
    pub data_files: Vec<String>,
    pub undo_tablespaces: u32,
    /// innodb_page_size in bytes, when given.
    pub page_size: Option<u32>,
}

/// One file a server needs that the backup lacks, and why it is needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// Relative to the backup directory.
    pub file: PathBuf,
    pub why: String,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} is missing from the backup ({})", self.file.display(), self.why)
    }
}

/// An InnoDB table (or partition) whose `.ibd` is not in the backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableWithoutIbd {
    /// The `.ibd` it would have, relative to the backup directory.
    pub ibd: PathBuf,
    /// Its `.frm`, relative.
    pub frm: PathBuf,
    /// Its name in SYS_TABLES: `db/t`, `db/t#P#p0`.
    pub innodb_name: String,
}

/// What [`check`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Findings {
    /// None when `backup-my.cnf` is missing or unreadable (then it is in `missing`
    /// or `bad_settings`).
    pub settings: Option<Settings>,
    /// Why `backup-my.cnf` does not fit the backup, in words.
    pub bad_settings: Option<String>,
    pub missing: Vec<Missing>,
    pub without_ibd: Vec<TableWithoutIbd>,
}

/// How the checks read the backup: prepare through `LocalFs`, verify through `SourceFs`.
pub trait BackupReader {
    fn entries(&self, dir: &Path) -> io::Result<Vec<DirEntry>>;
    /// At most `len` bytes from the start of the file.
    fn head(&self, path: &Path, len: usize) -> io::Result<Vec<u8>>;
}

/// A backup read through [`crate::io::LocalFs`] (prepare).
pub struct LocalReader<'a>(pub &'a dyn crate::io::LocalFs);

impl BackupReader for LocalReader<'_> {
    fn entries(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.0.list(dir)
    }
    fn head(&self, path: &Path, len: usize) -> io::Result<Vec<u8>> {
        read_head(self.0.open_read(path)?, len)
    }
}

/// A backup read through [`crate::io::SourceFs`] (verify).
pub struct SourceReader<'a>(pub &'a dyn crate::io::SourceFs);

impl BackupReader for SourceReader<'_> {
    fn entries(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        self.0.list(dir)
    }
    fn head(&self, path: &Path, len: usize) -> io::Result<Vec<u8>> {
        read_head(self.0.open(path, crate::io::ReadPolicy { direct: false, fadvise: false })?, len)
    }
}

fn read_head(mut f: Box<dyn crate::io::SourceFile>, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len.min(f.size()? as usize)];
    let got = f.read_at(&mut buf, 0)?;
    buf.truncate(got);
    Ok(buf)
}

/// Why `backup-my.cnf`'s settings cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    DataFilePath(#[from] crate::BackupError),
    #[error("{key} = {value} is not a number")]
    NotANumber { key: &'static str, value: String },
}

/// `backup-my.cnf`'s settings; the server's defaults for what it leaves out.
pub fn parse_settings(text: &str) -> Result<Settings, SettingsError> {
    let kv = super::key_values(text);
    let spec = kv.get("innodb_data_file_path").map(String::as_str).unwrap_or("ibdata1:12M:autoextend");
    let files = crate::copy::parse_data_file_path(spec)?;
    let data_files = files.iter().map(|f| base_name(&f.name)).collect();
    let number = |key: &'static str| -> Result<Option<u32>, SettingsError> {
        let bad = |v: &String| SettingsError::NotANumber { key, value: v.clone() };
        kv.get(key).map(|v| v.parse().map_err(|_| bad(v))).transpose()
    };
    Ok(Settings {
        data_files,
        undo_tablespaces: number("innodb_undo_tablespaces")?.unwrap_or(0),
        page_size: number("innodb_page_size")?,
    })
}

fn base_name(name: &str) -> String {
    Path::new(name).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| name.to_string())
}

/// Checks the backup in `dir`: the files its settings and its `.frm` files call for.
/// Err only when a directory cannot be listed.
pub fn check(r: &dyn BackupReader, dir: &Path) -> io::Result<Findings> {
    let top = r.entries(dir)?;
    let has = |name: &str| top.iter().any(|e| e.name == name && e.kind == EntryKind::File);
    let mut out = Findings::default();
    let cnf = crate::meta::BACKUP_MY_CNF;
    if has(cnf) {
        let text = String::from_utf8_lossy(&r.head(&dir.join(cnf), 1 << 20)?).into_owned();
        match parse_settings(&text) {
            Ok(s) => out.settings = Some(s),
            Err(e) => out.bad_settings = Some(format!("{cnf}: {e}")),
        }
    } else {
        out.missing.push(Missing {
            file: cnf.into(),
            why: "the server's settings (innodb_data_file_path, innodb_undo_tablespaces, innodb_page_size): \
                  without them the backup's system files cannot be known"
                .into(),
        });
    }
    if let Some(s) = &out.settings {
        for name in s.data_files.iter().filter(|n| !has(n)) {
            out.missing.push(Missing {
                file: name.into(),
                why: "the system tablespace, which innodb_data_file_path in backup-my.cnf names".into(),
            });
        }
        for n in 1..=s.undo_tablespaces {
            let name = format!("undo{n:03}");
            if !has(&name) {
                out.missing.push(Missing {
                    file: name.into(),
                    why: format!(
                        "undo tablespace {n} of the {} innodb_undo_tablespaces backup-my.cnf names",
                        s.undo_tablespaces
                    ),
                });
            }
        }
    }
    if let Some(s) = &out.settings {
        out.bad_settings = page_size_mismatch(r, dir, s)?;
    }
    for schema in top.iter().filter(|e| e.kind == EntryKind::Dir && !NOT_INNODB_SCHEMAS.contains(&e.name.as_str())) {
        schema_tables(r, dir, &schema.name, &mut out)?;
    }
    Ok(out)
}

/// Whether `innodb_page_size` disagrees with the first system tablespace file's page 0.
fn page_size_mismatch(r: &dyn BackupReader, dir: &Path, s: &Settings) -> io::Result<Option<String>> {
    let (Some(want), Some(first)) = (s.page_size, s.data_files.first()) else { return Ok(None) };
    let path = dir.join(first);
    if r.entries(dir)?.iter().all(|e| &e.name != first) {
        return Ok(None);
    }
    let head = r.head(&path, crate::format::page::MIN_PAGE_SIZE)?;
    let Ok(layout) = crate::format::page::layout_from_page0(&head) else { return Ok(None) };
    Ok((layout.logical_size as u32 != want).then(|| {
        format!(
            "{}: innodb_page_size = {want}, but the pages of {first} are {} bytes: the file is not this backup's \
             settings",
            crate::meta::BACKUP_MY_CNF,
            layout.logical_size
        )
    }))
}

/// The InnoDB tables of one schema directory whose `.ibd` (or a partition's) is missing.
fn schema_tables(r: &dyn BackupReader, dir: &Path, schema: &str, out: &mut Findings) -> io::Result<()> {
    let entries = r.entries(&dir.join(schema))?;
    let files: BTreeSet<&str> = entries.iter().filter(|e| e.kind == EntryKind::File).map(|e| e.name.as_str()).collect();
    for frm in files.iter().filter(|n| n.ends_with(".frm") && !crate::copy::is_temporary_name(n)) {
        let stem = &frm[..frm.len() - 4];
        if OTHER_ENGINE_EXTENSIONS.iter().any(|ext| files.contains(format!("{stem}.{ext}").as_str())) {
            continue;
        }
        let rel_frm = Path::new(schema).join(frm);
        let head = r.head(&dir.join(&rel_frm), FRM_HEAD)?;
        let tables: Vec<String> = match frm_engine(&head) {
            // MySQL 5.7's native partitioning: an InnoDB .frm, no .par, one .ibd per partition.
            FrmEngine::InnoDb if files.iter().any(|f| f.starts_with(&format!("{stem}#P#")) && f.ends_with(".ibd")) => {
                continue
            }
            FrmEngine::InnoDb => vec![stem.to_string()],
            FrmEngine::PartitionedInnoDb => {
                let par = format!("{stem}.par");
                if !files.contains(par.as_str()) {
                    out.missing.push(Missing {
                        file: Path::new(schema).join(&par),
                        why: format!(
                            "the partition list of the partitioned table whose {} is in the backup",
                            rel_frm.display()
                        ),
                    });
                    continue;
                }
                match par_partitions(&r.head(&dir.join(schema).join(&par), PAR_MAX)?) {
                    Some(parts) => parts.into_iter().map(|p| format!("{stem}#P#{p}")).collect(),
                    None => {
                        out.missing.push(Missing {
                            file: Path::new(schema).join(&par),
                            why: "it is damaged: it does not list the table's partitions".into(),
                        });
                        continue;
                    }
                }
            }
            FrmEngine::Other => continue,
        };
        for t in tables.into_iter().filter(|t| !files.contains(format!("{t}.ibd").as_str())) {
            out.without_ibd.push(TableWithoutIbd {
                ibd: Path::new(schema).join(format!("{t}.ibd")),
                frm: rel_frm.clone(),
                innodb_name: format!("{schema}/{t}"),
            });
        }
    }
    Ok(())
}

/// Which engine a `.frm` (its first bytes) names, as far as InnoDB is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrmEngine {
    InnoDb,
    /// A partitioned table whose partitions are InnoDB.
    PartitionedInnoDb,
    /// Another engine, a view, or not a `.frm` innohot can read.
    Other,
}

pub fn frm_engine(head: &[u8]) -> FrmEngine {
    if head.len() < 4 || head[0] != 0xFE || head[1] != 0x01 {
        return FrmEngine::Other;
    }
    match head[3] {
        DB_TYPE_INNODB => FrmEngine::InnoDb,
        DB_TYPE_PARTITION if head.get(FRM_PART_DB_TYPE) == Some(&DB_TYPE_INNODB) => FrmEngine::PartitionedInnoDb,
        _ => FrmEngine::Other,
    }
}

/// The InnoDB partitions a `.par` lists (`p0`, `p0#SP#p0sp0`, in the file name
/// encoding), or None when it is not a `.par`. Layout: words of 4 bytes (LE): the
/// length in words, a checksum, the number of partitions, one engine byte per
/// partition (padded to a word), the names' length in bytes, then the names, each
/// ending in NUL.
pub fn par_partitions(par: &[u8]) -> Option<Vec<String>> {
    let word = |at: usize| par.get(at..at + 4).map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize);
    let parts = word(8)?;
    let engines = par.get(12..12 + parts)?;
    let names_at = 12 + parts.div_ceil(4) * 4;
    let names_len = word(names_at)?;
    let names = par.get(names_at + 4..names_at + 4 + names_len)?;
    let list: Vec<&[u8]> = names.split(|&b| b == 0).take(parts).collect();
    if list.len() != parts || list.iter().any(|n| n.is_empty()) {
        return None;
    }
    Some(
        list.into_iter()
            .zip(engines)
            .filter(|(_, &engine)| engine == DB_TYPE_INNODB)
            .map(|(n, _)| String::from_utf8_lossy(n).into_owned())
            .collect(),
    )
}

/// Where SYS_TABLES puts the InnoDB tables whose `.ibd` is not in the backup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// Tables SYS_TABLES keeps in a tablespace of their own (a server answers
    /// "Tablespace is missing"), or every table when it could not be read.
    pub missing: Vec<Missing>,
    /// Tables SYS_TABLES does not list: an orphan `.frm` (the server has the same),
    /// or, in a dictionary as copied, a table created after the start checkpoint.
    pub unlisted: Vec<TableWithoutIbd>,
}

/// Places the tables without `.ibd` by SYS_TABLES (`dictionary`: name -> space id,
/// None when it could not be read): those in the system tablespace (SPACE 0) or in
/// a tablespace the backup holds under another name (`held`: the ids of its files'
/// pages 0; MySQL 5.7's general tablespaces) are fine.
pub fn place(
    without: &[TableWithoutIbd],
    dictionary: Option<&BTreeMap<String, u32>>,
    held: &BTreeSet<u32>,
) -> Placement {
    let mut out = Placement::default();
    for t in without {
        let why = match dictionary.map(|d| d.get(&t.innodb_name)) {
            Some(Some(&space)) if space == 0 || held.contains(&space) => continue,
            Some(None) => {
                out.unlisted.push(t.clone());
                continue;
            }
            Some(Some(space)) => format!(
                "InnoDB keeps the table {} (its {} is in the backup) in tablespace {space}, this file",
                t.innodb_name,
                t.frm.display()
            ),
            None => format!(
                "the InnoDB table whose {} is in the backup; SYS_TABLES in the system tablespace cannot be read to \
                 tell whether the table lives there instead",
                t.frm.display()
            ),
        };
        out.missing.push(Missing { file: t.ibd.clone(), why });
    }
    out
}

/// Where the backup keeps the tablespace a redo FILE record names: `./db/t.ibd` at
/// `db/t.ibd`; a DATA DIRECTORY table's absolute path in its schema directory (its
/// last two components), beside its `.isl`.
pub fn backup_path_of(redo_name: &str) -> PathBuf {
    let path = Path::new(redo_name);
    if path.is_absolute() {
        let tail: Vec<_> = path.components().rev().take(2).collect();
        tail.into_iter().rev().collect()
    } else {
        PathBuf::from(redo_name.trim_start_matches("./"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn par_files_of_mariadb_10_11_list_their_partitions() {
        // PARTITION BY HASH(id) PARTITIONS 3, and RANGE with 2 x 2 HASH subpartitions.
        let p = hex("080000004f3c7c42030000000c0c0c0009000000703000703100703200000000000000000000000000000000");
        assert_eq!(par_partitions(&p).unwrap(), ["p0", "p1", "p2"]);
        let sp = hex(
            "11000000290c0c0c040000000c0c0c0c300000007030235350237030737030007030235350237030737031007031235350237031\
             737030007031235350237031737031000000000000000000",
        );
        assert_eq!(par_partitions(&sp).unwrap(), ["p0#SP#p0sp0", "p0#SP#p0sp1", "p1#SP#p1sp0", "p1#SP#p1sp1"]);
        // A partition of another engine (MyISAM, 9) needs no .ibd; a cut file is not a .par.
        let mut mixed = p.clone();
        mixed[13] = 9;
        assert_eq!(par_partitions(&mixed).unwrap(), ["p0", "p2"]);
        assert_eq!(par_partitions(&p[..20]), None);
    }

    #[test]
    fn frm_engine_by_legacy_db_type() {
        let frm = |t: u8, part: u8| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&[0xFE, 0x01, 0x0A, t]);
            h[61] = part;
            h
        };
        assert_eq!(frm_engine(&frm(12, 0)), FrmEngine::InnoDb);
        assert_eq!(frm_engine(&frm(20, 12)), FrmEngine::PartitionedInnoDb);
        for (t, part) in [(20, 9), (9, 0), (42, 0), (17, 0)] {
            assert_eq!(frm_engine(&frm(t, part)), FrmEngine::Other, "type {t}");
        }
        assert_eq!(frm_engine(b"TYPE=VIEW\nquery=select 1\n"), FrmEngine::Other);
    }

    #[test]
    fn settings_name_the_system_files() {
        let s = parse_settings("[mysqld]\ninnodb_data_file_path=/abs/ibdata1:12M;ibdata2:10M:autoextend\n").unwrap();
        assert_eq!(s.data_files, ["ibdata1", "ibdata2"]);
        assert_eq!((s.undo_tablespaces, s.page_size), (0, None));
        let s = parse_settings("innodb_undo_tablespaces=3\ninnodb_page_size=4096\n").unwrap();
        assert_eq!(
            (s.data_files.as_slice(), s.undo_tablespaces, s.page_size),
            (&["ibdata1".to_string()][..], 3, Some(4096))
        );
        assert!(parse_settings("innodb_undo_tablespaces=three\n").unwrap_err().to_string().contains("three"));
    }

    #[test]
    fn tables_are_placed_by_the_dictionary() {
        let t = |name: &str| TableWithoutIbd {
            ibd: format!("d/{name}.ibd").into(),
            frm: format!("d/{name}.frm").into(),
            innodb_name: format!("d/{name}"),
        };
        let without = [t("sys"), t("own"), t("orphan")];
        let dict: BTreeMap<String, u32> = [("d/sys".to_string(), 0), ("d/own".to_string(), 7)].into();
        let placed = place(&without, Some(&dict), &BTreeSet::new());
        assert_eq!(placed.missing.len(), 1);
        assert_eq!(placed.missing[0].file, Path::new("d/own.ibd"));
        assert!(placed.missing[0].to_string().contains("in tablespace 7"), "{}", placed.missing[0]);
        assert_eq!(placed.unlisted, [t("orphan")]);
        // No dictionary: every one is missing, saying why.
        let blind = place(&without, None, &BTreeSet::new());
        // A tablespace the backup holds under another file name (a 5.7 general tablespace).
        assert!(place(&without[1..2], Some(&dict), &[7].into()).missing.is_empty());
        assert_eq!(blind.missing.len(), 3);
        assert!(blind.missing[0].why.contains("cannot be read"));
    }
}
