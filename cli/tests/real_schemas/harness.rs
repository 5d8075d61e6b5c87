//! What the round trips of real_schemas share: the source server, tables
//! of rows, the writer threads, the backup under them, and the restore that
//! compares the result with the source.

use innohot_testbeds::{
    all_checksums_of, innohot, quote_ident, roundtrip, tree, BackupKind, Binaries, LocalServer, Rng, Run,
    ServerBuilder, Writers,
};
use mysql::prelude::Queryable;
use mysql::Conn;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Compression algorithms of the Debian build, with the number a
/// page_compressed page (crc32 format) or the full_crc32 tablespace flags
/// record for them.
pub const ALGORITHMS: [(&str, u64); 6] =
    [("zlib", 1), ("lz4", 2), ("lzo", 3), ("lzma", 4), ("bzip2", 5), ("snappy", 6)];

/// The provider plugins for every algorithm but zlib (built in).
pub const PROVIDERS: [&str; 5] = [
    "--plugin-load-add=provider_lz4",
    "--plugin-load-add=provider_lzo",
    "--plugin-load-add=provider_lzma",
    "--plugin-load-add=provider_bzip2",
    "--plugin-load-add=provider_snappy",
];

/// Words the rows are made of, so FULLTEXT searches find something and
/// pages compress.
pub const WORDS: [&str; 8] = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel"];

pub fn start_source(b: &Binaries, options: &[&str]) -> LocalServer {
    let mut builder = ServerBuilder::new(b.clone());
    for o in options {
        builder = builder.option(*o);
    }
    let t0 = Instant::now();
    let server = builder.start().unwrap_or_else(|e| panic!("starting the source server with {options:?}: {e}"));
    eprintln!("source server up in {:.1} s with {options:?}", t0.elapsed().as_secs_f64());
    server
}

pub fn exec(conn: &mut Conn, sql: &str) {
    conn.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

pub fn q(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// Creates `schema.table` (id, k, v with a secondary index on k, plus
/// `extra` column/index definitions), InnoDB with `options`, and fills it
/// with `rows` rows of words.
pub fn rows_table(conn: &mut Conn, schema: &str, table: &str, extra: &str, options: &str, rows: u32) {
    exec(conn, &format!("CREATE DATABASE IF NOT EXISTS {}", quote_ident(schema)));
    let t = q(schema, table);
    exec(
        conn,
        &format!(
            "CREATE TABLE {t} (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, \
             v VARCHAR(200) NOT NULL, KEY k (k){extra}) ENGINE=InnoDB {options}"
        ),
    );
    let words = WORDS.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(",");
    if rows > 0 {
        exec(
            conn,
            &format!(
                "INSERT INTO {t} (k, v) SELECT seq MOD 1000, CONCAT_WS(' ', ELT(1 + seq MOD 8, {words}), \
                 ELT(1 + (seq DIV 8) MOD 8, {words}), seq, REPEAT(CHAR(97 + seq MOD 26), seq MOD 60)) \
                 FROM {}.seq_1_to_{rows}",
                quote_ident(schema)
            ),
        );
    }
}

/// What a writer thread changes.
#[derive(Clone, Debug)]
pub enum Target {
    /// A table made by [`rows_table`] (quoted, qualified name).
    Rows(String),
    /// A sequence: `SELECT NEXTVAL(...)`.
    Sequence(String),
}

/// The next transaction of a writer: small changes (INSERT, UPDATE by k,
/// DELETE by k) to one of `targets`, or now and then one of the `side`
/// statements (e.g. switching the global compression algorithm).
fn next_transaction(rng: &mut Rng, targets: &[Target], side: &[String]) -> Vec<(String, Vec<mysql::Value>)> {
    let mut statements: Vec<(String, Vec<mysql::Value>)> = Vec::new();
    if !side.is_empty() && rng.below(25) == 0 {
        statements.push((side[rng.below(side.len() as u64) as usize].clone(), vec![]));
        return statements;
    }
    match &targets[rng.below(targets.len() as u64) as usize] {
        Target::Sequence(s) => statements.push((format!("SELECT NEXTVAL({s})"), vec![])),
        Target::Rows(t) => {
            for _ in 0..1 + rng.below(3) {
                let k = rng.below(1000);
                statements.push(match rng.below(10) {
                    0..=4 => (
                        format!("INSERT INTO {t} (k, v) VALUES (?, ?), (?, ?)"),
                        vec![k.into(), text(rng).into(), rng.below(1000).into(), text(rng).into()],
                    ),
                    5..=7 => (format!("UPDATE {t} SET v = ? WHERE k = ?"), vec![text(rng).into(), k.into()]),
                    _ => (format!("DELETE FROM {t} WHERE k = ? ORDER BY id LIMIT 2"), vec![k.into()]),
                });
            }
        }
    }
    statements
}

/// A few of [`WORDS`] and a run of `z`: what the writers store.
fn text(rng: &mut Rng) -> String {
    let mut s = String::new();
    for _ in 0..2 + rng.below(4) {
        s.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        s.push(' ');
    }
    s.push_str(&"z".repeat(rng.below(80) as usize));
    s
}

/// `threads` writers doing [`next_transaction`]s until stopped, each
/// transaction one step of [`Writers`].
pub fn writers(server: &LocalServer, targets: Vec<Target>, side: Vec<String>, threads: usize) -> Writers {
    assert!(!targets.is_empty());
    Writers::start(server.opts(), threads, |w| {
        let (targets, side) = (targets.clone(), side.clone());
        let mut rng = Rng::new(0x5EED ^ ((w as u64) << 32));
        move |conn: &mut Conn, _| {
            conn.query_drop("START TRANSACTION")?;
            for (sql, params) in next_transaction(&mut rng, &targets, &side) {
                if params.is_empty() {
                    conn.query_drop(sql)?;
                } else {
                    conn.exec_drop(sql, params)?;
                }
            }
            conn.query_drop("COMMIT")?;
            Ok(true)
        }
    })
}

/// `innohot backup` of `server` into `target` with `extra`, timed.
pub fn backup(server: &LocalServer, target: &Path, extra: &[&str]) -> Run {
    let t0 = Instant::now();
    let run = innohot!().backup(server, target, extra);
    eprintln!("innohot backup: exit {:?} after {:.2} s", run.code, t0.elapsed().as_secs_f64());
    run
}

/// A backup while `writers` write (they have committed 20 transactions
/// first): it completes and writes commit during it. Returns the backup's
/// run and how many transactions committed during it.
pub fn backup_under(writers: Writers, server: &LocalServer, target: &Path, extra: &[&str]) -> (Run, u64) {
    writers.wait_for_ops(20, Duration::from_secs(60));
    let before = writers.ops();
    let run = backup(server, target, extra);
    let during = writers.ops() - before;
    let total = writers.stop();
    run.assert_backup_completed(target, BackupKind::Full);
    assert!(during > 0, "no write committed during the backup ({total} in all)");
    eprintln!("{during} transactions committed during the backup, {total} in all");
    (run, during)
}

/// Answers of `probes` (one string per row).
pub fn probe(conn: &mut Conn, probes: &[String]) -> BTreeMap<String, Vec<String>> {
    probes
        .iter()
        .map(|sql| {
            let rows: Vec<mysql::Row> = conn.query(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
            let rows = rows
                .into_iter()
                .map(|r| r.unwrap().iter().map(|v| v.as_sql(false)).collect::<Vec<_>>().join(" | "))
                .collect();
            (sql.clone(), rows)
        })
        .collect()
}

/// What a round trip needs besides the source and the backup.
#[derive(Default)]
pub struct Restore {
    /// Directories (DATA DIRECTORY targets) renamed to `<dir>.aside` after
    /// the source is stopped, before copy-back.
    pub aside: Vec<PathBuf>,
    /// Queries whose answers must be equal on source and restored server.
    pub probes: Vec<String>,
    /// Tables that must be among the compared ones (`schema.table`).
    pub expect_tables: Vec<String>,
}

/// The first distinct error lines of mariabackup's logs (a failed prepare
/// repeats one cause for hundreds of pages), the backup's `backup-my.cnf`
/// and the backup's files outside `mysql/` and `sys/`.
fn restore_failure_summary(backup: &Path) -> String {
    let mut out = String::new();
    for log in ["prepare.log", "copy-back.log"] {
        let text = std::fs::read_to_string(backup.with_extension(log)).unwrap_or_default();
        // A cause is the text after the last "] ", digits left out (page numbers).
        let cause =
            |l: &str| -> String { l.rsplit("] ").next().unwrap_or(l).replace(|c: char| c.is_ascii_digit(), "") };
        let mut seen: Vec<&str> = Vec::new();
        for l in text.lines().filter(|l| l.contains("[ERROR]") || l.contains("not loaded") || l.contains("rror:")) {
            if seen.len() < 8 && !seen.iter().any(|s| cause(s) == cause(l)) {
                seen.push(l);
            }
        }
        if !seen.is_empty() {
            out.push_str(&format!("first distinct errors in {log}:\n  {}\n", seen.join("\n  ")));
        }
    }
    let cnf = std::fs::read_to_string(backup.join("backup-my.cnf")).unwrap_or_default();
    out.push_str(&format!("backup-my.cnf:\n{cnf}"));
    let files: Vec<String> = tree::relative_files(backup)
        .into_iter()
        .filter(|f| !f.starts_with("mysql/") && !f.starts_with("sys/"))
        .collect();
    out.push_str(&format!("backup files: {files:?}"));
    out
}

/// Prepare, copy back into a fresh datadir, start with the source's options,
/// replay the binlog, compare checksums and probes with the source's final
/// state. Returns the restored server.
pub fn restore_and_compare(source: &mut LocalServer, backup: &Path, work: &Path, r: &Restore) -> LocalServer {
    // innohot verify finds nothing wrong with a completed backup (every page
    // of every kind this suite makes, the redo copy, the metadata).
    let v = innohot!().verify(backup);
    assert!(
        v.ok() && format!("{}{}", v.stdout, v.stderr).contains(": OK:"),
        "innohot verify rejects a good backup: {v:?}"
    );
    let want = all_checksums_of(source);
    for t in &r.expect_tables {
        assert!(want.contains_key(t), "{t} is not among the source's tables: {:?}", want.keys().collect::<Vec<_>>());
    }
    let want_probes = probe(&mut source.conn().unwrap(), &r.probes);
    if !r.aside.is_empty() {
        source.stop().expect("stop the source");
        for d in &r.aside {
            let to = PathBuf::from(format!("{}.aside", d.display()));
            std::fs::rename(d, &to).unwrap_or_else(|e| panic!("moving {} aside: {e}", d.display()));
        }
    }
    let datadir = work.join("restored");
    let t0 = Instant::now();
    let restored = roundtrip::prepare_copy_back_start(source.builder(), backup, &datadir)
        .unwrap_or_else(|e| panic!("restoring the backup failed: {}\n{e}", restore_failure_summary(backup)));
    let from = roundtrip::binlog_info(backup).expect("xtrabackup_binlog_info");
    roundtrip::replay_binlog(source, &from, &restored)
        .unwrap_or_else(|e| panic!("binlog replay into the restored server failed: {e}"));
    eprintln!("prepare + copy-back + start + replay: {:.1} s", t0.elapsed().as_secs_f64());
    let got = all_checksums_of(&restored);
    let diff = roundtrip::checksum_diff(&want, &got);
    assert!(diff.is_empty(), "restored + binlog replay differs from the source:\n{diff}");
    let got_probes = probe(&mut restored.conn().unwrap(), &r.probes);
    for (sql, want_rows) in &want_probes {
        assert_eq!(&got_probes[sql], want_rows, "probe differs between source and restore: {sql}");
    }
    eprintln!("{} tables and {} probes equal after the round trip", want.len(), r.probes.len());
    restored
}

/// The usual round trip: writers on `targets` from before the backup to
/// after it, a completed backup, restore, compare.
pub fn round_trip(source: &mut LocalServer, targets: Vec<Target>, side: Vec<String>, r: &Restore) {
    let work = innohot_testbeds::work_dir("innohot-rs-");
    let target = work.path().join("backup");
    let writers = writers(source, targets, side, 2);
    // Three lanes and 1 MiB ranges: every schema here is also copied by
    // lanes racing each other, with ibdata1 and the larger tables in ranges
    // (the other real-server suites copy on one lane, the default).
    let extra = ["--log-poll-ms=200", "--parallel=3", "--range-size=1048576"];
    let (run, _) = backup_under(writers, source, &target, &extra);
    assert!(run.stderr.contains("[02] Copying"), "a second lane copied files or ranges:\n{}", run.tail(40));
    restore_and_compare(source, &target, work.path(), r);
}

/// The 38-byte FIL header of page `page_no` plus the FSP flags of page 0.
pub fn page_header(file: &Path, page_size: u64, page_no: u64) -> (Vec<u8>, u32) {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut p0 = [0u8; 58];
    f.read_exact(&mut p0).unwrap();
    let flags = u32::from_be_bytes(p0[54..58].try_into().unwrap());
    let mut h = vec![0u8; 38];
    f.seek(SeekFrom::Start(page_no * page_size)).unwrap();
    f.read_exact(&mut h).unwrap();
    (h, flags)
}

pub fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(b[at..at + 2].try_into().unwrap())
}
