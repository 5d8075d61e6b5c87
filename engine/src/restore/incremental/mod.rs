//! `innohot prepare --target-dir=BASE --incremental-dir=INC`: brings a
//! prepared backup forward by one incremental backup of the same server,
//! as `mariabackup --prepare --incremental-dir` does (docs/INCREMENTAL.md):
//!
//! 1. the chain is checked: BASE prepared, INC an incremental whose
//!    `from_lsn` is BASE's `to_lsn` (so each incremental goes on once, in order);
//! 2. INC's deltas are written into BASE's tablespaces, found by space id
//!    (renamed tables follow, recreated ones are replaced, new ones created),
//!    and BASE's tables INC does not hold are removed (dropped since);
//! 3. BASE's non-InnoDB files are replaced by INC's, with its metadata files;
//! 4. INC's redo is applied to BASE as a prepare applies a backup's own;
//! 5. BASE's `ib_logfile0` and, last, its `xtrabackup_checkpoints` (now
//!    ending at INC's LSNs) are replaced.
//!
//! INC is only read, never changed: an interrupted prepare is run again
//! from the start (every step rewrites what it wrote, and the checkpoints,
//! written last, still say where BASE stood), and a chain can be prepared
//! again from a fresh copy of its base.

mod deltas;
mod files;

use super::prepare::{self, BackupFlavor, PrepareReport, RedoCopy};
use super::{io_err, read_checkpoints, Checkpoints, RestoreError, Result};
use crate::format::Lsn;
use crate::io::LocalFs;
use crate::meta;
use std::path::{Path, PathBuf};

/// What an incremental prepare did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncrementalReport {
    /// BASE's LSNs before, INC's after.
    pub from_lsn: Lsn,
    pub to_lsn: Lsn,
    /// `.delta` files written into BASE, and their pages.
    pub deltas: usize,
    pub delta_pages: u64,
    /// Tablespaces INC brought that BASE did not have (relative to BASE).
    pub created: Vec<PathBuf>,
    /// BASE's tables moved to their name in INC (renamed since): (from, to).
    pub renamed: Vec<(PathBuf, PathBuf)>,
    /// BASE's tables INC does not hold (dropped, or replaced by a new tablespace).
    pub removed: Vec<PathBuf>,
    /// Whole tablespace copies INC took of tables created during it (`.new`).
    pub replaced: Vec<PathBuf>,
    /// Non-InnoDB and metadata files copied from INC.
    pub files_copied: usize,
    /// INC's redo applied to BASE.
    pub redo: PrepareReport,
}

/// Applies the incremental backup in `inc` to the prepared backup in `base`.
pub fn prepare_incremental(fs: &dyn LocalFs, base: &Path, inc: &Path) -> Result<IncrementalReport> {
    let _lock = prepare::lock_backup(fs, base)?;
    let base_cp = read_checkpoints(fs, base)?;
    let inc_cp = read_checkpoints(fs, inc)?;
    let flavor = check_chain(fs, base, inc, &base_cp, &inc_cp)?;
    // An interrupted prepare's page writes first (see `journal`).
    super::journal::recover(fs, base)?;
    let plan = deltas::plan(fs, inc)?;
    let mut report = deltas::apply(fs, base, &plan)?;
    report.files_copied = files::take_over(fs, base, inc)?;
    let without_ibd = prepare::check_files(fs, base)?;
    let redo = flavor.apply_redo(fs, base, &RedoCopy { dir: inc, cp: &inc_cp, incremental: true }, &without_ibd)?;
    let backup_type = flavor.prepared_type();
    let text = with_values(
        &base_cp,
        &[
            ("backup_type", backup_type.into()),
            ("to_lsn", inc_cp.to_lsn.to_string()),
            ("last_lsn", inc_cp.last_lsn.to_string()),
        ],
    );
    let path = base.join(meta::CHECKPOINTS_FILE);
    fs.replace_durably(&path, text.as_bytes()).map_err(io_err(&path, "replacing"))?;
    Ok(IncrementalReport { from_lsn: base_cp.to_lsn, to_lsn: inc_cp.to_lsn, redo, ..report })
}

/// Refuses a pair that is not the next link of a chain, before anything is
/// written. Returns the flavor of INC's redo copy, which BASE must hold too.
fn check_chain(
    fs: &dyn LocalFs,
    base: &Path,
    inc: &Path,
    base_cp: &Checkpoints,
    inc_cp: &Checkpoints,
) -> Result<&'static dyn BackupFlavor> {
    let refuse = |why: String| Err(RestoreError::Refused(why));
    if !inc_cp.is_incremental() {
        return refuse(format!(
            "{} is not an incremental backup (backup_type = {}, from_lsn = 0): --incremental-dir takes a backup \
             taken with --incremental-basedir or --incremental-lsn",
            inc.display(),
            inc_cp.backup_type
        ));
    }
    if base_cp.is_incremental() {
        return refuse(format!(
            "{} is itself an incremental backup (from LSN {}): the target is the prepared full backup its chain \
             starts from",
            base.display(),
            base_cp.from_lsn
        ));
    }
    if !base_cp.is_prepared() {
        return refuse(format!(
            "applying an incremental backup needs a prepared target: {} is not prepared yet (backup_type = {}): run \
             innohot prepare --target-dir={} first, then apply the incrementals in order",
            base.display(),
            base_cp.backup_type,
            base.display()
        ));
    }
    if base_cp.to_lsn != inc_cp.from_lsn {
        let hint = if inc_cp.to_lsn <= base_cp.to_lsn {
            "it is older than the target (already applied, or an earlier link of the chain)"
        } else {
            "an incremental between them is missing, or it belongs to another chain"
        };
        return refuse(format!(
            "This incremental backup seems not to be proper for the target: {} ends at to_lsn {}, {} starts at \
             from_lsn {}: {hint}; apply the chain's incrementals in order, each once; nothing was changed",
            base.display(),
            base_cp.to_lsn,
            inc.display(),
            inc_cp.from_lsn
        ));
    }
    // INC without a redo copy is refused below, as lacking the first flavor's.
    let flavor = prepare::of_backup(&|name| fs.exists(&inc.join(name))).unwrap_or(prepare::FLAVORS[0]);
    let log = flavor.redo_file();
    for (dir, what) in [(base, "target"), (inc, "incremental")] {
        if !fs.exists(&dir.join(log)) {
            return refuse(format!(
                "{}: the {what} has no {log}, which the other has: the two are not backups of one server",
                dir.display()
            ));
        }
    }
    Ok(flavor)
}

/// The checkpoints file with the given keys' values replaced.
fn with_values(cp: &Checkpoints, values: &[(&str, String)]) -> String {
    let mut out = String::new();
    for line in cp.text.lines() {
        let key = line.split_once('=').map(|(k, _)| k.trim());
        match values.iter().find(|(k, _)| Some(*k) == key) {
            Some((k, v)) => out.push_str(&format!("{k} = {v}\n")),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}
