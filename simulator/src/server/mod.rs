//! The fake server: real files in a temp dir, a buffer pool of real pages, a
//! redo writer (see `redo/`: MySQL 5.7 blocks or MariaDB 10.8+ mtrs), a page
//! flusher (with torn writes), a checkpointer, a binary log and MyISAM
//! writers. Every byte it puts on disk is also recorded in `Truth`.

//!
//! By concern: `log` (the server's side of the redo writer: flushing,
//! checkpoints, room in the ring), `pages` (the buffer pool and the flusher),
//! `workload` (transactions, page records, MyISAM and Aria writes), `ddl`,
//! `variables` (what SHOW VARIABLES and the dictionary say).

mod ddl;
mod log;
mod pages;
mod variables;
mod workload;

pub use crate::datadir::SimPaths;
pub use pages::apply_change;

use crate::clock::SimClock;
use crate::config::{Flavor, SimConfig};
use crate::datadir::{Datadir, SpaceSpec};
use crate::redo::mariadb::MariaDbLog;
use crate::redo::mysql57::Mysql57Log;
use crate::redo::SimRedoWriter;
use crate::rng::Rng;
use crate::stamps::FileTimes;
use crate::truth::Truth;
use innohot::format::Lsn;
use std::collections::BTreeSet;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// One InnoDB tablespace held by the server.
pub struct Space {
    pub id: u32,
    pub path: PathBuf,
    /// Relative to the datadir, as the backup lays it out.
    pub rel: PathBuf,
    /// The name MLOG_FILE_NAME carries ("./shop/t1.ibd").
    pub redo_name: String,
    file: File,
    pub pages: Vec<Vec<u8>>,
    /// Newest modification LSN per page (what FIL_PAGE_LSN gets on flush).
    newest: Vec<Lsn>,
    /// Oldest unflushed modification per page; 0 = clean.
    oldest: Vec<Lsn>,
    pub is_system: bool,
    /// Pages redo may change (not page 0's header, not the doublewrite area).
    writable: Vec<u32>,
    /// Pages freed (FREE_PAGE) and not initialized again: their contents no longer matter.
    pub freed: BTreeSet<u32>,
    /// MariaDB: created during the run and page 0 not written yet; the flusher writes
    /// page 0 first (it heads the flush list), so until then the other pages wait.
    page0_pending: bool,
}

/// A page write split in two: the first part is on disk, the rest is not yet.
struct PendingTear {
    space: usize,
    page: u32,
    image: Vec<u8>,
    split: usize,
}

pub struct BinlogState {
    pub file: String,
    pub position: u64,
    pub server_uuid: String,
    pub gtid_next: u64,
}

pub struct SimServer {
    pub cfg: SimConfig,
    pub paths: SimPaths,
    rng: Rng,
    pub spaces: Vec<Space>,
    log: Box<dyn SimRedoWriter>,
    pub binlog: BinlogState,
    /// DDL waits (FLUSH TABLES WITH READ LOCK; BACKUP STAGE BLOCK_DDL on).
    pub ddl_blocked: bool,
    /// Writes to non-transactional user tables wait (FLUSH TABLES WITH READ
    /// LOCK; BACKUP STAGE BLOCK_DDL, which drains what FLUSH let run).
    pub non_trans_blocked: bool,
    /// Commits and the statistics and log tables wait (FLUSH TABLES WITH READ
    /// LOCK; BACKUP STAGE BLOCK_COMMIT).
    pub commits_blocked: bool,
    /// BACKUP STAGE START ran and END has not.
    pub backup_stage: bool,
    /// MyISAM `.MYD` and Aria `.MAD` files the workload appends to.
    myisam_files: Vec<PathBuf>,
    /// MariaDB's statistics and log tables: written until commits wait.
    system_files: Vec<PathBuf>,
    /// Non-InnoDB files (relative to the datadir) a backup must copy.
    pub non_innodb: Vec<PathBuf>,
    tear: Option<PendingTear>,
    /// fil_system->named_spaces: the tablespaces named (MLOG_FILE_NAME / FILE_MODIFY)
    /// since they were last clean at a checkpoint, in the order they were named, with
    /// the LSN they were last changed at (`max_lsn`). A checkpoint names them all and
    /// forgets those changed before it.
    named_spaces: Vec<(u32, Lsn)>,
    /// Pre-images of page bytes changed by mtrs not yet on disk: (space id, page, offset, old bytes).
    unflushed_undo: Vec<(u32, u32, usize, Vec<u8>)>,
    /// Whether a page was freed before an mtr not yet on disk freed or initialized it.
    unflushed_freed: Vec<(u32, u32, bool)>,
    next_space_id: u32,
    ddl_counter: u32,
    pub truth: Truth,
    /// Server actions so far: the time axis of page-version lifetimes.
    pub seq: u64,
    /// Every change to a non-InnoDB file goes through here, which stamps it
    /// with simulated time (and holds the run's clock).
    pub files: Arc<FileTimes>,
    /// MySQL 5.7's in-place MyISAM writes draw from here, so the seed's main
    /// stream (and every run recorded before them) stays as it was.
    myisam_rng: Rng,
    /// Data-file extensions draw from here (see `SimConfig::grow_per_mille`).
    grow_rng: Rng,
    /// `Innodb_lsn_flushed` as the log copier's probe reads it (see `SimLogProbe`).
    pub flushed_for_probe: Arc<AtomicU64>,
    /// The server's load as `--throttle=auto` reads it (see `SimLoadProbe`).
    pub load_for_probe: Arc<crate::control::SimLoad>,
}

fn write_all_at(file: &File, data: &[u8], offset: u64) {
    file.write_all_at(data, offset).expect("simulator write to its own temp dir");
}

impl SimServer {
    /// Builds the datadir (see `datadir.rs`) and starts the server on it.
    pub fn start(cfg: SimConfig, root: &Path) -> std::io::Result<Self> {
        let datadir = crate::datadir::build(&cfg, root)?;
        Self::assemble(cfg, datadir)
    }

    fn assemble(cfg: SimConfig, datadir: Datadir) -> std::io::Result<Self> {
        let Datadir { paths, rng, spaces, myisam_files, system_files, non_innodb } = datadir;
        let (cfg_seed, root) = (cfg.seed, paths.root.clone());
        let mut truth = Truth::default();
        let mut built = Vec::new();
        for SpaceSpec { id, path, rel, is_system, pages, writable } in spaces {
            let file = std::fs::OpenOptions::new().read(true).write(true).open(&path)?;
            for (no, p) in pages.iter().enumerate() {
                truth.page_written(id, no as u32, p, 0);
            }
            let n = pages.len();
            // Redo names a DATA DIRECTORY table by its absolute path.
            let redo_name =
                crate::mount::remote_name(&paths.root, &path).unwrap_or_else(|| format!("./{}", rel.display()));
            built.push(Space {
                id,
                path,
                rel,
                redo_name,
                file,
                pages,
                newest: vec![0; n],
                oldest: vec![0; n],
                is_system,
                writable,
                freed: BTreeSet::new(),
                page0_pending: false,
            });
        }
        let mut rng = rng;
        let log: Box<dyn SimRedoWriter> = match cfg.flavor {
            Flavor::Mysql57 => Box::new(Mysql57Log::create(&cfg, &paths.real_datadir, &mut rng)?),
            Flavor::MariaDb => Box::new(MariaDbLog::create(&cfg, &paths.real_datadir)?),
        };
        let server_uuid = uuid_from(&mut rng);
        let mut server = SimServer {
            binlog: BinlogState {
                file: "mysql-bin.000003".into(),
                position: 154 + rng.range(0, 100_000),
                server_uuid,
                gtid_next: 1 + rng.range(0, 5000),
            },
            log,
            cfg,
            paths,
            rng,
            spaces: built,
            ddl_blocked: false,
            non_trans_blocked: false,
            commits_blocked: false,
            backup_stage: false,
            myisam_files,
            system_files,
            non_innodb,
            tear: None,
            named_spaces: Vec::new(),
            unflushed_undo: Vec::new(),
            unflushed_freed: Vec::new(),
            next_space_id: 0,
            ddl_counter: 0,
            truth,
            seq: 0,
            files: Arc::new(FileTimes::new(SimClock::default(), crate::stamps::tick_ns(cfg_seed), &root)),
            myisam_rng: Rng::new(cfg_seed ^ 0x3715_A3D0),
            grow_rng: Rng::new(cfg_seed ^ 0x6120_0F11),
            flushed_for_probe: Arc::new(AtomicU64::new(0)),
            load_for_probe: Arc::default(),
        };
        server.next_space_id = server.spaces.iter().map(|s| s.id).max().unwrap_or(0) + 1;
        server.log.start(&mut server.rng, &mut server.truth);
        server.publish_flushed();
        Ok(server)
    }

    /// One server action, chosen by the seed: what a busy server does between two engine steps.
    pub fn act(&mut self) {
        self.log.settle();
        self.act_once();
        self.publish_flushed();
        self.load_for_probe.rows.fetch_add(1, Ordering::SeqCst);
    }

    /// One DDL statement as the server's action (the incremental scenario,
    /// between its backups, when nothing blocks DDL); with `index_build`, a
    /// MySQL 5.7 server builds an index without redo instead.
    pub fn act_ddl(&mut self, index_build: bool) {
        self.log.settle();
        self.seq += 1;
        let tables = self.user_tables();
        if index_build && self.cfg.flavor == Flavor::Mysql57 && !tables.is_empty() {
            let victim = tables[self.rng.below(tables.len() as u64) as usize];
            self.finish_tear();
            self.flush_log();
            self.sorted_index_build(victim);
            self.flush_log();
        } else {
            self.ddl();
        }
        self.publish_flushed();
    }

    /// What `Innodb_lsn_flushed` says from now on.
    pub fn publish_flushed(&self) {
        self.flushed_for_probe.store(self.log.flushed_lsn(), Ordering::SeqCst);
    }

    fn act_once(&mut self) {
        self.seq += 1;
        if self.tear.is_some() && self.rng.chance(0.35) {
            self.finish_tear();
            return;
        }
        let grows = self.cfg.grow_per_mille;
        if grows > 0 && self.grow_rng.below(1000) < grows {
            return self.grow_space();
        }
        match self.rng.below(100) {
            0..=44 if !self.commits_blocked => self.transaction(),
            0..=44 => {
                // Commits wait for the read lock; background work (purge) still writes redo.
                let s = self.rng.below(self.spaces.len() as u64) as usize;
                self.page_mtr(s);
            }
            45..=54 => {
                let s = self.rng.below(self.spaces.len() as u64) as usize;
                self.page_mtr(s);
            }
            55..=69 => self.flush_log(),
            70..=84 => self.flush_some_pages(),
            85..=91 => self.checkpoint(),
            _ if !self.ddl_blocked
                && self.cfg.ddl_per_mille > 0
                && self.rng.below(1000) < self.cfg.ddl_per_mille * 12 =>
            {
                self.ddl()
            }
            _ if !self.commits_blocked => self.myisam_write(),
            _ => self.flush_log(),
        }
    }

    // ---- what the control plane reads ----------------------------------------

    pub fn lsn(&self) -> Lsn {
        self.log.lsn()
    }
    pub fn flushed_lsn(&self) -> Lsn {
        self.log.flushed_lsn()
    }
    pub fn checkpoint_lsn(&self) -> Lsn {
        self.log.checkpoint_lsn()
    }
    /// Bytes of redo the ring holds.
    pub fn log_capacity(&self) -> u64 {
        self.log.capacity()
    }
    /// How far into the ring the server has written (see `SimRedoWriter::written_lsn`).
    pub fn log_written_lsn(&self) -> Lsn {
        self.log.written_lsn()
    }
    /// UNLOCK TABLES, BACKUP STAGE END, or the backup's connection closed.
    pub fn release_locks(&mut self) {
        self.ddl_blocked = false;
        self.non_trans_blocked = false;
        self.commits_blocked = false;
        self.backup_stage = false;
    }

    /// Whether a backup left anything locked.
    pub fn is_locked(&self) -> bool {
        self.ddl_blocked || self.non_trans_blocked || self.commits_blocked || self.backup_stage
    }

    pub fn new_uuid(&mut self) -> String {
        uuid_from(&mut self.rng)
    }
}

fn uuid_from(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        (a & 0x0FFF) | 0x1000,
        ((b >> 48) & 0x3FFF) | 0x8000,
        b & 0xFFFF_FFFF_FFFF
    )
}
