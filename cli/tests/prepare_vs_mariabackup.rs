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

use innohot::prepare::mariadb::{apply_log, PageStore};
use innohot_testbeds::{binaries_or_skip, mariabackup, ServerBuilder};
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
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
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
    let opts = server.opts();
    let during = std::thread::spawn(move || {
        let mut conn = mysql::Conn::new(opts).unwrap();
        for round in 3..12 {
            workload(&mut conn, round);
        }
    });
    let work = tempfile::Builder::new().prefix("innohot-prep-").tempdir().unwrap();
    let target = work.path().join("backup");
    mariabackup::backup(&server, &target, &work.path().join("backup.log")).expect("mariabackup --backup");
    during.join().unwrap();
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
