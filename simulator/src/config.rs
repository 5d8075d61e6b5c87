//! A simulated run's whole configuration, expanded from its seed.

use crate::rng::Rng;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    pub seed: u64,
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
}

impl SimConfig {
    /// The configuration a seed stands for. Shapes stay small so thousands of seeds run fast,
    /// and the ring small so the log wraps during most backups.
    pub fn from_seed(seed: u64) -> Self {
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
        let poll_interval_us = r.range(500, 10_000).min(capacity / 4 / redo_per_us);
        SimConfig {
            seed,
            page_size,
            log_files,
            log_file_size,
            ibdata_pages: 3 * extent_pages(page_size) + r.range(16, 64) as u32,
            undo_tablespaces: if r.chance(0.3) { 2 } else { 0 },
            schemas: r.range(3, 4) as u32,
            tables_per_schema: r.range(1, 3) as u32,
            table_pages_max: r.range(8, 40) as u32,
            server_gap_us,
            poll_interval_us,
            chunk_size: [64 * 1024, 256 * 1024, 1 << 20][r.below(3) as usize],
            disk_mb_per_s: r.range(50, 400),
            torn_write_percent: r.range(0, 30),
            start_lsn,
            previous_lap: r.chance(0.8),
        }
    }

    /// A compact one-line form that `innohot sim` prints and could parse back.
    pub fn summary(&self) -> String {
        self.to_string()
    }
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
            "seed={} page_size={} log_files={} log_file_size={} ibdata_pages={} undo={} schemas={} tables_per_schema={} \
             table_pages_max={} server_gap_us={} poll_interval_us={} chunk_size={} disk_mb_per_s={} torn_write_percent={} \
             start_lsn={} previous_lap={}",
            self.seed,
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
            self.previous_lap
        )
    }
}
