//! Shrinks a failing run to a small reproducer: first the configuration
//! (fewer and smaller tablespaces, no torn writes, a simpler log), then the
//! schedule (the fewest server actions that still fail, by bisection).

use crate::config::{extent_pages, Flavor, SimConfig};

/// How big a run is: pages in the datadir plus server actions (when capped).
pub fn size(cfg: &SimConfig, server_actions: u64) -> u64 {
    let tables = cfg.schemas as u64 * cfg.tables_per_schema as u64 * cfg.table_pages_max as u64;
    cfg.ibdata_pages as u64 + tables + cfg.undo_tablespaces as u64 * 24 + server_actions
}

/// Simplifications to try, each a whole new config.
fn candidates(c: &SimConfig) -> Vec<SimConfig> {
    let mut out = Vec::new();
    let mut push = |f: &dyn Fn(&mut SimConfig)| {
        let mut n = c.clone();
        f(&mut n);
        if n != *c {
            out.push(n);
        }
    };
    push(&|n| n.schemas = 1);
    push(&|n| n.schemas = n.schemas.saturating_sub(1).max(1));
    push(&|n| n.tables_per_schema = 1);
    push(&|n| n.table_pages_max = 5);
    push(&|n| n.table_pages_max = (n.table_pages_max / 2).max(5));
    push(&|n| n.undo_tablespaces = 0);
    push(&|n| n.ibdata_pages = 3 * extent_pages(n.page_size) + 16);
    push(&|n| n.torn_write_percent = 0);
    push(&|n| n.phantom_tail_percent = 0);
    push(&|n| n.previous_lap = false);
    match c.flavor {
        Flavor::Mysql57 => push(&|n| n.log_files = 2),
        Flavor::MariaDb => push(&|n| n.log_write_block = 512),
    }
    push(&|n| n.chunk_size = 1 << 20);
    out
}

/// The result of shrinking.
#[derive(Debug, Clone)]
pub struct Shrunk {
    pub config: SimConfig,
    pub size_before: u64,
    pub size_after: u64,
    /// Runs spent.
    pub attempts: u64,
}

/// `fails(cfg)` runs a configuration and says whether it still fails, with the
/// number of server actions the run took. Deterministic runs make this exact.
pub fn shrink(start: SimConfig, fails: &dyn Fn(&SimConfig) -> Option<u64>) -> Shrunk {
    let mut attempts = 1;
    let actions = fails(&start).expect("shrink starts from a failing run");
    let size_before = size(&start, actions);
    let mut best = start;
    let mut best_actions = actions;
    // Configuration first: keep any simplification that still fails.
    let mut progress = true;
    while progress {
        progress = false;
        for cand in candidates(&best) {
            attempts += 1;
            if let Some(a) = fails(&cand) {
                best = cand;
                best_actions = a;
                progress = true;
                break;
            }
        }
    }
    // Then the schedule: the fewest server actions that still fail.
    let (mut lo, mut hi) = (0u64, best_actions);
    while lo + 1 < hi {
        let mid = lo + (hi - lo) / 2;
        let mut cand = best.clone();
        cand.server_actions_max = mid;
        attempts += 1;
        if fails(&cand).is_some() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    if hi < best_actions {
        best.server_actions_max = hi;
        best_actions = hi;
    }
    Shrunk { size_after: size(&best, best_actions), config: best, size_before, attempts }
}
