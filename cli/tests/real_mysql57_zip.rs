//! The frame `page_zip::decompress` builds is the one MySQL 5.7 builds: a
//! real 5.7 server writes ROW_FORMAT=COMPRESSED tables (KEY_BLOCK_SIZE 1 to
//! 16, and an R-tree on KEY_BLOCK_SIZE=4; deletes and updates after the
//! pages were compressed, so that pages
//! carry modification logs, delete-marked and free-list records, BLOBs
//! stored externally), shuts down slowly, and every compressed index page of
//! those tablespaces is replaced by compress(decompress(page)) with its
//! checksum restamped (an empty modification log: everything the server had
//! logged is now inside our zlib stream and uncompressed trailer). Started
//! again, the server must give the same CHECKSUM TABLE ... EXTENDED and pass
//! CHECK TABLE ... EXTENDED, also after writing to the rewritten pages and
//! after crash recovery of those writes. Page sizes 16k, 8k and 4k.
//!
//! The server comes from INNOHOT_MYSQL57_TARBALL / _BASEDIR (see
//! innohot_testbeds::mysql57; XtraBackup is not needed); without it the tests
//! print why they skip.

use innohot::format::mysql57::page_zip::{compress, decompress_full};
use innohot::format::page::{stamp_for_mysql57, PageLayout};
use innohot_testbeds::{check_tables_extended, mysql57_server_or_skip, table_checksums, ServerBuilder};
use mysql::prelude::Queryable;
use std::path::Path;

const KEY_BLOCK_SIZES: &[usize] = &[1, 2, 4, 8, 16];

fn blob() -> String {
    format!("CONCAT({})", ["RANDOM_BYTES(1024)"; 9].join(", "))
}

/// Creates and fills zip.t<kbs>, then changes it so that its pages carry
/// modification logs.
fn fill(conn: &mut mysql::Conn, kbs: usize, rows: usize) {
    let t = format!("zip.t{kbs}");
    conn.query_drop(format!(
        "CREATE TABLE {t} (id INT NOT NULL PRIMARY KEY, a INT NULL, c CHAR(6) NOT NULL, \
         v VARCHAR(300) NULL, b BLOB NULL, KEY ka (a), KEY kv (v(24), c)) \
         ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE={kbs}"
    ))
    .unwrap();
    for chunk in (1..=rows).collect::<Vec<_>>().chunks(50) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                let b = if i % 61 == 0 { blob() } else { format!("IF({i} % 5 = 0, NULL, MD5({i} * 5))") };
                format!(
                    "({i}, IF({i} % 9 = 0, NULL, {i} * 7 % 1000), LPAD({i}, 6, 'x'), \
                     CONCAT(MD5({i}), REPEAT(MD5({i} * 3), {i} % 4)), {b})"
                )
            })
            .collect();
        conn.query_drop(format!("INSERT INTO {t} VALUES {}", values.join(", "))).unwrap();
    }
    for sql in [
        format!("DELETE FROM {t} WHERE id % 7 = 3"),
        format!("UPDATE {t} SET v = CONCAT(v, 'updated') WHERE id % 11 = 2"),
        format!("UPDATE {t} SET a = NULL, v = LEFT(v, 10) WHERE id % 13 = 4"),
        format!("INSERT INTO {t} SELECT id + 100000, a, c, v, NULL FROM {t} WHERE id % 17 = 1"),
        format!("DELETE FROM {t} WHERE id % 23 = 5"),
    ] {
        conn.query_drop(&sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
}

/// An R-tree (SPATIAL index) on a compressed table: zip.g, KEY_BLOCK_SIZE=4.
fn fill_spatial(conn: &mut mysql::Conn, rows: usize) {
    conn.query_drop(
        "CREATE TABLE zip.g (id INT NOT NULL PRIMARY KEY, g GEOMETRY NOT NULL, SPATIAL KEY sg (g)) \
         ENGINE=InnoDB ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=4",
    )
    .unwrap();
    for chunk in (1..=rows).collect::<Vec<_>>().chunks(100) {
        let values: Vec<String> =
            chunk.iter().map(|i| format!("({i}, ST_GeomFromText('POINT({} {})'))", i % 97, i / 97)).collect();
        conn.query_drop(format!("INSERT INTO zip.g VALUES {}", values.join(", "))).unwrap();
    }
    conn.query_drop("DELETE FROM zip.g WHERE id % 7 = 2").unwrap();
    conn.query_drop("UPDATE zip.g SET g = ST_GeomFromText(CONCAT('POINT(', id % 13, ' 5)')) WHERE id % 11 = 3")
        .unwrap();
}

#[derive(Default, Debug)]
struct Rewrite {
    index_pages: usize,
    with_mlog: usize,
    rewritten: usize,
    kept: usize,
}

/// Replaces every compressed index page of `file` by compress(decompress(page)).
fn rewrite(file: &Path, zip_size: usize, logical: usize, r: &mut Rewrite) {
    let mut data = std::fs::read(file).unwrap();
    for (no, page) in data.chunks_exact_mut(zip_size).enumerate() {
        if !matches!(u16::from_be_bytes([page[24], page[25]]), 17855 | 17854) {
            continue;
        }
        r.index_pages += 1;
        let u = decompress_full(page, logical).unwrap_or_else(|e| panic!("{} page {no}: {e}", file.display()));
        r.with_mlog += usize::from(u.mlog_nonempty());
        let z = [6, 9].into_iter().find_map(|level| compress(&u.frame, &u.index, zip_size, level).unwrap());
        let Some(mut z) = z else {
            r.kept += 1;
            continue;
        };
        stamp_for_mysql57(&mut z, PageLayout::row_compressed(zip_size, logical), "crc32").unwrap();
        page.copy_from_slice(&z);
        r.rewritten += 1;
    }
    std::fs::write(file, &data).unwrap();
}

fn run(page_size: usize, rows: usize) {
    let Some(b) = mysql57_server_or_skip() else { return };
    let mut builder = ServerBuilder::new(b).option("--innodb-file-per-table=1");
    if page_size != 16384 {
        builder = builder.option(format!("--innodb-page-size={}", page_size));
    }
    let mut server = builder.start().expect("start MySQL 5.7");
    let mut conn = server.conn().unwrap();
    conn.query_drop("CREATE DATABASE zip").unwrap();
    let sizes: Vec<usize> = KEY_BLOCK_SIZES.iter().copied().filter(|k| k * 1024 <= page_size).collect();
    for &kbs in &sizes {
        fill(&mut conn, kbs, rows);
    }
    if page_size == 16384 {
        fill_spatial(&mut conn, rows * 4);
    }
    let before = table_checksums(&mut conn).unwrap();
    conn.query_drop("SET GLOBAL innodb_fast_shutdown=0").unwrap();
    drop(conn);
    server.stop().expect("slow shutdown");
    let mut r = Rewrite::default();
    for &kbs in &sizes {
        rewrite(&server.datadir().join(format!("zip/t{kbs}.ibd")), kbs * 1024, page_size, &mut r);
    }
    if page_size == 16384 {
        rewrite(&server.datadir().join("zip/g.ibd"), 4096, page_size, &mut r);
    }
    eprintln!("page size {page_size}: {r:?}");
    assert!(r.with_mlog >= 20, "only {} pages carried a modification log", r.with_mlog);
    assert!(r.kept * 20 <= r.index_pages, "{r:?}: too many pages not rewritten");
    server.restart().expect("start MySQL 5.7 on the rewritten tablespaces");
    let mut conn = server.conn().unwrap();
    let after = table_checksums(&mut conn).unwrap();
    let zip_tables = before.keys().filter(|k| k.starts_with("zip.")).count();
    assert_eq!(zip_tables, sizes.len() + usize::from(page_size == 16384), "{before:?}");
    assert_eq!(before, after, "checksums changed by the rewrite");
    let bad = check_tables_extended(&mut conn).unwrap();
    assert!(bad.is_empty(), "CHECK TABLE ... EXTENDED after the rewrite:\n{bad}");
    for &kbs in &sizes {
        conn.query_drop(format!("UPDATE zip.t{kbs} SET v = CONCAT('w', v) WHERE id % 5 = 1")).unwrap();
        conn.query_drop(format!("DELETE FROM zip.t{kbs} WHERE id % 19 = 7")).unwrap();
    }
    let bad = check_tables_extended(&mut conn).unwrap();
    assert!(bad.is_empty(), "CHECK TABLE ... EXTENDED after writing to the rewritten pages:\n{bad}");
    // Crash recovery applies the redo of those writes to the rewritten pages.
    let written = table_checksums(&mut conn).unwrap();
    drop(conn);
    server.kill();
    server.restart().expect("crash recovery on the rewritten tablespaces");
    let mut conn = server.conn().unwrap();
    assert_eq!(written, table_checksums(&mut conn).unwrap(), "checksums changed by crash recovery");
    let bad = check_tables_extended(&mut conn).unwrap();
    assert!(bad.is_empty(), "CHECK TABLE ... EXTENDED after crash recovery:\n{bad}");
    let log = server.error_log_tail(100_000);
    let complaints: Vec<&str> =
        log.lines().filter(|l| l.contains("[ERROR]") || l.to_lowercase().contains("corrupt")).collect();
    assert!(complaints.is_empty(), "the server complained:\n{}", complaints.join("\n"));
}

#[test]
fn mysql57_reads_recompressed_pages_16k() {
    run(16384, 500);
}

#[test]
fn mysql57_reads_recompressed_pages_8k() {
    run(8192, 400);
}

#[test]
fn mysql57_reads_recompressed_pages_4k() {
    run(4096, 300);
}
