//! Crash-safety of what comes after a backup: `prepare` (scenario `prepare-crash`,
//! MariaDB) and `copy-back` / `move-back` (scenario `restore-crash`), on the
//! engine's in-memory file system (`innohot::io::memfs`) loaded with a finished,
//! verified simulated backup.
//!
//! A run: the command once without faults (the reference result and how many
//! changes it makes), then again killed before a seeded change (or failing
//! there with EIO), then a seeded crash (what was not durable lost, kept or
//! torn), then the checks of the scenario's module, ending with a re-run that
//! must give the reference result byte for byte.
//!
//! Consecutive seeds (`SEEDS_PER_BACKUP`) share one backup, kept in a small
//! cache, so that a sweep pays for a simulated backup once per group: the config
//! line of a crash run describes that backup (seed / `SEEDS_PER_BACKUP`).

mod prepare;
mod restore;

use crate::config::{Flavor, Scenario, SimConfig};
use crate::oracle::Verdict;
use crate::outcome::{Outcome, RunStats};
use crate::rng::Rng;
use crate::run::{RunOptions, RunReport};
use innohot::backup::Summary;
use innohot::io::memfs::{FaultPlan, MemFs};
use innohot::restore::{read_checkpoints, with_backup_type};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// Seeds that crash-test one simulated backup.
pub const SEEDS_PER_BACKUP: u64 = 16;
/// Where the backup is in the in-memory file system.
pub const BACKUP: &str = "/backup";
/// Backups kept for the seeds still to come (each a few MiB).
const CACHED: usize = 4;

pub use innohot::io::memfs::Tree;

/// Files of a real directory: relative path, and bytes (None: a directory).
type FileTree = BTreeMap<PathBuf, Option<Vec<u8>>>;

/// A finished simulated backup, on the in-memory file system.
pub struct SimBackup {
    pub summary: Summary,
    /// As the backup left it (under `BACKUP`, every byte durable): fork it to use it.
    pub fs: MemFs,
    /// Prepared: by prepare without faults (MariaDB), or marked prepared as
    /// XtraBackup would leave it (MySQL 5.7, which innohot does not prepare).
    pub prepared: MemFs,
    /// The changes prepare made (MariaDB), 0 for MySQL 5.7.
    pub prepare_changes: u64,
}

/// A backup being taken or taken, by its config line: threads that need the same
/// one wait for it rather than take it again.
type Slot = Arc<OnceLock<Result<Arc<SimBackup>, String>>>;
static CACHE: Mutex<Vec<(String, Slot)>> = Mutex::new(Vec::new());

/// A crash run of `cfg` (its scenario is `prepare-crash` or `restore-crash`).
pub fn run(cfg: SimConfig) -> RunReport {
    let mut report = RunReport {
        config: cfg.clone(),
        outcome: Outcome::Hung { sim_seconds: 0 },
        verdict: Verdict::Verified,
        trace: Vec::new(),
        target_hash: 0,
        stats: RunStats::default(),
        root: PathBuf::new(),
        target: PathBuf::from(BACKUP),
    };
    let backup = match backup_for(&cfg) {
        Ok(b) => b,
        Err(why) => {
            report.verdict = Verdict::Wrong(vec![format!("the backup to crash-test is not a verified one: {why}")]);
            return report;
        }
    };
    report.outcome = Outcome::Completed(backup.summary.clone());
    let mut wrong = Vec::new();
    match cfg.scenario {
        Scenario::PrepareCrash => prepare::check(&cfg, &backup, &mut report.stats, &mut wrong),
        _ => restore::check(&cfg, &backup, &mut report.stats, &mut wrong),
    }
    if !wrong.is_empty() {
        report.verdict = Verdict::Wrong(wrong);
    }
    report
}

/// The backup `cfg` crash-tests: from the cache, or taken now (and prepared, for MariaDB).
fn backup_for(cfg: &SimConfig) -> Result<Arc<SimBackup>, String> {
    let backup_cfg = SimConfig { seed: cfg.seed / SEEDS_PER_BACKUP, scenario: Scenario::Default, ..cfg.clone() };
    let key = backup_cfg.to_string();
    let slot = {
        let mut cache = CACHE.lock().expect("the backup cache");
        match cache.iter().find(|(k, _)| *k == key) {
            Some((_, slot)) => slot.clone(),
            None => {
                if cache.len() >= CACHED {
                    cache.remove(0);
                }
                let slot = Slot::default();
                cache.push((key, slot.clone()));
                slot
            }
        }
    };
    slot.get_or_init(|| take_backup(backup_cfg).map(Arc::new)).clone()
}

fn take_backup(cfg: SimConfig) -> Result<SimBackup, String> {
    let scratch = crate::run::scratch_dir().map_err(|e| format!("a scratch directory: {e}"))?;
    let opts = RunOptions { dir: Some(scratch.path().to_path_buf()), skip_hash: true, ..RunOptions::default() };
    let flavor = cfg.flavor;
    let r = crate::run::run(cfg, opts);
    let summary = match (&r.outcome, &r.verdict) {
        (Outcome::Completed(s), Verdict::Verified) => s.clone(),
        (o, v) => {
            let verdict = match v {
                Verdict::Verified => "verified".to_string(),
                Verdict::CorrectFailure(why) => format!("a correct failure: {why}"),
                Verdict::Wrong(lines) => format!("WRONG: {}", lines.join("; ")),
            };
            let outcome = o.failure_text().unwrap_or_else(|| "completed".into());
            return Err(format!("{outcome}; {verdict}"));
        }
    };
    let fs = load(&read_tree(&r.target));
    let prepared = fs.fork();
    let dir = Path::new(BACKUP);
    let mut prepare_changes = 0;
    if flavor == Flavor::MariaDb {
        prepared.set_faults(FaultPlan::default());
        innohot::restore::prepare::prepare(&prepared, dir).map_err(|e| format!("prepare failed: {e}"))?;
        prepare_changes = prepared.changes();
    } else {
        let cp = read_checkpoints(&prepared, dir).map_err(|e| e.to_string())?;
        prepared
            .put_file(&dir.join(innohot::meta::CHECKPOINTS_FILE), with_backup_type(&cp, "full-prepared").as_bytes());
    }
    Ok(SimBackup { summary, fs, prepared, prepare_changes })
}

/// Every directory and file below `root` (a real directory), relative to it.
fn read_tree(root: &Path) -> FileTree {
    let mut out = FileTree::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else { continue };
        for e in entries.flatten() {
            let r = rel.join(e.file_name());
            if e.path().is_dir() {
                out.insert(r.clone(), None);
                stack.push(r);
            } else {
                out.insert(r, Some(std::fs::read(e.path()).unwrap_or_default()));
            }
        }
    }
    out
}

/// A file system holding `tree` under `/backup` (device 1) and the DATA DIRECTORY
/// tables' mount (device 3): every byte durable.
pub fn load(tree: &FileTree) -> MemFs {
    let fs = MemFs::new();
    fs.mount(Path::new(BACKUP), 1, u64::MAX);
    fs.mount(Path::new(crate::mount::REMOTE_MOUNT), 3, u64::MAX);
    for (rel, bytes) in tree {
        let path = Path::new(BACKUP).join(rel);
        match bytes {
            Some(b) => fs.put_file(&path, b),
            None => fs.put_dir(&path),
        }
    }
    fs
}

/// How a run interrupts the command: killed before change `at` (then a crash), or
/// that change failing with EIO. Counted in the run's stats.
#[derive(Debug, Clone, Copy)]
struct Interruption {
    at: u64,
    kill: bool,
    crash_seed: u64,
}

impl Interruption {
    /// A seeded point among the `changes` the uninterrupted command makes.
    fn draw(rng: &mut Rng, changes: u64, stats: &mut RunStats) -> Interruption {
        let at = rng.range(1, changes.max(1));
        let kill = !rng.chance(0.25);
        if kill {
            stats.killed_before_step = Some(at);
        } else {
            stats.faults_fired.push(format!("EIO at change {at}"));
        }
        Interruption { at, kill, crash_seed: rng.next_u64() }
    }

    fn plan(&self) -> FaultPlan {
        if self.kill {
            FaultPlan { kill_before: Some(self.at), fail: None }
        } else {
            FaultPlan { kill_before: None, fail: Some((self.at, crate::faults::EIO)) }
        }
    }

    fn describe(&self) -> String {
        if self.kill {
            format!("killed before change {} (crash seed {})", self.at, self.crash_seed)
        } else {
            format!("EIO at change {}", self.at)
        }
    }

    /// The state the command left: after a crash if it was killed, as it is if it failed.
    fn aftermath(&self, fs: &MemFs) -> MemFs {
        if self.kill {
            fs.crash(self.crash_seed)
        } else {
            fs.fork()
        }
    }
}

/// Where two trees first differ, for a wrong result's line.
fn first_difference(got: &Tree, want: &Tree) -> String {
    for (path, bytes) in want {
        match got.get(path) {
            None => return format!("{} is missing", path.display()),
            Some(b) if b != bytes => return format!("{} differs", path.display()),
            _ => {}
        }
    }
    match got.keys().find(|p| !want.contains_key(*p)) {
        Some(p) => format!("{} should not be there", p.display()),
        None => "no difference".into(),
    }
}

/// Whether `fs` holds exactly `want`; else where it first differs.
fn same_tree(fs: &MemFs, want: &Tree) -> Result<(), String> {
    let got = fs.tree();
    if &got == want {
        Ok(())
    } else {
        Err(first_difference(&got, want))
    }
}
