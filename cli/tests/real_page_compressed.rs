//! Issue 24: PAGE_COMPRESSED tables stay compressed and sparse through innohot's
//! backup, prepare, copy-back and move-back. Tables of three kinds (full_crc32 with zlib, full_crc32
//! with lz4, the legacy crc32 layout with zlib) are rewritten whole while the
//! backup waits before its lock, so the prepare applies redo to every page. The
//! backup's copies are sparse as the source's files are; the files restored by
//! copy-back and by move-back take at most 110 % of the source's disk blocks
//! (the source shut down cleanly, every page flushed compressed) and hold the
//! same bytes; every table checks and has the source's checksum.
#![allow(clippy::disallowed_methods)] // a test reads files and runs programs directly

use innohot_testbeds::roundtrip::{assert_same_checksums, flush_dirty_pages};
use innohot_testbeds::{
    binaries_or_skip, check_tables_extended, checksums_of, innohot, BackupKind, LocalServer, ServerBuilder,
};
use mysql::prelude::Queryable;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// (table, how it is made): the statements before its CREATE TABLE set the
/// algorithm (part of a full_crc32 tablespace's flags) or the layout.
const TABLES: &[(&str, &str)] = &[
    ("pc_zlib", "SET GLOBAL innodb_compression_algorithm = zlib"),
    ("pc_lz4", "SET GLOBAL innodb_compression_algorithm = lz4"),
    ("pc_legacy", "SET GLOBAL innodb_checksum_algorithm = crc32"),
];

/// Disk blocks (512 bytes) and apparent length of `path`.
fn usage(path: &Path) -> (u64, u64) {
    let m = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (m.blocks(), m.len())
}

/// Asserts `file` takes less than half its length on disk, as the server's own
/// PAGE_COMPRESSED files of these tables do: its compressed pages' tails are holes.
fn assert_sparse(file: &Path, what: &str) {
    let (blocks, len) = usage(file);
    eprintln!("{what} {}: {} KiB on disk, {} KiB long", file.display(), blocks / 2, len / 1024);
    assert!(
        blocks * 2 < len / 512,
        "{what} {} is not sparse: {} KiB on disk for {} KiB",
        file.display(),
        blocks / 2,
        len / 1024
    );
}

/// Asserts each table's file under `datadir` takes at most 110 % of the source's disk blocks.
fn assert_blocks_near_source(src: &LocalServer, datadir: &Path, how: &str) {
    for (t, _) in TABLES {
        let (src_blocks, src_len) = usage(&src.datadir().join(format!("pc/{t}.ibd")));
        let (got_blocks, got_len) = usage(&datadir.join(format!("pc/{t}.ibd")));
        let ratio = got_blocks as f64 / src_blocks as f64;
        eprintln!(
            "pc.{t}: source {} KiB on disk ({} KiB long), {how} {} KiB ({} KiB long): {ratio:.3}",
            src_blocks / 2,
            src_len / 1024,
            got_blocks / 2,
            got_len / 1024
        );
        assert!(src_blocks * 2 < src_len / 512, "pc.{t}: the source's file is not compressed and sparse");
        assert!(ratio <= 1.10, "pc.{t}: the file {how} takes {ratio:.3}x the source's disk blocks");
    }
}

fn make_tables(src: &LocalServer) {
    let mut c = src.conn().unwrap();
    c.query_drop("CREATE DATABASE pc").unwrap();
    for (t, setup) in TABLES {
        c.query_drop(*setup).unwrap();
        c.query_drop(format!(
            "CREATE TABLE pc.{t} (id INT PRIMARY KEY, k INT, v VARCHAR(400), KEY(k)) PAGE_COMPRESSED=1"
        ))
        .unwrap();
        c.query_drop("SET GLOBAL innodb_compression_algorithm = zlib, GLOBAL innodb_checksum_algorithm = full_crc32")
            .unwrap();
        c.query_drop(format!(
            "INSERT INTO pc.{t} SELECT seq, seq % 97, CONCAT('row ', seq, ' ', REPEAT(CHAR(97 + seq % 26), 50 + seq % 300)) \
             FROM pc.seq_1_to_20000"
        ))
        .unwrap();
    }
    flush_dirty_pages(&mut c, Duration::from_secs(120)).expect("write every dirty page");
}

/// How long the backup waits before its lock: the rewrite and its purge fit in it.
const PAUSE: Duration = Duration::from_secs(12);

/// `innohot backup` that, paused before its lock, rewrites every row of every
/// table and lets purge finish (which frees pages, holes on the source): the
/// redo, not the copied pages, holds the tables' last state, and the source
/// changes no page after the backup.
fn backup_rewriting_every_row(src: &LocalServer, target: &Path) {
    let run = innohot!().backup_pausing(src, target, PAUSE.as_millis() as u64, &[], || {
        let t0 = Instant::now();
        let mut c = src.conn().unwrap();
        for (t, _) in TABLES {
            c.query_drop(format!("UPDATE pc.{t} SET k = k + 1, v = CONCAT('updated ', v)")).unwrap();
        }
        let history = "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'";
        while c.query_first::<u64, _>(history).unwrap() != Some(0) {
            assert!(t0.elapsed() < PAUSE, "purge did not finish within the backup's pause");
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(t0.elapsed() < PAUSE, "the rewrite took longer than the backup's pause: {:?}", t0.elapsed());
        eprintln!("rewrite and purge: {:.1} s", t0.elapsed().as_secs_f64());
    });
    run.assert_backup_completed(target, BackupKind::Full);
}

#[test]
fn page_compressed_tables_restore_compressed_and_sparse() {
    let Some(b) = binaries_or_skip() else { return };
    let mut src = ServerBuilder::new(b.clone()).option("--plugin-load-add=provider_lz4").start().expect("start");
    make_tables(&src);
    let work = tempfile::tempdir().unwrap();
    let (target, datadir) = (work.path().join("backup"), work.path().join("restored"));
    backup_rewriting_every_row(&src, &target);
    for (t, _) in TABLES {
        assert_sparse(&target.join(format!("pc/{t}.ibd")), "the backup's copy");
    }
    let want = checksums_of(&src);
    src.stop().expect("a clean shutdown flushes every page, compressed");

    let prepare = innohot!().prepare(&target, &["--json"]);
    let out = &prepare.assert_ok("innohot prepare").stdout;
    let json = out.lines().rev().find(|l| l.starts_with('{')).unwrap_or_else(|| panic!("no JSON in:\n{out}"));
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    let compressed = report["pages_compressed"].as_u64().unwrap_or_else(|| panic!("{json}"));
    let written = report["pages_written"].as_u64().unwrap();
    eprintln!("prepare: {written} pages written, {compressed} compressed again");
    assert!(compressed > 1000, "{json}");
    innohot!().copy_back(&target, &datadir).assert_ok("innohot copy-back");
    assert_blocks_near_source(&src, &datadir, "restored by copy-back");
    // move-back renames the prepared backup's files: prepare must have left them sparse.
    let moved = work.path().join("moved");
    innohot!()
        .run([
            "move-back".to_string(),
            format!("--target-dir={}", target.display()),
            format!("--datadir={}", moved.display()),
        ])
        .assert_ok("innohot move-back");
    assert_blocks_near_source(&src, &moved, "restored by move-back");
    for (t, _) in TABLES {
        let rel = format!("pc/{t}.ibd");
        assert!(
            std::fs::read(datadir.join(&rel)).unwrap() == std::fs::read(moved.join(&rel)).unwrap(),
            "{rel}: copy-back and move-back differ"
        );
    }
    let restored = src.builder().start_on(&datadir).expect("start a server on the restored datadir");
    let bad = check_tables_extended(&mut restored.conn().unwrap()).unwrap();
    assert!(bad.is_empty(), "CHECK TABLE ... EXTENDED on the restored datadir:\n{bad}");
    assert_same_checksums(&want, &checksums_of(&restored), "innohot's restore");
}
