//! The incremental scenario's chain, prepared by innohot on the real file
//! system as a user prepares one: a copy of the base prepared, then each
//! incremental applied to it in turn. An incremental is only read: the
//! chain's steps must leave it byte for byte as it was.

use crate::oracle::hash_tree;
use innohot::io::local::RealLocalFs;
use innohot::restore::incremental::prepare_incremental;
use innohot::restore::prepare::prepare;
use std::fs;
use std::io;
use std::path::Path;

/// A copy of the base in `chain`, prepared. Returns the mtrs prepare applied.
pub(super) fn start(base: &Path, chain: &Path) -> Result<u64, String> {
    copy_tree(base, chain).map_err(|e| format!("copying the base backup to {}: {e}", chain.display()))?;
    let report = prepare(&RealLocalFs, chain).map_err(|e| format!("prepare of the base backup failed: {e}"))?;
    Ok(report.mtrs)
}

/// The incremental in `inc` applied to the prepared `chain`. Returns the mtrs
/// of its redo that prepare applied.
pub(super) fn apply(chain: &Path, inc: &Path) -> Result<u64, String> {
    let before = hash_tree(inc);
    let report = prepare_incremental(&RealLocalFs, chain, inc)
        .map_err(|e| format!("prepare --incremental-dir={} failed: {e}", inc.display()))?;
    if hash_tree(inc) != before {
        return Err(format!("prepare --incremental-dir changed the incremental backup in {}", inc.display()));
    }
    Ok(report.redo.mtrs)
}

/// Copies the directory tree `from` into `to` (new).
fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let dest = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else {
            fs::copy(e.path(), dest)?;
        }
    }
    Ok(())
}
