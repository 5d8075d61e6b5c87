//! `innohot prepare --target-dir=BASE --incremental-dir=INC`: the output of
//! [`innohot::restore::incremental`].

use crate::commands::run::Run;
use innohot::io::local::RealLocalFs;
use innohot::restore::{incremental, RestoreError};
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

fn names(paths: &[PathBuf]) -> String {
    paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Applies INC to BASE; the JSON fields of the outcome.
pub fn prepare(run: &Run, base: &Path, inc: &Path) -> Result<(&'static str, Map<String, Value>), RestoreError> {
    run.say(&format!("innohot prepare: applying the incremental backup in {} to {}", inc.display(), base.display()));
    let r = incremental::prepare_incremental(&RealLocalFs, base, inc)?;
    for (what, list) in [
        ("created (new since the base)", &r.created),
        ("replaced by the incremental's whole copy", &r.replaced),
        ("removed (dropped or recreated since the base)", &r.removed),
    ] {
        if !list.is_empty() {
            run.say(&format!("tablespaces {what}: {}", names(list)));
        }
    }
    for (from, to) in &r.renamed {
        run.say(&format!("{} renamed to {} (renamed since the base)", from.display(), to.display()));
    }
    let redo = &r.redo;
    run.say(&format!(
        "applied {} deltas ({} pages) and {} non-InnoDB and metadata files; then redo {}..{} ({} bytes, {} \
         mini-transactions, {} records; {} already in their pages): {} pages written; the target now ends at LSN \
         {} (backup_type = {}); took {:.2} s",
        r.deltas,
        r.delta_pages,
        r.files_copied,
        redo.start_lsn,
        redo.end_lsn,
        redo.redo_bytes,
        redo.mtrs,
        redo.records_applied,
        redo.records_already_in_page,
        redo.pages_written,
        r.to_lsn,
        redo.backup_type,
        run.started_at.elapsed().as_secs_f64()
    ));
    let mut m = Map::new();
    for (k, v) in [
        ("from_lsn", r.from_lsn),
        ("to_lsn", r.to_lsn),
        ("deltas", r.deltas as u64),
        ("delta_pages", r.delta_pages),
        ("redo_bytes", redo.redo_bytes),
        ("records_applied", redo.records_applied),
        ("pages_written", redo.pages_written),
        ("pages_compressed", redo.pages_compressed),
    ] {
        m.insert(k.into(), json!(v));
    }
    Ok(("prepared", m))
}
