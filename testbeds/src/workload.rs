//! Concurrent writers over InnoDB, MyISAM and Aria tables.

use std::ops::AddAssign;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, Opts};

use crate::{quote_ident, sql_err, Error, Result, Rng};

/// Engines the workload writes to: (table-name prefix, ENGINE=).
const ENGINES: &[(&str, &str)] = &[("innodb", "InnoDB"), ("myisam", "MyISAM"), ("aria", "Aria")];

/// ER_LOCK_DEADLOCK, ER_LOCK_WAIT_TIMEOUT: retried, counted in `retries`.
const RETRYABLE: &[u16] = &[1213, 1205];

/// What the workload does.
#[derive(Debug, Clone)]
pub struct WorkloadConfig {
    /// Schema holding the tables (created if missing).
    pub schema: String,
    /// Writer threads, one connection each.
    pub threads: usize,
    /// Tables per engine: `innodb_0..`, `myisam_0..`, `aria_0..`.
    pub tables_per_engine: usize,
    /// Rows inserted into each table when it is created.
    pub initial_rows: u64,
    /// Upper bound on the run time; threads stop by themselves after it.
    pub duration: Duration,
    /// Upper bound on transactions (InnoDB) / statements (MyISAM, Aria) per
    /// thread; `None` = only the duration bounds the run.
    pub max_ops_per_thread: Option<u64>,
    /// Also run DDL: each thread cycles CREATE / INSERT / RENAME / TRUNCATE /
    /// ALTER (table rebuild) / DROP on its own `ddl_<thread>_<n>` tables, so
    /// DDL never waits on the DML threads' tables.
    pub ddl: bool,
    /// The DDL cycle's tables are plain InnoDB ones only (else of any kind this
    /// workload writes). On where mariabackup takes the backup, whose own races
    /// would fail the test: 10.11 loses the data files of a MyISAM or Aria table
    /// created and renamed while it copies (its DDL-log pass renames copies it
    /// never made, then re-copies only the `.frm`), and stops ("FATAL ERROR:
    /// Can't open datafile") when a DATA DIRECTORY table is renamed or dropped
    /// while it lists the tablespaces.
    pub ddl_plain_innodb_only: bool,
    /// Seed of the per-thread pseudo-random choices.
    pub seed: u64,
    /// Also write Aria tables (MariaDB only: off for a MySQL server).
    pub aria: bool,
    /// More kinds of tables, written like the others: (table-name prefix,
    /// what follows `ENGINE=` in CREATE TABLE), e.g. `("zip8", "InnoDB
    /// ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8")` or `("part", "InnoDB
    /// PARTITION BY HASH(id) PARTITIONS 3")`. An InnoDB one gets
    /// transactions, any other engine autocommit statements.
    pub extra_tables: Vec<(String, String)>,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            schema: "wl".to_string(),
            threads: 4,
            tables_per_engine: 2,
            initial_rows: 200,
            duration: Duration::from_secs(10),
            max_ops_per_thread: None,
            ddl: false,
            ddl_plain_innodb_only: false,
            seed: 0x1234_5678,
            aria: true,
            extra_tables: Vec::new(),
        }
    }
}

impl WorkloadConfig {
    /// (table-name prefix, ENGINE=) of the tables this workload writes.
    pub fn engines(&self) -> Vec<(String, String)> {
        let base = if self.aria { ENGINES } else { &ENGINES[..2] };
        let mut v: Vec<(String, String)> = base.iter().map(|(p, e)| (p.to_string(), e.to_string())).collect();
        v.extend(self.extra_tables.iter().cloned());
        v
    }

    /// `schema.table` names of the DML tables.
    pub fn tables(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (prefix, _) in self.engines() {
            for i in 0..self.tables_per_engine {
                v.push(format!("{}.{prefix}_{i}", self.schema));
            }
        }
        v
    }
}

/// What the workload did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkloadStats {
    /// Committed InnoDB transactions.
    pub commits: u64,
    /// InnoDB transactions rolled back on purpose.
    pub rollbacks: u64,
    /// Autocommit statements on MyISAM / Aria tables.
    pub nontx_statements: u64,
    /// Rows inserted (committed or not).
    pub rows_inserted: u64,
    /// Rows updated.
    pub rows_updated: u64,
    /// Rows deleted.
    pub rows_deleted: u64,
    /// DDL statements executed.
    pub ddl_statements: u64,
    /// Deadlocks and lock wait timeouts (transaction rolled back, loop goes on).
    pub retries: u64,
    /// Wall time from start to the last thread's end.
    pub elapsed: Duration,
}

impl WorkloadStats {
    /// Transactions plus autocommit statements plus DDL.
    pub fn total_ops(&self) -> u64 {
        self.commits + self.rollbacks + self.nontx_statements + self.ddl_statements
    }
}

impl AddAssign<&WorkloadStats> for WorkloadStats {
    fn add_assign(&mut self, o: &WorkloadStats) {
        self.commits += o.commits;
        self.rollbacks += o.rollbacks;
        self.nontx_statements += o.nontx_statements;
        self.rows_inserted += o.rows_inserted;
        self.rows_updated += o.rows_updated;
        self.rows_deleted += o.rows_deleted;
        self.ddl_statements += o.ddl_statements;
        self.retries += o.retries;
        self.elapsed = self.elapsed.max(o.elapsed);
    }
}

/// A running workload. Dropping it stops and joins the threads.
pub struct Workload {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<Result<WorkloadStats>>>,
    started: Instant,
}

impl std::fmt::Debug for Workload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workload")
            .field("threads", &self.threads.len())
            .field("running_for", &self.started.elapsed())
            .finish()
    }
}

impl Workload {
    /// Create the schema and tables (if missing, filled with
    /// `initial_rows` each), then start the writer threads.
    pub fn start(opts: Opts, cfg: WorkloadConfig) -> Result<Workload> {
        let mut conn = Conn::new(opts.clone()).map_err(sql_err("workload: connecting"))?;
        setup(&mut conn, &cfg)?;
        drop(conn);
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let mut threads = Vec::with_capacity(cfg.threads);
        for tid in 0..cfg.threads {
            let opts = opts.clone();
            let cfg = cfg.clone();
            let stop = Arc::clone(&stop);
            let h = std::thread::Builder::new()
                .name(format!("workload-{tid}"))
                .spawn(move || Writer::new(opts, cfg, tid, stop, started)?.run())
                .map_err(crate::io_err("spawning a workload thread"))?;
            threads.push(h);
        }
        Ok(Workload { stop, threads, started })
    }

    /// Create schema and tables only (idempotent), e.g. to fill a server
    /// before taking a backup of it idle.
    pub fn setup(conn: &mut Conn, cfg: &WorkloadConfig) -> Result<()> {
        setup(conn, cfg)
    }

    /// Whether every thread has ended (its bound reached, or an error).
    pub fn is_finished(&self) -> bool {
        self.threads.iter().all(|h| h.is_finished())
    }

    /// Time since start.
    pub fn running_for(&self) -> Duration {
        self.started.elapsed()
    }

    /// Ask the threads to stop after their current transaction, join them,
    /// and return the summed counts; the first thread error, if any.
    pub fn stop(mut self) -> Result<WorkloadStats> {
        self.stop.store(true, Ordering::SeqCst);
        self.join()
    }

    /// Wait until the threads end by themselves (duration / op bound).
    pub fn wait(mut self) -> Result<WorkloadStats> {
        self.join()
    }

    fn join(&mut self) -> Result<WorkloadStats> {
        let mut total = WorkloadStats::default();
        let mut first_err = None;
        for h in self.threads.drain(..) {
            match h.join() {
                Ok(Ok(s)) => total += &s,
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(Error::Workload { detail: "a writer thread panicked".into() });
                }
            }
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(total),
        }
    }
}

impl Drop for Workload {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = self.join();
    }
}

fn setup(conn: &mut Conn, cfg: &WorkloadConfig) -> Result<()> {
    let schema = quote_ident(&cfg.schema);
    let q = format!("CREATE DATABASE IF NOT EXISTS {schema}");
    conn.query_drop(&q).map_err(sql_err(q))?;
    for (prefix, engine) in cfg.engines() {
        for i in 0..cfg.tables_per_engine {
            let t = format!("{schema}.{}", quote_ident(&format!("{prefix}_{i}")));
            let q = format!(
                "CREATE TABLE IF NOT EXISTS {t} (\
                 id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                 k INT NOT NULL, \
                 v VARCHAR(200) NOT NULL, \
                 n BIGINT NOT NULL DEFAULT 0, \
                 KEY k (k)) ENGINE={engine}"
            );
            conn.query_drop(&q).map_err(sql_err(q))?;
            let have: Option<u64> =
                conn.query_first(format!("SELECT COUNT(*) FROM {t}")).map_err(sql_err("counting rows"))?;
            let mut rng = Rng::new(cfg.seed ^ ((i as u64) << 8) ^ (prefix.len() as u64));
            let mut left = cfg.initial_rows.saturating_sub(have.unwrap_or(0));
            while left > 0 {
                let batch = left.min(500);
                let values: Vec<String> = (0..batch)
                    .map(|_| {
                        let k = rng.below(1000);
                        format!("({k}, '{}', {})", payload(&mut rng), rng.below(1 << 30))
                    })
                    .collect();
                let q = format!("INSERT INTO {t} (k, v, n) VALUES {}", values.join(","));
                conn.query_drop(&q).map_err(sql_err(format!("filling {t}")))?;
                left -= batch;
            }
        }
    }
    Ok(())
}

fn payload(rng: &mut Rng) -> String {
    let len = 8 + rng.below(120) as usize;
    (0..len).map(|_| (b'a' + rng.below(26) as u8) as char).collect()
}

struct Writer {
    conn: Conn,
    cfg: WorkloadConfig,
    tid: usize,
    stop: Arc<AtomicBool>,
    started: Instant,
    rng: Rng,
    stats: WorkloadStats,
    ddl_gen: u64,
    ddl_phase: u32,
    ddl_engine: String,
}

enum Step {
    Done,
    Retry,
}

impl Writer {
    fn new(opts: Opts, cfg: WorkloadConfig, tid: usize, stop: Arc<AtomicBool>, started: Instant) -> Result<Writer> {
        let mut conn = Conn::new(opts).map_err(sql_err(format!("workload thread {tid}: connecting")))?;
        conn.query_drop("SET SESSION innodb_lock_wait_timeout = 10, lock_wait_timeout = 60")
            .map_err(sql_err("session settings"))?;
        let rng = Rng::new(cfg.seed.wrapping_mul(31).wrapping_add(tid as u64 + 1));
        Ok(Writer {
            conn,
            cfg,
            tid,
            stop,
            started,
            rng,
            stats: WorkloadStats::default(),
            ddl_gen: 0,
            ddl_phase: 0,
            ddl_engine: "InnoDB".to_string(),
        })
    }

    fn run(mut self) -> Result<WorkloadStats> {
        let mut ops = 0u64;
        while !self.stop.load(Ordering::Relaxed)
            && self.started.elapsed() < self.cfg.duration
            && self.cfg.max_ops_per_thread.is_none_or(|m| ops < m)
        {
            let r = self.rng.below(100);
            let res = if self.cfg.ddl && r < 10 {
                self.ddl_step()
            } else {
                let engines = self.cfg.engines();
                let (prefix, engine) = &engines[self.rng.below(engines.len() as u64) as usize];
                let idx = self.rng.below(self.cfg.tables_per_engine.max(1) as u64);
                let table = format!("{}.{}", quote_ident(&self.cfg.schema), quote_ident(&format!("{prefix}_{idx}")));
                if engine.to_ascii_lowercase().starts_with("innodb") {
                    self.innodb_txn(&table)
                } else {
                    self.nontx_statement(&table)
                }
            };
            match res {
                Ok(Step::Done) => ops += 1,
                Ok(Step::Retry) => self.stats.retries += 1,
                Err(e) => return Err(e),
            }
        }
        // Leave no half-finished DDL table cycle behind in an odd state: the
        // tables that remain are ordinary tables, which is fine for checksums.
        self.stats.elapsed = self.started.elapsed();
        Ok(self.stats)
    }

    /// Run `sql`; a retryable error rolls back and yields `Ok(None)`.
    fn exec(&mut self, sql: &str, params: Vec<mysql::Value>) -> Result<Option<u64>> {
        let r = if params.is_empty() { self.conn.query_drop(sql) } else { self.conn.exec_drop(sql, params) };
        match r {
            Ok(()) => Ok(Some(self.conn.affected_rows())),
            Err(mysql::Error::MySqlError(e)) if RETRYABLE.contains(&e.code) => {
                let _ = self.conn.query_drop("ROLLBACK");
                Ok(None)
            }
            Err(e) => Err(Error::Sql { context: format!("workload thread {}: {sql}", self.tid), source: e }),
        }
    }

    fn dml(&mut self, table: &str) -> Result<Option<()>> {
        let kind = self.rng.below(10);
        let k = self.rng.below(1000);
        if kind < 5 {
            let rows = 1 + self.rng.below(4);
            let mut sql = format!("INSERT INTO {table} (k, v, n) VALUES ");
            let mut params = Vec::new();
            for i in 0..rows {
                if i > 0 {
                    sql.push(',');
                }
                sql.push_str("(?, ?, ?)");
                params.push(mysql::Value::from(self.rng.below(1000)));
                params.push(mysql::Value::from(payload(&mut self.rng)));
                params.push(mysql::Value::from(self.rng.below(1 << 30)));
            }
            match self.exec(&sql, params)? {
                Some(n) => self.stats.rows_inserted += n,
                None => return Ok(None),
            }
        } else if kind < 8 {
            let sql = format!("UPDATE {table} SET n = n + 1, v = ? WHERE k = ?");
            let v = payload(&mut self.rng);
            match self.exec(&sql, vec![v.into(), k.into()])? {
                Some(n) => self.stats.rows_updated += n,
                None => return Ok(None),
            }
        } else {
            let sql = format!("DELETE FROM {table} WHERE k = ? LIMIT 2");
            match self.exec(&sql, vec![k.into()])? {
                Some(n) => self.stats.rows_deleted += n,
                None => return Ok(None),
            }
        }
        Ok(Some(()))
    }

    fn innodb_txn(&mut self, table: &str) -> Result<Step> {
        if self.exec("START TRANSACTION", vec![])?.is_none() {
            return Ok(Step::Retry);
        }
        let statements = 1 + self.rng.below(5);
        for _ in 0..statements {
            if self.dml(table)?.is_none() {
                return Ok(Step::Retry);
            }
        }
        if self.rng.below(20) == 0 {
            self.exec("ROLLBACK", vec![])?;
            self.stats.rollbacks += 1;
        } else {
            if self.exec("COMMIT", vec![])?.is_none() {
                return Ok(Step::Retry);
            }
            self.stats.commits += 1;
        }
        Ok(Step::Done)
    }

    fn nontx_statement(&mut self, table: &str) -> Result<Step> {
        if self.dml(table)?.is_none() {
            return Ok(Step::Retry);
        }
        self.stats.nontx_statements += 1;
        Ok(Step::Done)
    }

    /// One DDL statement of this thread's cycle:
    /// CREATE, INSERT (not DDL, but gives the table data), RENAME, TRUNCATE,
    /// ALTER ... FORCE (rebuild), DROP.
    fn ddl_step(&mut self) -> Result<Step> {
        let schema = quote_ident(&self.cfg.schema);
        let base = format!("ddl_{}_{}", self.tid, self.ddl_gen);
        let t = format!("{schema}.{}", quote_ident(&base));
        let r = format!("{schema}.{}", quote_ident(&format!("{base}_r")));
        let (sql, is_ddl) = match self.ddl_phase {
            0 => {
                let mut engines = self.cfg.engines();
                if self.cfg.ddl_plain_innodb_only {
                    engines.retain(|(_, e)| e == "InnoDB");
                }
                self.ddl_engine = engines[self.rng.below(engines.len() as u64) as usize].1.clone();
                (
                    format!(
                        "CREATE TABLE IF NOT EXISTS {t} (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, \
                         v VARCHAR(200) NOT NULL) ENGINE={}",
                        self.ddl_engine
                    ),
                    true,
                )
            }
            1 => (
                format!(
                    "INSERT INTO {t} (v) VALUES ('{}'), ('{}'), ('{}')",
                    payload(&mut self.rng),
                    payload(&mut self.rng),
                    payload(&mut self.rng)
                ),
                false,
            ),
            2 => (format!("RENAME TABLE {t} TO {r}"), true),
            3 => (format!("TRUNCATE TABLE {r}"), true),
            4 => (format!("ALTER TABLE {r} FORCE"), true),
            _ => (format!("DROP TABLE IF EXISTS {r}"), true),
        };
        if self.exec(&sql, vec![])?.is_none() {
            return Ok(Step::Retry);
        }
        if is_ddl {
            self.stats.ddl_statements += 1;
        } else {
            self.stats.rows_inserted += 3;
        }
        self.ddl_phase += 1;
        if self.ddl_phase > 5 {
            self.ddl_phase = 0;
            self.ddl_gen += 1;
        }
        Ok(Step::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_names() {
        let cfg = WorkloadConfig { tables_per_engine: 1, ..Default::default() };
        assert_eq!(cfg.tables(), vec!["wl.innodb_0", "wl.myisam_0", "wl.aria_0"]);
    }

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
    }
}
