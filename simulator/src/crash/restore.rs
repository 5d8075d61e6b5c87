//! `restore-crash`: `innohot copy-back` or `move-back` of a prepared backup (a
//! MySQL 5.7 one marked prepared, as XtraBackup leaves it) into a seeded layout:
//! the datadir on the backup's file system or another, missing or a mount point
//! (with an empty `lost+found` or not), undo and redo directories apart, DATA
//! DIRECTORY tables where their links say or inside the datadir. Interrupted at
//! a seeded change:
//!
//! - no file of the backup is lost: each is whole at its source or (move-back)
//!   at its destination; copy-back never changes the backup;
//! - without the marker, the datadir holds nothing restored, or all of it;
//! - a failure that says it undid everything left every byte as it was;
//! - the same command run again gives the uninterrupted result byte for byte;
//!   in some runs that re-run is interrupted too (while it undoes or finishes
//!   the first run), and the same holds after it.

use super::{same_tree, Interruption, SimBackup, Tree, BACKUP};
use crate::config::SimConfig;
use crate::outcome::RunStats;
use crate::rng::Rng;
use innohot::io::memfs::{FaultPlan, MemFs};
use innohot::restore::copyback::{self, Item, Mode, Ownership, RestoreOptions};
use innohot::restore::marker::MARKER;
use std::path::{Path, PathBuf};

/// The seed's layout and options, on a file system holding the prepared backup.
fn setup(backup: &SimBackup, rng: &mut Rng) -> (MemFs, RestoreOptions) {
    let fs = backup.prepared.fork();
    let mode = if rng.chance(0.5) { Mode::Copy } else { Mode::Move };
    // Device 1 is the backup's: renames work there.
    fs.mount(Path::new("/data"), if rng.chance(0.5) { 1 } else { 2 }, u64::MAX);
    let datadir = if rng.chance(0.5) {
        if rng.chance(0.4) {
            fs.put_dir(Path::new("/data/lost+found"));
        }
        PathBuf::from("/data")
    } else {
        PathBuf::from("/data/mysql")
    };
    let apart = rng.chance(0.3);
    if apart {
        fs.mount(Path::new("/logs"), 4, u64::MAX);
    }
    let opts = RestoreOptions {
        data_files: Vec::new(),
        datadir,
        data_home_dir: None,
        undo_dir: apart.then(|| PathBuf::from("/logs/undo")),
        log_dir: apart.then(|| PathBuf::from("/logs/redo")),
        aria_log_dir: None,
        remote_inside_datadir: rng.chance(0.5),
        ownership: Ownership::Keep,
        mode,
    };
    (fs, opts)
}

pub(super) fn check(cfg: &SimConfig, backup: &SimBackup, stats: &mut RunStats, wrong: &mut Vec<String>) {
    let mut rng = Rng::new(cfg.seed ^ 0x2E57_0AE5);
    let (initial, opts) = setup(backup, &mut rng);
    let dir = Path::new(BACKUP);
    let reference = initial.fork();
    if let Err(e) = copyback::restore(&reference, dir, &opts) {
        return wrong.push(format!("the uninterrupted {} failed: {e}", command(&opts)));
    }
    let (finished, changes) = (reference.tree(), reference.changes());
    let items = copyback::plan(&initial, dir, &opts).expect("the plan the uninterrupted run followed");
    let initial_tree = initial.tree();
    let mut state = initial.fork();
    let mut ctx = command(&opts).to_string();
    // The first run is interrupted; in some runs the re-run too (while it undoes or finishes the first).
    for round in 0..2 {
        let changes = if round == 0 { changes } else { changes_of_a_rerun(&state, &opts, &ctx, wrong) };
        if changes == 0 {
            return;
        }
        let cut = Interruption::draw(&mut rng, changes, stats);
        ctx = format!("{ctx}{} {}", if round == 0 { "" } else { ", then run again and" }, cut.describe());
        state.set_faults(cut.plan());
        let err = match copyback::restore(&state, dir, &opts) {
            Ok(_) => return wrong.push(format!("{ctx}: it finished all the same")),
            Err(e) => e.to_string(),
        };
        let after = cut.aftermath(&state);
        let tree = after.tree();
        check_nothing_lost(&tree, &initial_tree, &items, opts.mode, &ctx, wrong);
        let placed = items.iter().any(|i| tree.contains_key(&i.to));
        if !tree.contains_key(&opts.datadir.join(MARKER)) && placed && tree != finished {
            wrong.push(format!("{ctx}: files are in place but not all of them, and no marker says so"));
        }
        if err.contains("undid what it did") {
            if let Err(d) = same_tree(&after, &initial_tree) {
                wrong.push(format!("{ctx}: it says it undid what it did ({err}), but {d}"));
            }
        }
        if tree == finished {
            return; // interrupted after the restore was complete
        }
        state = after;
        if !rng.chance(0.3) {
            break;
        }
    }
    state.set_faults(FaultPlan::default());
    match copyback::restore(&state, dir, &opts) {
        Ok(_) => {
            if let Err(d) = same_tree(&state, &finished) {
                wrong.push(format!("{ctx}, then run again: the result differs from the uninterrupted one: {d}"));
            }
        }
        Err(e) => wrong.push(format!("{ctx}, then run again: {e}")),
    }
}

/// The changes a re-run on `state` makes when nothing interrupts it (0 if it fails: said).
fn changes_of_a_rerun(state: &MemFs, opts: &RestoreOptions, ctx: &str, wrong: &mut Vec<String>) -> u64 {
    let probe = state.fork();
    probe.set_faults(FaultPlan::default());
    match copyback::restore(&probe, Path::new(BACKUP), opts) {
        Ok(_) => probe.changes(),
        Err(e) => {
            wrong.push(format!("{ctx}, then run again: {e}"));
            0
        }
    }
}

fn command(opts: &RestoreOptions) -> &'static str {
    match opts.mode {
        Mode::Copy => "copy-back",
        Mode::Move => "move-back",
    }
}

/// Every file of the backup is whole at its source or, moved, at its destination.
fn check_nothing_lost(tree: &Tree, initial: &Tree, items: &[Item], mode: Mode, ctx: &str, wrong: &mut Vec<String>) {
    for item in items {
        let source = &initial[&item.from];
        let whole_at_source = tree.get(&item.from) == Some(source);
        let whole_at_destination = match (item.contents(), tree.get(&item.to)) {
            (Some(link), Some(Some(got))) => **got == link,
            (None, Some(got)) => got == source,
            (_, None) => false,
            (Some(_), Some(None)) => false,
        };
        if mode == Mode::Copy && !whole_at_source {
            wrong.push(format!("{ctx}: copy-back changed {} in the backup", item.from.display()));
        } else if !whole_at_source && !whole_at_destination {
            wrong.push(format!(
                "{ctx}: {} is whole neither in the backup nor at {}",
                item.from.display(),
                item.to.display()
            ));
        }
    }
}
