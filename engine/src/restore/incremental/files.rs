//! Step 3 of an incremental prepare: BASE's non-InnoDB files become INC's.
//!
//! As mariabackup does: in each of BASE's database directories every file
//! but the tablespaces is removed, then INC's non-InnoDB files (table
//! definitions, MyISAM, Aria, CSV and Archive data, triggers, partitioning,
//! DATA DIRECTORY links, `db.opt`) are copied in, with INC's Aria logs and
//! the metadata files that describe the backup's end (binlog position,
//! replica and Galera state, xtrabackup_info). A database directory INC
//! does not have, left empty, is removed (a DROP DATABASE since the base).

use crate::io::{EntryKind, LocalFs};
use crate::meta;
use crate::restore::{io_err, Result};
use std::path::Path;

/// Files of a database directory INC brings whole (by extension): the
/// non-InnoDB files a MariaDB backup copies, MySQL's with Aria's.
const TAKEN: &[&str] = crate::flavor::MARIADB_NON_INNODB_EXTENSIONS;

/// Files at the top of INC that replace BASE's.
const METADATA: &[&str] = &[
    meta::BINLOG_INFO_FILE,
    "xtrabackup_galera_info",
    "donor_galera_info",
    "xtrabackup_slave_info",
    meta::INFO_FILE,
    "ib_lru_dump",
];

fn is_tablespace(name: &str) -> bool {
    name.ends_with(".ibd") || name.ends_with(".delta") || name.ends_with(".meta")
}

/// Replaces BASE's non-InnoDB files by INC's; returns how many were copied.
pub(super) fn take_over(fs: &dyn LocalFs, base: &Path, inc: &Path) -> Result<usize> {
    let list = |dir: &Path| fs.list(dir).map_err(io_err(dir, "listing"));
    let mut copied = 0;
    let mut buf = Vec::new();
    let inc_dirs: Vec<String> = list(inc)?.into_iter().filter(|e| e.kind == EntryKind::Dir).map(|e| e.name).collect();
    for db in list(base)?.into_iter().filter(|e| e.kind == EntryKind::Dir) {
        let dir = base.join(&db.name);
        for f in list(&dir)?.into_iter().filter(|f| f.kind == EntryKind::File && !is_tablespace(&f.name)) {
            let path = dir.join(&f.name);
            fs.remove_file(&path).map_err(io_err(&path, "removing a file the incremental replaces"))?;
        }
        if !inc_dirs.contains(&db.name) && list(&dir)?.is_empty() {
            fs.remove_dir(&dir).map_err(io_err(&dir, "removing a database dropped since the base"))?;
        }
    }
    for db in &inc_dirs {
        let (from_dir, to_dir) = (inc.join(db), base.join(db));
        fs.create_dir_all(&to_dir).map_err(io_err(&to_dir, "creating"))?;
        for f in list(&from_dir)?.into_iter().filter(|f| f.kind == EntryKind::File) {
            let ext = Path::new(&f.name).extension().and_then(|e| e.to_str()).unwrap_or("");
            if TAKEN.contains(&ext) {
                crate::restore::place::copy_whole(fs, &from_dir.join(&f.name), &to_dir.join(&f.name), &mut buf)?;
                copied += 1;
            }
        }
        // A database without tables is held as an empty db.opt, as a backup holds one.
        if list(&to_dir)?.is_empty() {
            let opt = to_dir.join("db.opt");
            fs.create_file(&opt).and_then(|mut f| f.sync()).map_err(io_err(&opt, "creating"))?;
        }
        fs.sync_dir(&to_dir).map_err(io_err(&to_dir, "fsync"))?;
    }
    for f in list(inc)?.into_iter().filter(|f| f.kind == EntryKind::File) {
        if !(f.name.starts_with("aria_log") || METADATA.contains(&f.name.as_str())) {
            continue;
        }
        let to = base.join(&f.name);
        if fs.exists(&to) {
            fs.remove_file(&to).map_err(io_err(&to, "removing a file the incremental replaces"))?;
        }
        crate::restore::place::copy_whole(fs, &inc.join(&f.name), &to, &mut buf)?;
        copied += 1;
    }
    fs.sync_dir(base).map_err(io_err(base, "fsync"))?;
    Ok(copied)
}
