//! `prepare-crash`: `innohot prepare` of a finished MariaDB backup, interrupted at
//! a seeded change. Whatever survives, copy-back must refuse it unless it is the
//! fully prepared backup (never half-applied pages), and prepare run again must
//! leave every file of the backup as the uninterrupted prepare did.

use super::{same_tree, Interruption, SimBackup, BACKUP};
use crate::config::SimConfig;
use crate::outcome::RunStats;
use crate::rng::Rng;
use innohot::restore::copyback::{self, Mode, Ownership, RestoreOptions};
use innohot::restore::{prepare, RestoreError};
use std::path::{Path, PathBuf};

pub(super) fn check(cfg: &SimConfig, backup: &SimBackup, stats: &mut RunStats, wrong: &mut Vec<String>) {
    if backup.prepare_changes == 0 {
        return wrong.push("prepare-crash needs a MariaDB backup".into());
    }
    let want = backup.prepared.tree();
    let mut rng = Rng::new(cfg.seed ^ 0x9C2A_5E11);
    let cut = Interruption::draw(&mut rng, backup.prepare_changes, stats);
    let ctx = cut.describe();
    let dir = Path::new(BACKUP);
    let fs = backup.fs.fork();
    fs.set_faults(cut.plan());
    if prepare::prepare(&fs, dir).is_ok() {
        return wrong.push(format!("prepare finished although {ctx}"));
    }
    let after = cut.aftermath(&fs);
    let probe = after.fork();
    let opts = RestoreOptions {
        data_files: Vec::new(),
        datadir: PathBuf::from("/restored"),
        data_home_dir: None,
        undo_dir: None,
        log_dir: None,
        aria_log_dir: None,
        remote_inside_datadir: true,
        ownership: Ownership::Keep,
        mode: Mode::Copy,
    };
    match copyback::restore(&probe, dir, &opts) {
        Ok(_) => {
            if let Err(d) = same_tree(&after, &want) {
                wrong.push(format!(
                    "copy-back restored a backup whose prepare was {ctx} and is not the prepared one: {d}"
                ));
            }
        }
        Err(RestoreError::NotPrepared { .. }) => {
            if let Err(d) = same_tree(&probe, &after.tree()) {
                wrong.push(format!("copy-back refused the backup whose prepare was {ctx}, but wrote: {d}"));
            }
        }
        Err(e) => wrong.push(format!("copy-back of the backup whose prepare was {ctx} failed: {e}")),
    }
    match prepare::prepare(&after, dir) {
        Ok(_) => {
            if let Err(d) = same_tree(&after, &want) {
                wrong.push(format!("prepare run again after it was {ctx} differs from the uninterrupted one: {d}"));
            }
        }
        Err(e) => wrong.push(format!("prepare run again after it was {ctx} failed: {e}")),
    }
}
