//! Real-server vectors for `prepare::mariadb`: a throwaway MariaDB runs a workload
//! (DYNAMIC and REDUNDANT tables, secondary indexes, inserts, updates, deletes,
//! a rollback) while `mariabackup --backup` copies it; the backup is copied twice,
//! copy A prepared by `mariabackup --prepare`, copy B by innohot's `apply_log`
//! over its files in memory; then every page of every tablespace is compared.
//!
//! With INNOHOT_WRITE_FIXTURES=1 the pages the log names (before and after) and the
//! log are written to engine/tests/data/mariadb1011/, which
//! engine/tests/mariadb_prepare_real.rs replays without a server.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use innohot::restore::prepare::mariadb::{apply_log, PageStore};
use innohot_testbeds::{binaries_or_skip, check_tables, innohot, mariabackup, BackupKind, ServerBuilder, Writers};
use mysql::prelude::Queryable;

const PAGE: usize = 4096;

/// Each tablespace file of a backup, read whole, by space id.
struct Files(BTreeMap<u32, (PathBuf, Vec<u8>)>);

impl PageStore for Files {
    fn page_mut(&mut self, space: u32, page: u32) -> Option<&mut [u8]> {
        let (_, data) = self.0.get_mut(&space)?;
        data.get_mut(page as usize * PAGE..(page as usize + 1) * PAGE)
    }
}

fn load(dir: &Path) -> Files {
    let mut files = BTreeMap::new();
    let mut paths = vec![dir.join("ibdata1")];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("undo") {
            paths.push(p.clone());
        }
        if p.is_dir() {
            for f in std::fs::read_dir(&p).unwrap() {
                let f = f.unwrap().path();
                if f.extension().is_some_and(|x| x == "ibd") {
                    paths.push(f);
                }
            }
        }
    }
    for p in paths {
        let data = std::fs::read(&p).unwrap();
        if data.len() < PAGE {
            continue;
        }
        let space = u32::from_be_bytes(data[34..38].try_into().unwrap());
        files.insert(space, (p, data));
    }
    Files(files)
}

fn copy_dir(from: &Path, to: &Path) {
    innohot_testbeds::tree::copy_dir(from, to).unwrap();
}

fn workload(conn: &mut mysql::Conn, round: u32) {
    for t in ["d", "r"] {
        for i in 0..40 {
            let id = round * 1000 + i;
            conn.query_drop(format!("INSERT INTO w.{t} VALUES ({id}, {}, REPEAT('x', {}))", id % 7, 20 + id % 90))
                .unwrap();
        }
        conn.query_drop(format!(
            "UPDATE w.{t} SET b = REPEAT('y', 5 + a * 13), a = a + 1 WHERE id % 3 = {}",
            round % 3
        ))
        .unwrap();
        conn.query_drop(format!("DELETE FROM w.{t} WHERE id % 5 = {}", round % 5)).unwrap();
        conn.query_drop("BEGIN").unwrap();
        conn.query_drop(format!("UPDATE w.{t} SET a = a + 100 WHERE id % 2 = 0")).unwrap();
        conn.query_drop("ROLLBACK").unwrap();
    }
}

fn checkpoints_last_lsn(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("xtrabackup_checkpoints"))
        .or_else(|_| std::fs::read_to_string(dir.join("mariadb_backup_checkpoints")))
        .expect("the backup's checkpoints file");
    let line = text.lines().find(|l| l.starts_with("last_lsn")).expect("last_lsn");
    line.split('=').nth(1).unwrap().trim().parse().unwrap()
}

fn gz(path: &Path, bytes: &[u8]) {
    let f = std::fs::File::create(path).unwrap();
    let mut enc = flate2::write::GzEncoder::new(f, flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap();
}

#[test]
fn innohot_prepare_matches_mariabackup_prepare_page_for_page() {
    let Some(bins) = binaries_or_skip() else {
        return;
    };
    let server = ServerBuilder::new(bins.clone()).option("--innodb-page-size=4k").start().expect("start server");
    let mut conn = server.conn().unwrap();
    conn.query_drop("CREATE DATABASE w").unwrap();
    for (t, fmt) in [("d", "DYNAMIC"), ("r", "REDUNDANT")] {
        conn.query_drop(format!(
            "CREATE TABLE w.{t} (id INT PRIMARY KEY, a INT, b VARCHAR(300), KEY(a)) ENGINE=InnoDB ROW_FORMAT={fmt}"
        ))
        .unwrap();
    }
    for round in 0..3 {
        workload(&mut conn, round);
    }
    // Rounds 3 to 11 while mariabackup copies.
    let during = Writers::start(server.opts(), 1, |_| {
        |conn: &mut mysql::Conn, n: u64| {
            workload(conn, 3 + n as u32);
            Ok(3 + n + 1 < 12)
        }
    });
    let work = tempfile::Builder::new().prefix("innohot-prep-").tempdir().unwrap();
    let target = work.path().join("backup");
    mariabackup::backup(&server, &target, &work.path().join("backup.log")).expect("mariabackup --backup");
    during.wait();
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    copy_dir(&target, &a);
    copy_dir(&target, &b);
    mariabackup::prepare(&bins, &a, &work.path().join("prepare.log")).expect("mariabackup --prepare");

    let log = std::fs::read(b.join("ib_logfile0")).unwrap();
    let last_lsn = checkpoints_last_lsn(&b);
    let before = load(&b);
    let mut mine = load(&b);
    let report = apply_log(&log, last_lsn, &mut mine).expect("innohot applies the backup's log");
    eprintln!(
        "mtrs {} records {} extended {} already {} pages {} trimmed {:?}",
        report.mtrs,
        report.records_applied,
        report.extended_applied,
        report.records_already_in_page,
        report.pages_touched.len(),
        report.trimmed
    );
    let theirs = load(&a);
    let mut differing = Vec::new();
    for (space, (path, data)) in &mine.0 {
        let other = &theirs.0[space].1;
        if data.len() != other.len() {
            eprintln!("{}: {} bytes here, {} after mariabackup", path.display(), data.len(), other.len());
        }
        for (n, (x, y)) in data.chunks(PAGE).zip(other.chunks(PAGE)).enumerate() {
            if x != y {
                let first = x.iter().zip(y).position(|(p, q)| p != q).unwrap();
                let kind = u16::from_be_bytes([y[24], y[25]]);
                let freed = report.pages_freed.contains(&(*space, n as u32));
                eprintln!("DIFF {space}:{n} type {kind} first byte {first} freed {freed}");
                differing.push((*space, n as u32, freed));
            }
        }
    }
    assert!(report.extended_applied > 0, "the workload's EXTENDED records must be in the backup's log");
    let unexplained: Vec<_> = differing.iter().filter(|d| !d.2).collect();
    if std::env::var_os("INNOHOT_WRITE_FIXTURES").is_some() {
        write_fixture(&log, last_lsn, &before, &theirs, &report.pages_touched, &differing);
    }
    assert!(unexplained.is_empty(), "pages differing from mariabackup's prepare: {unexplained:?}");
}

fn write_fixture(
    log: &[u8],
    last_lsn: u64,
    before: &Files,
    after: &Files,
    touched: &[(u32, u32)],
    diff: &[(u32, u32, bool)],
) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../engine/tests/data/mariadb1011");
    std::fs::create_dir_all(&dir).unwrap();
    let mut pages: Vec<(u32, u32)> = touched.to_vec();
    pages.extend(diff.iter().map(|d| (d.0, d.1)));
    pages.extend(before.0.keys().map(|s| (*s, 0)));
    pages.sort_unstable();
    pages.dedup();
    let (mut b, mut a) = (Vec::new(), Vec::new());
    for (space, page) in pages {
        let at = page as usize * PAGE..(page as usize + 1) * PAGE;
        let (Some(x), Some(y)) = (before.0[&space].1.get(at.clone()), after.0[&space].1.get(at)) else { continue };
        for (out, bytes) in [(&mut b, x), (&mut a, y)] {
            out.extend_from_slice(&space.to_be_bytes());
            out.extend_from_slice(&page.to_be_bytes());
            out.extend_from_slice(bytes);
        }
    }
    gz(&dir.join("prepare_ib_logfile0.gz"), log);
    gz(&dir.join("prepare_before.gz"), &b);
    gz(&dir.join("prepare_after.gz"), &a);
    std::fs::write(dir.join("prepare_last_lsn"), format!("{last_lsn}\n")).unwrap();
}

// ---------------------------------------------------------------------------
// Every table kind, DDL during the backup, 4k and 64k pages: `innohot backup`
// while writers and DDL run, one copy prepared by `mariabackup --prepare`, one by
// `innohot prepare` (the on-disk one, `restore::prepare`), then every page of
// every tablespace compared, and servers started on both compared.
//
// Classes of difference (each counted, anything else fails the test):
// - "freed": a page whose last redo record is FREE_PAGE. Both now leave it as
//   the copy had it (recovery neither reads nor writes it), so this class is
//   not expected any more; it is kept as a named class, its contents no longer
//   matter to the server (the extent descriptor says free).
// - "page_compressed: the same page, another inner CRC field": both compress
//   a PAGE_COMPRESSED page the redo changed again (with zlib, the same frame),
//   but the full_crc32 CRC field at the end of the inflated page is never
//   rewritten for a compressed page: the server keeps what its buffer held,
//   innohot what it read. Both sides inflated must be byte-identical but for
//   those 4 bytes. ("page_compressed written uncompressed" is the same with an
//   algorithm innohot cannot write: lzo, lzma, bzip2.)
// ---------------------------------------------------------------------------

use innohot::io::local::RealLocalFs;
use innohot::restore::prepare::prepare as innohot_prepare;
#[path = "common/prepared_pages.rs"]
mod prepared_pages;
use prepared_pages::compare_prepared;

/// Tables of each kind: (name, options). ROW_FORMAT=COMPRESSED needs pages of 16k or less.
fn kinds(page_size: usize) -> Vec<(&'static str, &'static str)> {
    let mut t = vec![
        ("dyn", "ROW_FORMAT=DYNAMIC"),
        ("red", "ROW_FORMAT=REDUNDANT"),
        ("pc", "ROW_FORMAT=DYNAMIC PAGE_COMPRESSED=1"),
    ];
    if page_size <= 16384 {
        t.push(("zip", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=2"));
        t.push(("zip4", "ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4"));
    }
    t
}

fn kinds_round(conn: &mut mysql::Conn, tables: &[(&str, &str)], round: u32) {
    for (t, _) in tables {
        for i in 0..30 {
            let id = round * 1000 + i;
            conn.query_drop(format!(
                "INSERT INTO k.{t} VALUES ({id}, {}, REPEAT(CHAR(97 + {id} % 26), {}))",
                id % 7,
                20 + id % 200
            ))
            .unwrap();
        }
        conn.query_drop(format!(
            "UPDATE k.{t} SET b = REPEAT('y', 5 + a * 13), a = a + 1 WHERE id % 3 = {}",
            round % 3
        ))
        .unwrap();
        conn.query_drop(format!("DELETE FROM k.{t} WHERE id % 5 = {}", round % 5)).unwrap();
    }
}

/// CREATE, INSERT, RENAME, TRUNCATE, ALTER (rebuild), and DROP of the previous round's table.
fn ddl_round(conn: &mut mysql::Conn, round: u32) {
    let t = format!("k.ddl_{round}");
    for sql in [
        format!("CREATE TABLE {t} (id INT PRIMARY KEY, b VARCHAR(100)) ENGINE=InnoDB"),
        format!("INSERT INTO {t} SELECT seq, REPEAT('d', seq % 90) FROM k.seq_1_to_200"),
        format!("RENAME TABLE {t} TO {t}_r"),
        format!("TRUNCATE TABLE {t}_r"),
        format!("INSERT INTO {t}_r SELECT seq, 'again' FROM k.seq_1_to_50"),
        format!("ALTER TABLE {t}_r FORCE"),
        format!("ALTER TABLE {t}_r ADD COLUMN c INT DEFAULT 7"),
    ] {
        conn.query_drop(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    if round > 0 {
        conn.query_drop(format!("DROP TABLE k.ddl_{}_r", round - 1)).unwrap();
    }
}

/// CHECKSUM TABLE ... EXTENDED of every table, and CHECK TABLE ... EXTENDED of the `k` tables (all "OK").
fn server_view(server: &innohot_testbeds::LocalServer) -> BTreeMap<String, u64> {
    let mut conn = server.conn().unwrap();
    let tables: Vec<String> =
        conn.query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'k' ORDER BY 1").unwrap();
    assert!(!tables.is_empty());
    let names: Vec<String> = tables.iter().map(|t| format!("k.{t}")).collect();
    let bad = check_tables(&mut conn, &names).unwrap();
    assert!(bad.is_empty(), "CHECK TABLE ... EXTENDED:\n{bad}");
    innohot_testbeds::all_table_checksums(&mut conn).unwrap()
}

fn every_kind_under_writes_and_ddl(page_size: &str, bytes: usize) {
    let Some(bins) = binaries_or_skip() else {
        return;
    };
    let page_opt = format!("--innodb-page-size={page_size}");
    let server = ServerBuilder::new(bins.clone()).option(page_opt.as_str()).start().expect("start server");
    let tables = kinds(bytes);
    let mut conn = server.conn().unwrap();
    conn.query_drop("CREATE DATABASE k").unwrap();
    for (t, opts) in &tables {
        conn.query_drop(format!(
            "CREATE TABLE k.{t} (id INT PRIMARY KEY, a INT, b VARCHAR(300), KEY(a)) ENGINE=InnoDB {opts}"
        ))
        .unwrap();
    }
    for round in 0..3 {
        kinds_round(&mut conn, &tables, round);
    }
    // Write rounds from 3 on (at least up to 11) and DDL rounds (at least 4)
    // until the backup is done.
    let writer = Writers::start_at_least(server.opts(), 1, 9, |_| {
        let tables = tables.clone();
        move |conn: &mut mysql::Conn, n: u64| {
            kinds_round(conn, &tables, 3 + n as u32);
            Ok(true)
        }
    });
    let ddl = Writers::start_at_least(server.opts(), 1, 4, |_| {
        |conn: &mut mysql::Conn, n: u64| {
            ddl_round(conn, n as u32);
            Ok(true)
        }
    });
    let work = tempfile::Builder::new().prefix("innohot-kinds-").tempdir().unwrap();
    let target = work.path().join("backup");
    let run = innohot!().backup(&server, &target, &[]);
    let (rounds, ddl_rounds) = (3 + writer.stop(), ddl.stop());
    run.assert_backup_completed(&target, BackupKind::Full);
    eprintln!("{rounds} write rounds, {ddl_rounds} DDL rounds during the backup");
    let (a, b) = (work.path().join("a"), work.path().join("b"));
    copy_dir(&target, &a);
    copy_dir(&target, &b);
    mariabackup::prepare(&bins, &a, &work.path().join("prepare.log")).expect("mariabackup --prepare");
    let report = innohot_prepare(&RealLocalFs, &b).expect("innohot prepare");
    eprintln!("{report:?}");
    assert!(report.records_applied > 0);
    let (classes, unexplained) = compare_prepared(&target, &a, &b, &report.pages_freed);
    eprintln!("page classes: {classes:?}");
    assert!(unexplained.is_empty(), "pages differing from mariabackup's prepare:\n{}", unexplained.join("\n"));
    assert!(classes.get("changed: page_compressed").is_some_and(|&n| n > 0), "no PAGE_COMPRESSED page was changed");
    if bytes <= 16384 {
        assert!(classes.get("changed: zip").is_some_and(|&n| n > 0), "no ROW_FORMAT=COMPRESSED page was changed");
    }
    // Servers on both copies read the same rows, and CHECK TABLE ... EXTENDED passes on each.
    let (da, db) = (work.path().join("da"), work.path().join("db"));
    mariabackup::copy_back(&bins, &a, &da, &work.path().join("copy-back.log")).expect("mariabackup --copy-back");
    innohot!().copy_back(&b, &db).assert_ok("innohot copy-back");
    drop(server);
    let theirs = {
        let s = ServerBuilder::new(bins.clone()).option(page_opt.as_str()).start_on(&da).expect("server on A");
        server_view(&s)
    };
    let mine = {
        let s = ServerBuilder::new(bins).option(page_opt.as_str()).start_on(&db).expect("server on B");
        server_view(&s)
    };
    assert!(mine == theirs, "{}", innohot_testbeds::roundtrip::checksum_diff(&theirs, &mine));
}

#[test]
fn every_table_kind_under_writes_and_ddl_4k_pages_matches_mariabackup() {
    every_kind_under_writes_and_ddl("4k", 4096);
}

#[test]
fn every_table_kind_under_writes_and_ddl_64k_pages_matches_mariabackup() {
    every_kind_under_writes_and_ddl("64k", 65536);
}
