//! A simulated run's whole configuration, expanded from its seed and
//! scenario; its one-line form parses back, so a printed line replays a run.

use crate::faults::{Faults, ServerCall, SERVER_CALLS, SERVER_CALLS_MARIADB};
use crate::rng::Rng;
use std::fmt;
use std::str::FromStr;

/// What a batch of seeds is aimed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scenario {
    /// A busy server, a wrapping ring, torn writes now and then; no faults.
    Default,
    /// The log copier polls too rarely for the ring: the writer laps it in many runs.
    Lap,
    /// Most page writes are torn and chunks are small: many torn reads.
    Torn,
    /// A source read fails with EIO.
    SourceEio,
    /// Creating a backup file fails with ENOSPC.
    TargetEnospc,
    /// A write to a backup file fails with EIO.
    TargetEio,
    /// fdatasync of a backup file fails.
    FsyncFail,
    /// The server connection goes away at some statement.
    ConnectionDrop,
    /// The backup process is killed at some step.
    Kill,
    /// CREATE / DROP / RENAME / TRUNCATE TABLE and sorted index builds during the copy.
    Ddl,
    /// Any of the above together.
    Mixed,
    /// `innohot prepare` of a finished backup killed (or failing) at a write, fsync or
    /// rename, then a crash; re-run, it must give the uninterrupted result (MariaDB).
    PrepareCrash,
    /// `innohot copy-back` / `move-back` of a prepared backup killed (or failing) at a
    /// write, fsync or rename, then a crash; re-run, it must give the uninterrupted result.
    RestoreCrash,
    /// `backup --stream=xbstream` (MariaDB) during the DDL scenario's drops, renames
    /// and re-creations and the usual writes, on 1 to 3 lanes: the stream is
    /// extracted, checked against its manifest and its DDL markers applied; the
    /// result must then pass as a directory backup would.
    Stream,
    /// A full backup, then two incremental backups (each from the one before's
    /// `to_lsn`), with writes and DDL during and between them and at most one
    /// fault in one of the three; the chain is prepared (base, then each
    /// incremental applied) and must give the server's pages at each link's end.
    Incremental,
}

pub const SCENARIOS: [Scenario; 15] = [
    Scenario::Default,
    Scenario::Lap,
    Scenario::Torn,
    Scenario::SourceEio,
    Scenario::TargetEnospc,
    Scenario::TargetEio,
    Scenario::FsyncFail,
    Scenario::ConnectionDrop,
    Scenario::Kill,
    Scenario::Ddl,
    Scenario::Mixed,
    Scenario::PrepareCrash,
    Scenario::RestoreCrash,
    Scenario::Stream,
    Scenario::Incremental,
];

impl Scenario {
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Default => "default",
            Scenario::Lap => "lap",
            Scenario::Torn => "torn",
            Scenario::SourceEio => "source-eio",
            Scenario::TargetEnospc => "target-enospc",
            Scenario::TargetEio => "target-eio",
            Scenario::FsyncFail => "fsync-fail",
            Scenario::ConnectionDrop => "connection-drop",
            Scenario::Kill => "kill",
            Scenario::Ddl => "ddl",
            Scenario::Mixed => "mixed",
            Scenario::PrepareCrash => "prepare-crash",
            Scenario::RestoreCrash => "restore-crash",
            Scenario::Stream => "stream",
            Scenario::Incremental => "incremental",
        }
    }

    /// Whether the scenario means anything for the flavor: innohot prepares only
    /// MariaDB backups (a MySQL 5.7 one is prepared by XtraBackup or a 5.7 server),
    /// and streams only MariaDB backups (`backup/copying.rs::check_streamable`).
    pub fn applies_to(self, flavor: Flavor) -> bool {
        !matches!(self, Scenario::PrepareCrash | Scenario::Stream) || flavor == Flavor::MariaDb
    }

    /// The crash scenarios run after a backup, on the in-memory file system (`crate::crash`).
    pub fn is_crash(self) -> bool {
        matches!(self, Scenario::PrepareCrash | Scenario::RestoreCrash)
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        SCENARIOS
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| format!("unknown scenario {s:?}; known: {}", SCENARIOS.map(|c| c.name()).join(", ")))
    }
}

/// Which server the simulator plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flavor {
    /// MySQL 5.7: two or more `ib_logfile*` of 512-byte blocks, legacy crc32 pages,
    /// FLUSH TABLES WITH READ LOCK.
    Mysql57,
    /// MariaDB 10.11: one `ib_logfile0` of mini-transactions ("Phys" format), full_crc32
    /// pages, BACKUP STAGE, Aria files.
    MariaDb,
}

pub const FLAVORS: [Flavor; 2] = [Flavor::Mysql57, Flavor::MariaDb];

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Mysql57 => "mysql57",
            Flavor::MariaDb => "mariadb",
        }
    }
}

impl FromStr for Flavor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FLAVORS
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| format!("unknown flavor {s:?}; known: {}", FLAVORS.map(|f| f.name()).join(", ")))
    }
}

impl fmt::Display for Flavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    pub seed: u64,
    pub flavor: Flavor,
    pub scenario: Scenario,
    pub page_size: usize,
    pub log_files: u32,
    pub log_file_size: u64,
    /// Pages of ibdata1 (at least 3 doublewrite extents plus room).
    pub ibdata_pages: u32,
    pub undo_tablespaces: u32,
    /// Schemas with InnoDB tables (besides mysql/, performance_schema/, sys/).
    pub schemas: u32,
    pub tables_per_schema: u32,
    pub table_pages_max: u32,
    /// Mean simulated time between two server actions.
    pub server_gap_us: u64,
    /// After this many actions the server goes idle (the shrinker's handle on the schedule).
    pub server_actions_max: u64,
    /// Simulated time between two log copier passes.
    pub poll_interval_us: u64,
    pub chunk_size: usize,
    /// Simulated bytes per second of the copier's disk.
    pub disk_mb_per_s: u64,
    /// Probability that a page write is torn in two halves with other steps in between.
    pub torn_write_percent: u64,
    /// First LSN of the simulated history (reaches 2^30-block wrap for some seeds).
    pub start_lsn: u64,
    /// Fill the ring with a previous lap's blocks, as a server that has run a while.
    pub previous_lap: bool,
    /// DDL statements per thousand server actions (about).
    pub ddl_per_mille: u64,
    /// Some DDL is a sorted index build without redo (MLOG_INDEX_LOAD; MySQL 5.7 only).
    pub index_loads: bool,
    /// Tables of the first schema kept in a DATA DIRECTORY outside the datadir
    /// (an `.isl` link file in the schema directory points at each).
    pub remote_tables: u32,
    /// Data-file extensions per thousand server actions: the server makes a
    /// tablespace longer and writes its new FSP_SIZE to page 0, the only redo
    /// a MySQL 5.7 extension leaves. A copy made before it is short.
    pub grow_per_mille: u64,
    /// MariaDB: the redo write block (512 or 4096): a log write ends with zeros up to
    /// the next multiple of it in the file. 0 for MySQL 5.7 (512-byte log blocks).
    pub log_write_block: u64,
    /// MariaDB: the chance (percent) that a log write leaves, until the server's
    /// next action, whole mtrs with valid CRCs after its end where the zeros go:
    /// what a reader sees when it catches a block mid-write on a real server.
    pub phantom_tail_percent: u64,
    /// Copy lanes (`--parallel`); files larger than `copy_range` bytes are
    /// copied as ranges on several lanes.
    pub parallel: usize,
    pub copy_range: u64,
    /// The stream scenario: the most bytes one xbstream chunk carries (small
    /// ones make files of several chunks that interleave across lanes); 0 for
    /// a backup into a directory.
    pub stream_chunk: usize,
    /// The stream scenario: files sent zstd-compressed (`--compress=zstd`).
    pub stream_zstd: bool,
    /// The incremental scenario: server actions between two of its backups.
    pub between_actions: u64,
    /// The incremental scenario: the server goes idle under each backup's lock
    /// just before the backup reads its checkpoint (a page change, then every
    /// dirty page flushed and a checkpoint at the current LSN), so `to_lsn` is
    /// the end of that change and its pages carry it as their LSN.
    pub clean_checkpoint: bool,
    /// The incremental scenario: which of its backups (0 the full one, 1 and 2
    /// the incrementals) the seed's fault is planted in.
    pub fault_backup: u8,
    /// The backup paces its copy by the server's load (`--throttle=auto`, a window of 40 server gaps).
    pub paced: bool,
    /// The server and the copy share one disk: a chunk holds up the server's next action till it is written.
    pub shared_disk: bool,
    pub faults: Faults,
}

/// Files every simulated datadir has, in the backup's layout.
pub(crate) const DATA_FILES: [&str; 3] = ["ibdata1", "shop/t0.ibd", "mysql/innodb_table_stats.ibd"];
const OTHER_FILES: [&str; 3] = ["shop/t0.frm", "shop/audit.MYD", "mysql/user.frm"];
const OTHER_FILES_MARIADB: [&str; 4] = ["shop/t0.frm", "shop/audit.MYD", "shop/notes.MAD", "aria_log_control"];
const META_FILES: [&str; 5] = [
    "xtrabackup_logfile",
    "xtrabackup_binlog_info",
    "xtrabackup_checkpoints.pending",
    "backup-my.cnf",
    "xtrabackup_info",
];
const META_FILES_MARIADB: [&str; 5] =
    ["ib_logfile0", "xtrabackup_binlog_info", "xtrabackup_checkpoints.pending", "backup-my.cnf", "xtrabackup_info"];
/// The header of MariaDB's `ib_logfile0`: the ring starts after it.
const MARIADB_LOG_HEADER: u64 = 12288;

impl SimConfig {
    /// The default scenario's MySQL 5.7 configuration for a seed.
    pub fn from_seed(seed: u64) -> Self {
        Self::for_scenario(seed, Scenario::Default)
    }

    /// A scenario's MySQL 5.7 configuration for a seed.
    pub fn for_scenario(seed: u64, scenario: Scenario) -> Self {
        Self::for_flavor(seed, Flavor::Mysql57, scenario)
    }

    /// Shapes stay small so thousands of seeds run fast, and the ring small so
    /// the log wraps during most backups. A MySQL 5.7 seed draws exactly what it
    /// drew before flavors existed; MariaDB's own choices come from another stream.
    pub fn for_flavor(seed: u64, flavor: Flavor, scenario: Scenario) -> Self {
        if scenario.is_crash() {
            // The backup it crashes prepare or restore on: shared by consecutive seeds.
            let mut cfg = Self::for_flavor(seed / crate::crash::SEEDS_PER_BACKUP, flavor, Scenario::Default);
            cfg.seed = seed;
            cfg.scenario = scenario;
            return cfg;
        }
        let (mut cfg, ring) = Self::draw_shape(seed, flavor, scenario);
        if flavor == Flavor::MariaDb {
            cfg.use_one_log_file(ring.capacity);
        }
        cfg.plan_scenario(ring.safe_poll_us);
        cfg
    }

    /// The seed's shapes, sizes and speeds, before any scenario: MySQL 5.7's log
    /// files (whatever the flavor) and the ring they make.
    fn draw_shape(seed: u64, flavor: Flavor, scenario: Scenario) -> (Self, Ring) {
        let mut r = Rng::new(seed ^ 0x5EED_C0DE);
        let page_size = [4096usize, 8192, 16384, 16384, 16384][r.below(5) as usize];
        let log_files = r.range(2, 3) as u32;
        let log_file_size = r.range(48, 160) * 1024;
        let start_lsn = if r.chance(0.1) {
            // Near the 2^30 block-number wrap.
            (1u64 << 39) - r.range(1, 2048) * 512 + r.range(12, 500)
        } else {
            8192 + r.range(0, 1 << 24) * 512 + r.range(12, 500)
        };
        let server_gap_us = r.range(10, 80);
        // About 100 redo bytes per server action on average: keep a pass's worth of
        // redo under a quarter of the ring so that the default scenario wraps the
        // ring but never laps the copier (laps are a scenario of their own).
        let capacity = log_files as u64 * (log_file_size - 2048);
        let redo_per_us = 100 / server_gap_us.max(1) + 1;
        let safe_poll_us = capacity / 4 / redo_per_us;
        let mut cfg = SimConfig {
            seed,
            flavor,
            scenario,
            page_size,
            log_files,
            log_file_size,
            ibdata_pages: 3 * extent_pages(page_size) + r.range(16, 64) as u32,
            undo_tablespaces: if r.chance(0.3) { 2 } else { 0 },
            schemas: r.range(3, 4) as u32,
            tables_per_schema: r.range(1, 3) as u32,
            table_pages_max: r.range(8, 40) as u32,
            server_gap_us,
            server_actions_max: u64::MAX,
            poll_interval_us: r.range(500, 10_000).min(safe_poll_us),
            chunk_size: [64 * 1024, 256 * 1024, 1 << 20][r.below(3) as usize],
            disk_mb_per_s: r.range(50, 400),
            torn_write_percent: r.range(0, 30),
            start_lsn,
            previous_lap: r.chance(0.8),
            ddl_per_mille: 0,
            index_loads: false,
            // Its own stream, so adding it left every other draw as it was.
            remote_tables: Rng::new(seed ^ 0xDA7A_D1E5).below(3) as u32,
            grow_per_mille: Rng::new(seed ^ 0x6120_57E5).below(4),
            log_write_block: 0,
            phantom_tail_percent: 0,
            parallel: 1,
            copy_range: 0,
            stream_chunk: 0,
            stream_zstd: false,
            between_actions: 0,
            clean_checkpoint: false,
            fault_backup: 0,
            paced: false,
            shared_disk: false,
            faults: Faults::default(),
        };
        cfg.draw_lanes();
        cfg.paced = Rng::new(seed ^ 0x9ACE_D15C).chance(0.5); // its own stream too
        cfg.shared_disk = cfg.paced;
        (cfg, Ring { capacity, safe_poll_us })
    }

    /// Lanes and range size, from a stream of their own (every other draw
    /// stays what it was): half the seeds copy on 2 or 3 lanes, in ranges of
    /// 1 to 4 64-KiB units, so the tables (8 to 40 pages) split.
    fn draw_lanes(&mut self) {
        let mut l = Rng::new(self.seed ^ 0x1A4E_5C0F);
        self.parallel = [1, 1, 2, 3][l.below(4) as usize];
        let range = l.range(1, 4) * 64 * 1024;
        self.copy_range = if self.parallel > 1 { range } else { 0 };
    }

    /// Whether the backup goes to an xbstream (the stream scenario) rather than a directory.
    pub fn streams(&self) -> bool {
        self.stream_chunk > 0
    }

    /// MariaDB: one ib_logfile0 whose ring holds what the 5.7 log files would (of
    /// `capacity` bytes), and its redo write block, from a stream of its own.
    fn use_one_log_file(&mut self, capacity: u64) {
        let mut m = Rng::new(self.seed ^ 0x3A41_ADB0);
        self.log_files = 1;
        self.log_file_size = MARIADB_LOG_HEADER + capacity.div_ceil(4096) * 4096;
        self.log_write_block = [512, 4096][m.below(2) as usize];
        // Its own stream too, so the draws above stay what they were.
        self.phantom_tail_percent = [0, 5, 20][Rng::new(self.seed ^ 0x9A47_0A11).below(3) as usize];
        // Room below the start for a previous lap (LSNs start at 12288).
        self.start_lsn = self.start_lsn.max(MARIADB_LOG_HEADER + 2 * capacity + 12);
    }

    /// Sets up the scenario, from a stream of its own: a mixed one applies a few of
    /// the others at random, and at most one fault.
    fn plan_scenario(&mut self, safe_poll_us: u64) {
        let targets = FaultTargets::of(self.flavor);
        let mut s = Rng::new(self.seed ^ 0x5CE7_A410);
        if self.scenario != Scenario::Mixed {
            return self.apply(self.scenario, &targets, safe_poll_us, &mut s);
        }
        for sc in [Scenario::Lap, Scenario::Torn, Scenario::Ddl] {
            if s.chance(0.4) {
                self.apply(sc, &targets, safe_poll_us, &mut s);
            }
        }
        let faulty = &SCENARIOS[3..=8];
        let sc = faulty[s.below(faulty.len() as u64) as usize];
        if s.chance(0.7) {
            self.apply(sc, &targets, safe_poll_us, &mut s);
        }
    }

    /// What one scenario changes: the poll interval (a lap), torn writes and chunk
    /// sizes, DDL, or the one fault it plants.
    pub(crate) fn apply(&mut self, scenario: Scenario, targets: &FaultTargets, safe_poll_us: u64, s: &mut Rng) {
        match scenario {
            Scenario::Default | Scenario::Mixed | Scenario::PrepareCrash | Scenario::RestoreCrash => {}
            Scenario::Lap => self.poll_interval_us = safe_poll_us * s.range(2, 24),
            Scenario::Torn => {
                self.torn_write_percent = s.range(60, 100);
                self.chunk_size = self.page_size * s.range(1, 4) as usize;
                if self.flavor == Flavor::MariaDb {
                    // Torn log reads too (no draw: the stream stays as it was).
                    self.phantom_tail_percent = 60;
                }
            }
            Scenario::SourceEio => {
                let file = pick(s, &targets.read);
                self.faults.source_read_eio = Some((file, s.range(1, 6) as u32));
            }
            Scenario::TargetEnospc => self.faults.target_create_enospc = Some(pick(s, &targets.written)),
            Scenario::TargetEio => {
                self.faults.target_write_eio = Some((pick(s, &targets.written), s.range(1, 3) as u32))
            }
            Scenario::FsyncFail => self.faults.target_sync_eio = Some(pick(s, &targets.written)),
            Scenario::ConnectionDrop => {
                self.faults.server_call = Some(targets.calls[s.below(targets.calls.len() as u64) as usize])
            }
            Scenario::Kill => self.faults.kill_before_step = Some(s.range(1, 120)),
            Scenario::Ddl => {
                self.ddl_per_mille = s.range(1, 6);
                // MariaDB logs every index build: there is no MLOG_INDEX_LOAD to plant.
                self.index_loads = s.chance(0.3) && self.flavor != Flavor::MariaDb;
            }
            Scenario::Stream => {
                self.apply(Scenario::Ddl, targets, safe_poll_us, s);
                self.stream_chunk = [16 << 10, 64 << 10, 256 << 10, innohot::stream::CHUNK_LIMIT][s.below(4) as usize];
                self.stream_zstd = s.chance(0.3);
            }
            Scenario::Incremental => self.plan_incremental(targets, safe_poll_us, s),
        }
    }
}

/// The redo ring a seed draws (MySQL 5.7's shape; MariaDB's holds as much), and the
/// longest poll interval that keeps a log copier pass's redo under a quarter of it.
struct Ring {
    capacity: u64,
    safe_poll_us: u64,
}

/// What a flavor's faults may hit: files the backup reads, files it writes, and
/// statements it sends.
pub(crate) struct FaultTargets {
    read: Vec<&'static str>,
    written: Vec<&'static str>,
    calls: &'static [ServerCall],
}

impl FaultTargets {
    fn of(flavor: Flavor) -> Self {
        let (log_files, other_files, meta_files, calls): (&[&str], &[&str], &[&str], &[_]) = match flavor {
            Flavor::MariaDb => (&["ib_logfile0"], &OTHER_FILES_MARIADB, &META_FILES_MARIADB, &SERVER_CALLS_MARIADB),
            Flavor::Mysql57 => (&["ib_logfile0", "ib_logfile1"], &OTHER_FILES, &META_FILES, &SERVER_CALLS),
        };
        FaultTargets {
            read: [&DATA_FILES[..], log_files].concat(),
            written: [&DATA_FILES[..], other_files, meta_files].concat(),
            calls,
        }
    }
}

/// One of `list`, by the seed.
fn pick(s: &mut Rng, list: &[&str]) -> String {
    list[s.below(list.len() as u64) as usize].to_string()
}

/// Pages per extent: 1 MiB for pages up to 16 KiB, else 64 pages.
pub fn extent_pages(page_size: usize) -> u32 {
    if page_size <= 16384 {
        (1 << 20) / page_size as u32
    } else {
        64
    }
}

impl fmt::Display for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "seed={} flavor={} scenario={} page_size={} log_files={} log_file_size={} ibdata_pages={} undo={} schemas={} \
             tables_per_schema={} table_pages_max={} server_gap_us={} poll_interval_us={} \
             chunk_size={} disk_mb_per_s={} torn_write_percent={} start_lsn={} previous_lap={} ddl_per_mille={} \
             index_loads={} remote_tables={} grow_per_mille={}",
            self.seed,
            self.flavor.name(),
            self.scenario.name(),
            self.page_size,
            self.log_files,
            self.log_file_size,
            self.ibdata_pages,
            self.undo_tablespaces,
            self.schemas,
            self.tables_per_schema,
            self.table_pages_max,
            self.server_gap_us,
            self.poll_interval_us,
            self.chunk_size,
            self.disk_mb_per_s,
            self.torn_write_percent,
            self.start_lsn,
            self.previous_lap,
            self.ddl_per_mille,
            self.index_loads,
            self.remote_tables,
            self.grow_per_mille
        )?;
        if self.log_write_block != 0 {
            write!(f, " log_write_block={}", self.log_write_block)?;
        }
        if self.phantom_tail_percent != 0 {
            write!(f, " phantom_tail_percent={}", self.phantom_tail_percent)?;
        }
        if self.parallel != 1 {
            write!(f, " parallel={} copy_range={}", self.parallel, self.copy_range)?;
        }
        if self.stream_chunk != 0 {
            write!(f, " stream_chunk={}", self.stream_chunk)?;
        }
        if self.stream_zstd {
            write!(f, " stream_zstd=1")?;
        }
        if self.scenario == Scenario::Incremental {
            let clean = u8::from(self.clean_checkpoint);
            write!(f, " between_actions={} clean_checkpoint={clean}", self.between_actions)?;
            if !self.faults.is_none() {
                write!(f, " fault_backup={}", self.fault_backup)?;
            }
        }
        if self.server_actions_max != u64::MAX {
            write!(f, " server_actions_max={}", self.server_actions_max)?;
        }
        write!(f, " paced={} shared_disk={}", u8::from(self.paced), u8::from(self.shared_disk))?;
        if !self.faults.is_none() {
            write!(f, " {}", self.faults)?;
        }
        Ok(())
    }
}

impl FromStr for SimConfig {
    type Err = String;
    /// Parses the one-line form; keys not given keep the seed's values.
    fn from_str(line: &str) -> Result<Self, String> {
        let pairs: Vec<(&str, &str)> = line
            .split_whitespace()
            .map(|t| t.split_once('=').ok_or_else(|| format!("{t:?} is not key=value")))
            .collect::<Result<_, _>>()?;
        let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
        let seed = get("seed").ok_or("the config line needs seed=N")?.parse().map_err(|_| "seed is not a number")?;
        let scenario = get("scenario").map(str::parse).transpose()?.unwrap_or(Scenario::Default);
        let flavor = get("flavor").map(str::parse).transpose()?.unwrap_or(Flavor::Mysql57);
        let mut cfg = SimConfig::for_flavor(seed, flavor, scenario);
        cfg.faults = Faults::default();
        fn num<T: FromStr>(k: &str, v: &str) -> Result<T, String> {
            v.parse().map_err(|_| format!("{k}={v:?} is not a number"))
        }
        for (k, v) in pairs {
            match k {
                "seed" | "scenario" | "flavor" => {}
                "page_size" => cfg.page_size = num(k, v)?,
                "log_files" => cfg.log_files = num(k, v)?,
                "log_file_size" => cfg.log_file_size = num(k, v)?,
                "ibdata_pages" => cfg.ibdata_pages = num(k, v)?,
                "undo" => cfg.undo_tablespaces = num(k, v)?,
                "schemas" => cfg.schemas = num(k, v)?,
                "tables_per_schema" => cfg.tables_per_schema = num(k, v)?,
                "table_pages_max" => cfg.table_pages_max = num(k, v)?,
                "server_gap_us" => cfg.server_gap_us = num(k, v)?,
                "server_actions_max" => cfg.server_actions_max = num(k, v)?,
                "poll_interval_us" => cfg.poll_interval_us = num(k, v)?,
                "chunk_size" => cfg.chunk_size = num(k, v)?,
                "disk_mb_per_s" => cfg.disk_mb_per_s = num(k, v)?,
                "torn_write_percent" => cfg.torn_write_percent = num(k, v)?,
                "start_lsn" => cfg.start_lsn = num(k, v)?,
                "previous_lap" => cfg.previous_lap = num(k, v)?,
                "ddl_per_mille" => cfg.ddl_per_mille = num(k, v)?,
                "index_loads" => cfg.index_loads = num(k, v)?,
                "remote_tables" => cfg.remote_tables = num(k, v)?,
                "grow_per_mille" => cfg.grow_per_mille = num(k, v)?,
                "log_write_block" => cfg.log_write_block = num(k, v)?,
                "phantom_tail_percent" => cfg.phantom_tail_percent = num(k, v)?,
                "parallel" => cfg.parallel = num(k, v)?,
                "copy_range" => cfg.copy_range = num(k, v)?,
                "stream_chunk" => cfg.stream_chunk = num(k, v)?,
                "stream_zstd" => cfg.stream_zstd = num::<u8>(k, v)? != 0,
                "between_actions" => cfg.between_actions = num(k, v)?,
                "clean_checkpoint" => cfg.clean_checkpoint = num::<u8>(k, v)? != 0,
                "fault_backup" => cfg.fault_backup = num(k, v)?,
                "paced" => cfg.paced = num::<u8>(k, v)? != 0,
                "shared_disk" => cfg.shared_disk = num::<u8>(k, v)? != 0,
                other => {
                    if !cfg.faults.set(other, v)? {
                        return Err(format!("unknown config key {other:?}"));
                    }
                }
            }
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenarios_config_line_parses_back_to_itself() {
        for flavor in FLAVORS {
            for sc in SCENARIOS {
                for seed in 0..40 {
                    let cfg = SimConfig::for_flavor(seed, flavor, sc);
                    let back: SimConfig = cfg.to_string().parse().unwrap();
                    assert_eq!(back, cfg, "{cfg}");
                    assert!(cfg.to_string().contains(&format!(" flavor={flavor} ")), "{cfg}");
                }
            }
        }
        assert!("seed=1 bogus=2".parse::<SimConfig>().is_err());
        assert!("scenario=nope seed=1".parse::<SimConfig>().is_err());
        assert!("seed=1 flavor=oracle8".parse::<SimConfig>().is_err());
        // A line without a flavor is a MySQL 5.7 run (lines printed before flavors existed).
        assert_eq!("seed=3".parse::<SimConfig>().unwrap().flavor, Flavor::Mysql57);
    }

    #[test]
    fn a_mysql57_seed_draws_the_same_whatever_mariadb_needs() {
        for seed in 0..40 {
            let a = SimConfig::for_flavor(seed, Flavor::Mysql57, Scenario::Mixed);
            let b = SimConfig::for_flavor(seed, Flavor::MariaDb, Scenario::Mixed);
            assert_eq!((a.page_size, a.start_lsn, a.server_gap_us), (b.page_size, b.start_lsn, b.server_gap_us));
            assert_eq!(a.log_write_block, 0);
            assert!(b.log_write_block == 512 || b.log_write_block == 4096);
            assert_eq!(b.log_files, 1);
            // The MariaDB ring holds what the 5.7 files would, rounded up to 4 KiB.
            let cap57 = a.log_files as u64 * (a.log_file_size - 2048);
            let cap = b.log_file_size - MARIADB_LOG_HEADER;
            assert!(cap >= cap57 && cap < cap57 + 4096 && cap.is_multiple_of(4096), "{cap57} vs {cap}");
        }
    }
}
