//! Incremental backups (issue 23) against a real MariaDB 10.11: a chain
//! taken by `innohot backup` (a full backup, then `--incremental-basedir=full`,
//! then `--incremental-basedir=inc1`) on a server with every kind of
//! tablespace (plain, ROW_FORMAT=COMPRESSED, PAGE_COMPRESSED, partitioned,
//! DATA DIRECTORY, undo tablespaces) and MyISAM/Aria tables under a write
//! load, with CREATE, RENAME, DROP, TRUNCATE and ALTER between the backups.
//! Each incremental holds `NAME.delta` + `NAME.meta` for ibdata1, the undo
//! tablespaces and every table (a table whose page 0 the server had not
//! written yet: the whole file as `db/t.new`, as mariabackup copies it),
//! says where it starts in `xtrabackup_checkpoints`, and copies only the
//! changed pages. The chain is prepared by the real `mariabackup --prepare
//! [--incremental-dir]` and by innohot's: both give the same pages (but for
//! pages the redo freed and PAGE_COMPRESSED pages innohot writes
//! uncompressed); innohot's, copied back, starts, checks clean, and after the
//! source's binlog is replayed from the last incremental's position equals
//! the source table by table. A chain mariabackup took of the same load,
//! prepared by innohot, does too. Besides: an incremental whose base is
//! missing, or that starts beyond the server's LSN, is refused.
//!
//! Run: `cargo test -p innohot-cli --test real_incremental -- --nocapture`.
//! `INNOHOT_KEEP_SERVER_DIRS=1` keeps the backups and servers' directories.

use innohot::format::delta;
use innohot::format::page::fil_header;
use innohot::meta::CHECKPOINTS_FILE;
use innohot::restore::Checkpoints;
use innohot_testbeds::roundtrip::{
    assert_same_checksums, binlog_info, flush_dirty_pages, prepare_chain, replay_binlog,
};
use innohot_testbeds::{
    binaries_or_skip, check_tables_extended, checksums_of, innohot, mariabackup, tree, BackupKind, Binaries,
    LocalServer, Run, ServerBuilder, Workload, WorkloadConfig,
};
use mysql::prelude::Queryable;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[path = "common/prepared_pages.rs"]
mod prepared_pages;

/// `innohot backup` of `src` into `target` with the options `extra`; its
/// log is kept beside the target as `TARGET.backup.log`.
fn backup(src: &LocalServer, target: &Path, extra: &[String]) -> Run {
    let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
    let t0 = Instant::now();
    let run = innohot!().backup(src, target, &extra);
    std::fs::write(target.with_extension("backup.log"), &run.stderr).unwrap();
    eprintln!("innohot backup {}: exit {:?} after {:.1} s", target.display(), run.code, t0.elapsed().as_secs_f64());
    run
}

/// [`backup`], which must complete: a full backup, or an incremental one
/// when `extra` names a base.
fn backup_ok(src: &LocalServer, target: &Path, extra: &[String]) -> String {
    let run = backup(src, target, extra);
    let incremental = extra.iter().any(|a| a.starts_with("--incremental-basedir="));
    run.assert_backup_completed(target, if incremental { BackupKind::Incremental } else { BackupKind::Full });
    run.stderr
}

fn basedir(base: &Path) -> String {
    format!("--incremental-basedir={}", base.display())
}

/// A temporary directory under /tmp (short paths for DATA DIRECTORY), kept
/// when `INNOHOT_KEEP_SERVER_DIRS=1`.
fn work_dir() -> tempfile::TempDir {
    innohot_testbeds::work_dir("innohot-inc-")
}

fn exec(src: &LocalServer, statements: &[String]) {
    let mut c = src.conn().unwrap();
    for sql in statements {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// `CREATE TABLE name (id, v) options` with `rows` rows.
fn table_with_rows(name: &str, options: &str, rows: u32) -> [String; 2] {
    [
        format!("CREATE TABLE {name} (id INT PRIMARY KEY, v VARCHAR(200) NOT NULL) {options}"),
        format!("INSERT INTO {name} SELECT seq, REPEAT(CHAR(97 + seq % 26), 1 + seq % 150) FROM inc.seq_1_to_{rows}"),
    ]
}

// ---------------------------------------------------------------------------
// The source, its tables, its load and the DDL between the backups
// ---------------------------------------------------------------------------

/// Rows of `inc.still`, written once before the full backup and never again:
/// some 2000 pages that no incremental may copy.
const STILL_ROWS: u32 = 150_000;

fn start_source(b: &Binaries) -> LocalServer {
    let t0 = Instant::now();
    let src = ServerBuilder::new(b.clone()).option("--innodb-undo-tablespaces=3").start().expect("start the source");
    eprintln!("source up in {:.1} s", t0.elapsed().as_secs_f64());
    src
}

/// The tables the DDL between the backups works on, `inc.still` and the
/// load's tables, their pages written and a checkpoint past them: else the
/// full backup's `to_lsn` (a checkpoint) may come before the LSN of
/// `inc.still`'s pages, and the incrementals rightly take them as changed;
/// and a table whose page 0 is not on disk yet is no delta but a `.new`.
fn make_schema(src: &LocalServer, load: &WorkloadConfig) {
    let mut sql = vec![
        "CREATE DATABASE inc".to_string(),
        "CREATE TABLE inc.still (id INT PRIMARY KEY, v CHAR(200) NOT NULL) ENGINE=InnoDB".to_string(),
        format!("INSERT INTO inc.still SELECT seq, REPEAT('s', 200) FROM inc.seq_1_to_{STILL_ROWS}"),
    ];
    for (t, rows) in [("renme", 3000), ("dropme", 3000), ("truncme", 3000), ("moveme", 2000)] {
        sql.extend(table_with_rows(&format!("inc.{t}"), "ENGINE=InnoDB", rows));
    }
    exec(src, &sql);
    Workload::setup(&mut src.conn().unwrap(), load).expect("create the load's tables");
    flush_dirty_pages(&mut src.conn().unwrap(), Duration::from_secs(120)).expect("write every dirty page");
}

/// Writers on one table of each kind (the DATA DIRECTORY one in `remote`),
/// with their own DDL (CREATE, RENAME, TRUNCATE, ALTER, DROP) on the side;
/// bounded by time only as a safety net: stopped after the last backup.
/// The DDL touches every kind of table unless mariabackup takes the chain
/// (see `WorkloadConfig::ddl_plain_innodb_only`).
fn load_config(remote: &Path, taker: Taker) -> WorkloadConfig {
    let extra = [
        ("zip8", "InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8".to_string()),
        ("pcomp", "InnoDB PAGE_COMPRESSED=1".to_string()),
        ("part", "InnoDB PARTITION BY HASH(id) PARTITIONS 3".to_string()),
        ("remote", format!("InnoDB DATA DIRECTORY='{}'", remote.display())),
    ];
    WorkloadConfig {
        schema: "load".into(),
        threads: 3,
        tables_per_engine: 1,
        initial_rows: 2000,
        duration: Duration::from_secs(900),
        ddl: true,
        ddl_plain_innodb_only: taker == Taker::Mariabackup,
        extra_tables: extra.into_iter().map(|(p, e)| (p.to_string(), e)).collect(),
        ..WorkloadConfig::default()
    }
}

/// Between the full backup and incremental #1.
fn ddl_before_inc1(src: &LocalServer) {
    let mut sql = vec![
        "RENAME TABLE inc.renme TO inc.renamed".to_string(),
        "DROP TABLE inc.dropme".to_string(),
        "TRUNCATE TABLE inc.truncme".to_string(),
        "INSERT INTO inc.truncme SELECT seq, 'after the first truncate' FROM inc.seq_1_to_500".to_string(),
        "UPDATE inc.renamed SET v = 'after the rename' WHERE id % 10 = 0".to_string(),
        "CREATE TABLE inc.myisam_new (id INT PRIMARY KEY, v VARCHAR(50)) ENGINE=MyISAM".to_string(),
        "INSERT INTO inc.myisam_new SELECT seq, 'm' FROM inc.seq_1_to_300".to_string(),
    ];
    sql.extend(table_with_rows("inc.created1", "ENGINE=InnoDB", 2000));
    sql.extend(table_with_rows("inc.zcreated", "ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4", 2000));
    exec(src, &sql);
}

/// Between incremental #1 and #2: a new database, a move into it, a table
/// of incremental #1 dropped, a truncate again, rebuilds under the same name.
fn ddl_before_inc2(src: &LocalServer) {
    let mut sql = vec![
        "CREATE DATABASE inc2db".to_string(),
        "RENAME TABLE inc.moveme TO inc2db.moved".to_string(),
        "INSERT INTO inc2db.moved VALUES (100000, 'after the move')".to_string(),
        "DROP TABLE inc.created1".to_string(),
        "TRUNCATE TABLE inc.truncme".to_string(),
        "INSERT INTO inc.truncme SELECT seq, 'after the second truncate' FROM inc.seq_1_to_700".to_string(),
        "ALTER TABLE inc.renamed FORCE".to_string(),
        "ALTER TABLE inc.zcreated PARTITION BY KEY(id) PARTITIONS 2".to_string(),
        "DELETE FROM inc.myisam_new WHERE id % 3 = 0".to_string(),
    ];
    sql.extend(table_with_rows("inc2db.born", "ENGINE=InnoDB", 1500));
    exec(src, &sql);
}

/// The server's commit count (`Com_commit`): it grows under the load.
fn commits(src: &LocalServer) -> u64 {
    let row: Option<(String, u64)> = src.conn().unwrap().query_first("SHOW GLOBAL STATUS LIKE 'Com_commit'").unwrap();
    row.expect("Com_commit").1
}

/// The files of the InnoDB tablespaces an incremental must hold a delta of:
/// ibdata1, the undo tablespaces and every table the dictionary lists
/// (as `db/t.ibd`), but the load's own DDL tables, which come and go, and
/// the `#sql-` tablespaces of its ALTER TABLEs under way.
fn tablespace_files(src: &LocalServer) -> BTreeSet<String> {
    let names: Vec<String> = src
        .conn()
        .unwrap()
        .query("SELECT NAME FROM information_schema.INNODB_SYS_TABLESPACES WHERE NAME LIKE '%/%'")
        .unwrap();
    let mut files: BTreeSet<String> = names
        .into_iter()
        .filter(|n| !n.starts_with("load/ddl_") && !n.contains("/#sql"))
        .map(|n| format!("{n}.ibd"))
        .collect();
    files.extend(["ibdata1", "undo001", "undo002", "undo003"].map(String::from));
    files
}

// ---------------------------------------------------------------------------
// The chain and what each incremental must hold
// ---------------------------------------------------------------------------

/// The three backups, their logs, and the tablespaces each incremental must cover.
struct Chain {
    full: PathBuf,
    incs: Vec<Incremental>,
}

struct Incremental {
    dir: PathBuf,
    base: PathBuf,
    log: String,
    tablespaces: BTreeSet<String>,
    /// Tablespaces whose page 0 was on disk before the base: deltas, never `.new`.
    deltas: Vec<&'static str>,
}

/// Tablespaces of every incremental whose page 0 was written before the full backup.
const ALWAYS_DELTAS: [&str; 10] = [
    "ibdata1",
    "undo001",
    "undo003",
    "inc/still.ibd",
    "load/innodb_0.ibd",
    "load/zip8_0.ibd",
    "load/pcomp_0.ibd",
    "load/part_0#P#p0.ibd",
    "load/part_0#P#p2.ibd",
    "load/remote_0.ibd",
];

/// Which tool takes the chain's backups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Taker {
    Innohot,
    Mariabackup,
}

impl Taker {
    /// A full backup (`base` None) or an incremental over `base`; its log.
    fn backup(self, src: &LocalServer, target: &Path, base: Option<&Path>, extra: &[String]) -> String {
        match self {
            Taker::Innohot => {
                backup_ok(src, target, &[base.map(basedir).into_iter().collect(), extra.to_vec()].concat())
            }
            Taker::Mariabackup => {
                let log = target.with_extension("log");
                match base {
                    None => mariabackup::backup(src, target, &log),
                    Some(b) => mariabackup::backup_incremental(src, target, b, &log),
                }
                .unwrap_or_else(|e| panic!("mariabackup into {}: {e}", target.display()));
                std::fs::read_to_string(&log).unwrap_or_default()
            }
        }
    }
}

/// The full backup, DDL, incremental #1 (innohot's on two lanes), DDL,
/// incremental #2, all under the running load, taken by `taker`.
fn take_chain(src: &LocalServer, dir: &Path, taker: Taker) -> Chain {
    std::thread::sleep(Duration::from_secs(1)); // a real load on a real server: let it write
    let full = dir.join("full");
    taker.backup(src, &full, None, &[]);
    ddl_before_inc1(src);
    std::thread::sleep(Duration::from_secs(2));
    let inc1 = dir.join("inc1");
    let log = taker.backup(src, &inc1, Some(&full), &["--parallel=2".into()]);
    let deltas = [&ALWAYS_DELTAS[..], &["inc/renamed.ibd", "inc/moveme.ibd"]].concat();
    let first = Incremental { dir: inc1.clone(), base: full.clone(), log, tablespaces: tablespace_files(src), deltas };
    ddl_before_inc2(src);
    std::thread::sleep(Duration::from_secs(2));
    let inc2 = dir.join("inc2");
    let before = commits(src);
    let log = taker.backup(src, &inc2, Some(&inc1), &[]);
    let during = commits(src) - before;
    assert!(during > 0, "no commit during incremental #2: it was not taken under load");
    eprintln!("{during} commits during incremental #2");
    let deltas = [&ALWAYS_DELTAS[..], &["inc2db/moved.ibd"]].concat();
    let second = Incremental { dir: inc2, base: inc1, log, tablespaces: tablespace_files(src), deltas };
    Chain { full, incs: vec![first, second] }
}

fn checkpoints(dir: &Path) -> Checkpoints {
    let path = dir.join(CHECKPOINTS_FILE);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Checkpoints::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `N of M` from the backup's "incremental: N of M pages scanned had
/// changed and were copied".
fn pages_line(log: &str) -> (u64, u64) {
    let line = log
        .lines()
        .find(|l| l.contains("incremental: ") && l.ends_with(" pages scanned had changed and were copied"))
        .unwrap_or_else(|| panic!("no \"incremental: N of M pages scanned ...\" line:\n{log}"));
    let words: Vec<&str> = line.split_once("incremental: ").unwrap().1.split(' ').collect();
    let num = |w: &str| w.parse::<u64>().unwrap_or_else(|_| panic!("not a number in {line:?}"));
    assert_eq!(words[1], "of", "{line}");
    (num(words[0]), num(words[2]))
}

fn relative(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir).unwrap().display().to_string()
}

/// Every `NAME.delta` below `inc`, as `NAME`.
fn deltas_in(inc: &Path) -> BTreeSet<String> {
    tree::regular_files(inc)
        .iter()
        .filter_map(|p| p.strip_prefix(inc).unwrap().to_str()?.strip_suffix(delta::DELTA_SUFFIX).map(String::from))
        .collect()
}

/// Every `db/t.new` below `inc` (a table whose page 0 the server had not
/// written yet, copied whole), as the `db/t.ibd` it stands for.
fn news_in(inc: &Path) -> BTreeSet<String> {
    tree::regular_files(inc)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "new"))
        .map(|p| p.strip_prefix(inc).unwrap().with_extension("ibd").display().to_string())
        .collect()
}

/// The pages of `NAME.delta` (decoded with `NAME.meta`'s page size), each
/// with an LSN at or after `from`.
fn delta_pages(inc: &Path, name: &str, from: u64) -> usize {
    let meta = std::fs::read_to_string(inc.join(format!("{name}{}", delta::META_SUFFIX)))
        .unwrap_or_else(|e| panic!("{name}{}: {e}", delta::META_SUFFIX));
    let meta = delta::parse_meta(&meta).unwrap_or_else(|e| panic!("{name}{}: {e}", delta::META_SUFFIX));
    let bytes = std::fs::read(inc.join(format!("{name}{}", delta::DELTA_SUFFIX))).unwrap();
    let pages = delta::decode(meta.page_size, &bytes).unwrap_or_else(|e| panic!("{name}.delta: {e}"));
    for p in &pages {
        let lsn = fil_header(p.page).unwrap().lsn;
        assert!(lsn >= from, "{name}.delta: page {} has LSN {lsn}, before from_lsn {from}", p.page_no);
    }
    pages.len()
}

/// Incremental `inc` says where it starts, holds a delta and a meta of
/// every tablespace (or, for a table whose page 0 the server had not written
/// yet, the whole file as `db/t.new`, as mariabackup does) and no tablespace
/// whole otherwise, copied only changed pages (none of `inc.still`), and
/// reports them. Returns the report's `(N, M)`.
fn check_incremental(inc: &Incremental) -> (u64, u64) {
    let (cp, base) = (checkpoints(&inc.dir), checkpoints(&inc.base));
    assert_eq!(cp.backup_type, "incremental", "{}", cp.text);
    assert_eq!(cp.from_lsn, base.to_lsn, "from_lsn is not the base's to_lsn:\n{}\n{}", cp.text, base.text);
    assert!(cp.to_lsn >= cp.from_lsn, "{}", cp.text);
    let info = std::fs::read_to_string(inc.dir.join("xtrabackup_info")).unwrap();
    let said = info.contains("\nincremental = Y\n") && info.contains(&format!("\ninnodb_from_lsn = {}\n", cp.from_lsn));
    assert!(said, "{}/xtrabackup_info:\n{info}", inc.dir.display());
    let deltas = deltas_in(&inc.dir);
    let new = news_in(&inc.dir);
    let missing: Vec<&String> = inc.tablespaces.iter().filter(|t| !deltas.contains(*t) && !new.contains(*t)).collect();
    assert!(missing.is_empty(), "{}: no delta of {missing:?}; deltas: {deltas:?}", inc.dir.display());
    let whole: Vec<PathBuf> = tree::regular_files(&inc.dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "ibd") || inc.tablespaces.contains(&relative(&inc.dir, p)))
        .collect();
    assert!(whole.is_empty(), "tablespaces copied whole into an incremental: {whole:?}");
    let both: Vec<&String> = deltas.intersection(&new).collect();
    assert!(both.is_empty(), "{}: both as a delta and as a .new: {both:?}", inc.dir.display());
    for name in &inc.deltas {
        assert!(deltas.contains(*name), "{}: {name} is no delta (its page 0 was on disk)", inc.dir.display());
    }
    assert!(inc.dir.join("load/remote_0.isl").is_file(), "the DATA DIRECTORY table's .isl is not in the incremental");
    let pages: Vec<(String, usize)> =
        deltas.iter().map(|n| (n.clone(), delta_pages(&inc.dir, n, cp.from_lsn))).collect();
    let still = pages.iter().find(|(n, _)| n == "inc/still.ibd").map(|(_, p)| *p);
    assert_eq!(still, Some(0), "inc.still has not changed since the full backup");
    let (n, m) = pages_line(&inc.log);
    let in_files: usize = pages.iter().map(|(_, p)| p).sum();
    eprintln!("{}: {n} of {m} pages changed, {in_files} in {} deltas; whole: {new:?}", inc.dir.display(), deltas.len());
    assert!(in_files as u64 <= n && n <= m, "{in_files} pages in the deltas, report: {n} of {m}");
    assert!(n > 0, "nothing changed under a write load?");
    (n, m)
}

// ---------------------------------------------------------------------------
// Preparing the chain
// ---------------------------------------------------------------------------

/// `innohot prepare --target-dir=FULL`, then `innohot prepare
/// --target-dir=FULL --incremental-dir=INC` for each incremental in chain order.
fn innohot_prepare_chain(full: &Path, incs: &[&Path]) {
    let t0 = Instant::now();
    innohot!().prepare(full, &[]).assert_completed(&format!("innohot prepare {}", full.display()));
    for inc in incs {
        let inc = format!("--incremental-dir={}", inc.display());
        innohot!().prepare(full, &[&inc]).assert_completed(&format!("innohot prepare {} {inc}", full.display()));
    }
    eprintln!("innohot prepared the chain in {:.1} s", t0.elapsed().as_secs_f64());
}

/// `innohot copy-back` of the prepared `full` into the fresh `datadir`.
fn innohot_copy_back(full: &Path, datadir: &Path) {
    innohot!().copy_back(full, datadir).assert_ok("innohot copy-back");
}

/// Prepares and copies back the chain with innohot, starts a server on it
/// with the source's options, checks every table, replays the source's
/// binlog from the last incremental's position, and compares every table.
fn restore_and_compare(src: &LocalServer, chain: &Chain, work: &Path, want: &Sums) {
    let last = &chain.incs.last().expect("an incremental").dir;
    let from = binlog_info(last).expect("the last incremental's xtrabackup_binlog_info");
    let to_lsn = checkpoints(last).to_lsn; // read before the prepare, which may consume the incremental
    let incs: Vec<&Path> = chain.incs.iter().map(|i| i.dir.as_path()).collect();
    innohot_prepare_chain(&chain.full, &incs);
    let prepared = checkpoints(&chain.full);
    assert!(prepared.is_prepared(), "the prepared chain's checkpoints:\n{}", prepared.text);
    assert_eq!(prepared.to_lsn, to_lsn, "the prepared chain does not end where the last incremental does");
    assert_eq!(binlog_info(&chain.full).unwrap(), from, "the prepared chain's binlog position is not the last one's");
    let datadir = work.join("restored");
    innohot_copy_back(&chain.full, &datadir);
    let restored = src.builder().start_on(&datadir).expect("start a server on the restored chain");
    let bad = check_tables_extended(&mut restored.conn().unwrap()).unwrap();
    assert!(bad.is_empty(), "CHECK TABLE ... EXTENDED on the restored chain:\n{bad}");
    if let Err(e) = replay_binlog(src, &from, &restored) {
        panic!("the binlog replay failed: {e}\nthe restored server's log:\n{}", restored.error_log_tail(40));
    }
    assert_same_checksums(want, &checksums_of(&restored), "the restored chain");
    eprintln!("{} tables equal to the source's", want.len());
}

type Sums = std::collections::BTreeMap<String, u64>;

// ---------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------

/// The chain under load, taken by `taker`, its incrementals checked (innohot's),
/// then what `after` does with it. Returns the source's table checksums.
fn chain_under_load(taker: Taker, after: impl FnOnce(&LocalServer, &Chain, &Path, &Sums)) {
    let Some(b) = binaries_or_skip() else { return };
    let t0 = Instant::now();
    let work = work_dir();
    let remote = work.path().join("remote");
    std::fs::create_dir(&remote).unwrap();
    let mut src = start_source(&b);
    let cfg = load_config(&remote, taker);
    make_schema(&src, &cfg);
    let load = Workload::start(src.opts(), cfg).expect("start the load");
    let chain = take_chain(&src, work.path(), taker);
    let stats = load.stop().expect("the load ran without errors");
    eprintln!("the load during the chain: {stats:?}");
    assert!(stats.commits > 100 && stats.ddl_statements > 5, "the load barely ran: {stats:?}");
    if taker == Taker::Innohot {
        let counts: Vec<(u64, u64)> = chain.incs.iter().map(check_incremental).collect();
        let (n, m) = counts[1];
        assert!(n < m, "incremental #2 copied {n} of {m} pages: not only the changed ones");
    }
    let want = checksums_of(&src);
    for t in ["inc.still", "inc.renamed", "inc.truncme", "inc.zcreated", "inc2db.moved", "inc2db.born", "load.remote_0"]
    {
        assert!(want.contains_key(t), "{t} is not among the source's tables: {:?}", want.keys());
    }
    for gone in ["inc.dropme", "inc.created1", "inc.renme", "inc.moveme"] {
        assert!(!want.contains_key(gone), "{gone} is still on the source");
    }
    // copy-back writes DATA DIRECTORY tablespaces where the source has them.
    src.stop().expect("stop the source");
    std::fs::rename(&remote, remote.with_extension("aside")).unwrap();
    eprintln!("source loaded and backed up in {:.1} s", t0.elapsed().as_secs_f64());
    after(&src, &chain, work.path(), &want);
    let remote_ibd = remote.join("load/remote_0.ibd");
    assert!(remote_ibd.is_file(), "copy-back did not put {} back: the chain lost its .isl", remote_ibd.display());
    eprintln!("the whole test: {:.1} s", t0.elapsed().as_secs_f64());
}

/// A copy of the chain's directories under `to`, the incrementals in order.
fn copy_chain(chain: &Chain, to: &Path) -> (PathBuf, Vec<PathBuf>) {
    let copy = |d: &Path| {
        let dest = to.join(d.file_name().unwrap());
        tree::copy_dir(d, &dest).unwrap_or_else(|e| panic!("copying {}: {e}", d.display()));
        dest
    };
    std::fs::create_dir_all(to).unwrap();
    (copy(&chain.full), chain.incs.iter().map(|i| copy(&i.dir)).collect())
}

/// innohot's chain prepared three ways: by mariabackup (copy A), by innohot's
/// library (copy C, which says which pages its redo freed), and by `innohot
/// prepare` (the chain itself, then restored and compared with the source).
/// A and C must hold the same pages, but for differences with a known cause
/// (a page the redo freed, which innohot writes and mariabackup leaves; a
/// PAGE_COMPRESSED page the redo changed, which innohot writes uncompressed).
#[test]
fn innohot_chain_prepared_by_innohot_and_by_mariabackup_to_the_same_pages() {
    chain_under_load(Taker::Innohot, |src, chain, work, want| {
        let (a_full, a_incs) = copy_chain(chain, &work.join("by-mariabackup"));
        let (c_full, c_incs) = copy_chain(chain, &work.join("by-library"));
        let orig = copy_chain(chain, &work.join("unprepared")).0;
        let a_refs: Vec<&Path> = a_incs.iter().map(PathBuf::as_path).collect();
        prepare_chain(src.binaries(), &a_full, &a_refs).unwrap_or_else(|e| panic!("{e}"));
        let fs = innohot::io::local::RealLocalFs;
        let mut freed = innohot::restore::prepare::prepare(&fs, &c_full).unwrap().pages_freed;
        for inc in &c_incs {
            let r = innohot::restore::incremental::prepare_incremental(&fs, &c_full, inc).unwrap();
            freed.extend(r.redo.pages_freed);
        }
        let (classes, unexplained) = prepared_pages::compare_prepared(&orig, &a_full, &c_full, &freed);
        eprintln!("pages of the two prepared chains: {classes:?}");
        assert!(
            unexplained.is_empty(),
            "pages differing from mariabackup's prepared chain:\n{}",
            unexplained.join("\n")
        );
        restore_and_compare(src, chain, work, want);
    });
}

/// mariabackup's chain (full, two incrementals) of the same load, prepared by
/// `innohot prepare [--incremental-dir]`, restored and compared with the source.
#[test]
fn mariabackup_chain_prepared_by_innohot() {
    chain_under_load(Taker::Mariabackup, |src, chain, work, want| {
        restore_and_compare(src, chain, work, want);
    });
}

#[test]
fn incremental_of_a_chain_is_refused_when_the_base_is_missing() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b).start().expect("start the server");
    exec(&src, &["CREATE DATABASE inc".into(), "CREATE TABLE inc.t (id INT PRIMARY KEY) ENGINE=InnoDB".into()]);
    let work = work_dir();
    let full = work.path().join("full");
    backup_ok(&src, &full, &[]);
    // A base whose xtrabackup_checkpoints is gone (an unfinished or damaged
    // backup), and a base that is not there at all.
    std::fs::remove_file(full.join(CHECKPOINTS_FILE)).unwrap();
    let before = tree::fingerprint(&full);
    for (i, base) in [full.clone(), work.path().join("never-taken")].iter().enumerate() {
        let target = work.path().join(format!("inc{i}"));
        let run = backup(&src, &target, &[basedir(base)]);
        eprintln!("refused: {}", run.stderr.trim_end());
        run.assert_backup_failed(&target);
        let dir = format!("--incremental-basedir={}:", base.display());
        assert!(run.stderr.contains(&dir), "the message does not name the base {dir}\n{}", run.stderr);
        assert!(run.stderr.contains(CHECKPOINTS_FILE), "the message does not name the file:\n{}", run.stderr);
    }
    assert_eq!(tree::fingerprint(&full), before, "the refused incremental changed its base");
}

#[test]
fn incremental_lsn_beyond_the_server_is_refused() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b).start().expect("start the server");
    exec(&src, &["CREATE DATABASE inc".into(), "CREATE TABLE inc.t (id INT PRIMARY KEY) ENGINE=InnoDB".into()]);
    let work = work_dir();
    let target = work.path().join("inc");
    let run = backup(&src, &target, &["--incremental-lsn=999999999999999999".into()]);
    eprintln!("refused: {}", run.stderr.trim_end());
    run.assert_backup_failed(&target);
    assert!(run.stderr.contains("beyond this server's LSN"), "{}", run.stderr);
    // Refused before any lock: a write goes through at once.
    let mut c = src.conn().unwrap();
    c.query_drop("SET SESSION lock_wait_timeout = 5, SESSION innodb_lock_wait_timeout = 5").unwrap();
    c.query_drop("INSERT INTO inc.t VALUES (1)").unwrap();
}
