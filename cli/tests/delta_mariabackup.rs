//! innohot's delta format (`engine/src/format/delta.rs`) against the real
//! thing: a MariaDB 10.11 server with a 16 KiB-page table, a
//! ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8 table and a table large enough
//! that its delta needs two blocks; `mariabackup --backup`, some rows
//! changed, `mariabackup --backup --incremental-basedir=`. Then every
//! `NAME.delta` of the incremental is decoded by innohot: its `NAME.meta`
//! parses and is what innohot writes for that tablespace byte for byte,
//! every page decodes, innohot's encoder writes the decoded pages back to
//! mariabackup's bytes exactly, every page passes innohot's page
//! validation, and every page's LSN is above the incremental's `from_lsn`
//! (mariabackup's rule; innohot's selection also takes LSN == from_lsn).

use std::path::{Path, PathBuf};
use std::time::Duration;

use innohot::format::delta::{self, DeltaMeta};
use innohot::format::page::{fil_header, layout_from_page0, validate_page};
use innohot_testbeds::{binaries_or_skip, mariabackup, roundtrip, tree, LocalServer, ServerBuilder};
use mysql::prelude::Queryable;

/// Creates and fills the tables, then has every dirty page written so that
/// a checkpoint passes their creation: otherwise the incremental's redo
/// still holds the CREATE TABLEs and mariabackup copies the tables whole
/// (`db/t.new`) instead of as deltas.
fn make_tables(server: &LocalServer) {
    let mut c = server.conn().unwrap();
    for sql in [
        "CREATE DATABASE d",
        "CREATE TABLE d.t16 (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB",
        "CREATE TABLE d.tz (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(200)) ENGINE=InnoDB \
         ROW_FORMAT=COMPRESSED KEY_BLOCK_SIZE=8",
        "CREATE TABLE d.big (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(2000)) ENGINE=InnoDB",
        "INSERT INTO d.t16 (v) SELECT REPEAT('a', seq % 200) FROM d.seq_1_to_5000",
        "INSERT INTO d.tz (v) SELECT REPEAT(CONCAT('b', seq), 20) FROM d.seq_1_to_5000",
        // About 10 rows a page: some 6000 pages, more than one block's 4095.
        "INSERT INTO d.big (v) SELECT REPEAT('c', 1500) FROM d.seq_1_to_60000",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    roundtrip::flush_dirty_pages(&mut c, Duration::from_secs(120)).unwrap();
}

/// Changes rows on (nearly) every page of `big` and on some pages of the
/// others, and has the pages written, so the incremental reads them changed.
fn change_rows(server: &LocalServer) {
    let mut c = server.conn().unwrap();
    for sql in [
        "UPDATE d.t16 SET v = 'changed' WHERE id % 50 = 0",
        "UPDATE d.tz SET v = 'changed' WHERE id % 70 = 0",
        "UPDATE d.big SET v = REPEAT('d', 1500) WHERE id % 3 = 0",
    ] {
        c.query_drop(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    roundtrip::flush_dirty_pages(&mut c, Duration::from_secs(120)).unwrap();
}

/// `from_lsn` of a backup's `xtrabackup_checkpoints`.
fn from_lsn(backup: &Path) -> u64 {
    let text = std::fs::read_to_string(backup.join("xtrabackup_checkpoints")).unwrap();
    let line = text.lines().find_map(|l| l.strip_prefix("from_lsn = ")).expect("a from_lsn line");
    line.trim().parse().unwrap()
}

/// What one delta held, for the checks across deltas.
struct Checked {
    name: String,
    meta: DeltaMeta,
    pages: usize,
}

/// Every check on one `NAME.delta` of the incremental `inc` whose base is `full`.
fn check_delta(inc: &Path, full: &Path, delta_path: &Path, from: u64) -> Checked {
    let name = delta_path.strip_prefix(inc).unwrap().display().to_string();
    let base_name = name.strip_suffix(delta::DELTA_SUFFIX).unwrap().to_string();
    let meta_text = std::fs::read_to_string(inc.join(format!("{base_name}{}", delta::META_SUFFIX)))
        .unwrap_or_else(|e| panic!("{name}: its meta: {e}"));
    let meta = delta::parse_meta(&meta_text).unwrap_or_else(|e| panic!("{name}: {e}"));

    let base = std::fs::read(full.join(&base_name)).unwrap_or_else(|e| panic!("{base_name} in the base: {e}"));
    let layout = layout_from_page0(&base).unwrap();
    assert_eq!(DeltaMeta::for_layout(layout, meta.space_id), meta, "{name}: the meta against the base's page 0");
    assert_eq!(delta::encode_meta(&meta), meta_text, "{name}: innohot writes mariabackup's meta byte for byte");

    let bytes = std::fs::read(delta_path).unwrap();
    let pages = delta::decode(meta.page_size, &bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = delta::encode(meta.page_size, &pages).unwrap();
    assert!(again == bytes, "{name}: innohot's encoding of the decoded pages differs from mariabackup's file");
    for p in &pages {
        if let Err(e) = validate_page(p.page, meta.space_id, p.page_no, layout) {
            panic!("{name}: page {}: {e}", p.page_no);
        }
        let lsn = fil_header(p.page).unwrap().lsn;
        assert!(lsn > from, "{name}: page {} has LSN {lsn}, not above from_lsn {from}", p.page_no);
    }
    Checked { name, meta, pages: pages.len() }
}

#[test]
fn innohot_reads_and_rewrites_mariabackups_deltas_byte_for_byte() {
    let Some(b) = binaries_or_skip() else { return };
    let server = ServerBuilder::new(b).start().expect("start the server");
    make_tables(&server);
    let dir = tempfile::tempdir().unwrap();
    let (full, inc) = (dir.path().join("full"), dir.path().join("inc"));
    mariabackup::backup(&server, &full, &dir.path().join("full.log")).unwrap();
    change_rows(&server);
    mariabackup::backup_incremental(&server, &inc, &full, &dir.path().join("inc.log")).unwrap();

    let from = from_lsn(&inc);
    let deltas: Vec<PathBuf> =
        tree::regular_files(&inc).into_iter().filter(|p| p.to_string_lossy().ends_with(delta::DELTA_SUFFIX)).collect();
    let checked: Vec<Checked> = deltas.iter().map(|p| check_delta(&inc, &full, p, from)).collect();
    for c in &checked {
        eprintln!("{}: {} pages of {} bytes, space {}", c.name, c.pages, c.meta.page_size, c.meta.space_id);
    }
    let find = |n: &str| checked.iter().find(|c| c.name == n).unwrap_or_else(|| panic!("no {n} in the incremental"));
    assert_eq!((find("d/t16.ibd.delta").meta.page_size, find("d/t16.ibd.delta").meta.zip_size), (16384, 0));
    let tz = find("d/tz.ibd.delta");
    assert_eq!((tz.meta.page_size, tz.meta.zip_size), (8192, 8192), "a compressed table's pages are 8 KiB");
    assert!(tz.pages > 0 && find("d/t16.ibd.delta").pages > 0, "the changed tables have changed pages");
    let big = find("d/big.ibd.delta");
    assert!(big.pages > delta::pages_per_block(16384), "{} pages: the delta of big has one block", big.pages);
    assert!(checked.iter().any(|c| c.name == "ibdata1.delta"), "the system tablespace has a delta");
}
