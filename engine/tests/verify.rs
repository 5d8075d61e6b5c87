//! `verify::verify` on a backup directory made of the real MariaDB 10.11
//! tablespaces in `tests/fixtures/mariadb/` (every page size, crc32 and
//! full_crc32, ROW_FORMAT=COMPRESSED 1k-16k, PAGE_COMPRESSED with each
//! algorithm): clean it passes; one flipped byte in any of them is named.
#![allow(clippy::disallowed_methods)] // tests build their directories directly

use innohot::format::mariadb;
use innohot::io::real::RealSourceFs;
use innohot::verify::verify;
use std::path::{Path, PathBuf};

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mariadb");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "ibd"))
        .filter(|p| !p.file_name().unwrap().to_string_lossy().starts_with("encrypted"))
        .collect();
    out.sort();
    out
}

/// A complete-looking MariaDB backup holding every fixture as fx/NAME.ibd (and one as ibdata1).
fn backup_of_fixtures(root: &Path) {
    std::fs::write(
        root.join("xtrabackup_checkpoints"),
        "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 100000\nlast_lsn = 100000\n",
    )
    .unwrap();
    std::fs::write(root.join("xtrabackup_info"), "innodb_to_lsn = 100000\n").unwrap();
    std::fs::write(root.join("backup-my.cnf"), "[mysqld]\ninnodb_page_size=16384\n").unwrap();
    // A redo copy that starts and ends at the checkpoint: a header and room after it.
    let cp = mariadb::Checkpoint { lsn: 100000, end_lsn: 100000 };
    let mut log = mariadb::backup_log_header(cp, "Backup 10.11.19");
    log.extend(vec![0u8; 4096]);
    std::fs::write(root.join("ib_logfile0"), log).unwrap();
    // The system tablespace innodb_data_file_path names by default (a 16k fixture stands in).
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mariadb/full_crc32_16k.ibd"),
        root.join("ibdata1"),
    )
    .unwrap();
    std::fs::create_dir(root.join("fx")).unwrap();
    for f in fixtures() {
        std::fs::copy(&f, root.join("fx").join(f.file_name().unwrap())).unwrap();
    }
}

#[test]
fn every_page_kind_verifies_and_a_flipped_byte_in_each_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    backup_of_fixtures(root);
    let clean = verify(&RealSourceFs, root).unwrap();
    assert!(clean.is_ok(), "{:#?}", clean.problems);
    assert_eq!(clean.tablespaces as usize, fixtures().len() + 1, "the fixtures and ibdata1");
    assert!(clean.pages > 100, "{clean:?}");
    let mut reports = String::new();
    for f in fixtures() {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        let path = root.join("fx").join(&name);
        let original = std::fs::read(&path).unwrap();
        let page = original.len() / count_pages(&name);
        let mut bytes = original.clone();
        bytes[page + 100] ^= 0x20; // page 1, inside the header or the compressed payload
        std::fs::write(&path, &bytes).unwrap();
        let r = verify(&RealSourceFs, root).unwrap();
        let expected = format!("fx/{name}: page 1 is corrupt");
        assert!(r.problems.iter().any(|p| p.starts_with(&expected)), "{name}: {:#?}", r.problems);
        assert_eq!(r.problems.len(), 1, "{name}: {:#?}", r.problems);
        reports.push_str(&format!("{}\n", r.problems[0]));
        std::fs::write(&path, &original).unwrap();
    }
    assert!(verify(&RealSourceFs, root).unwrap().is_ok());
    // Each page kind's report, one line each: snapshots/verify_flipped_byte_each_page_kind.snap.
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(concat!(env!("CARGO_MANIFEST_DIR"), "/../snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("verify_flipped_byte_each_page_kind", reports));
}

/// A prepared backup (backup_type = log-applied): every page LSN at most the
/// applied LSN (last_lsn); one past it is named.
#[test]
fn a_prepared_backup_has_no_page_past_the_applied_lsn() {
    use innohot::format::page;
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    backup_of_fixtures(root);
    // The applied LSN: the largest page LSN of the fixtures, as if prepare had gone that far.
    let mut max_lsn = 0u64;
    for f in fixtures() {
        let bytes = std::fs::read(&f).unwrap();
        let layout = page::layout_from_page0(&bytes).unwrap();
        for p in bytes.chunks(layout.physical_size) {
            max_lsn = max_lsn.max(u64::from_be_bytes(p[16..24].try_into().unwrap()));
        }
    }
    let cp = mariadb::Checkpoint { lsn: max_lsn - 16, end_lsn: max_lsn - 16 };
    let mut log = mariadb::backup_log_header(cp, "Backup 10.11.19");
    let ring = mariadb::Ring::new(cp.lsn, 1 << 30).unwrap();
    log.extend(mariadb::encode_mtr(&[mariadb::Record::FileCheckpoint { lsn: cp.lsn }], cp.lsn, &ring).unwrap());
    std::fs::write(root.join("ib_logfile0"), log).unwrap();
    let checkpoints =
        |last: u64| format!("backup_type = log-applied\nfrom_lsn = 0\nto_lsn = {last}\nlast_lsn = {last}\n");
    std::fs::write(root.join("xtrabackup_checkpoints"), checkpoints(max_lsn)).unwrap();
    std::fs::write(root.join("xtrabackup_info"), format!("innodb_to_lsn = {max_lsn}\n")).unwrap();
    let r = verify(&RealSourceFs, root).unwrap();
    assert!(r.is_ok(), "{:#?}", r.problems);
    // Claim less was applied: the pages above it are named.
    let lower = max_lsn - 1;
    let cp = mariadb::Checkpoint { lsn: lower - 16, end_lsn: lower - 16 };
    let mut log = mariadb::backup_log_header(cp, "Backup 10.11.19");
    let ring = mariadb::Ring::new(cp.lsn, 1 << 30).unwrap();
    log.extend(mariadb::encode_mtr(&[mariadb::Record::FileCheckpoint { lsn: cp.lsn }], cp.lsn, &ring).unwrap());
    std::fs::write(root.join("ib_logfile0"), log).unwrap();
    std::fs::write(root.join("xtrabackup_checkpoints"), checkpoints(lower)).unwrap();
    std::fs::write(root.join("xtrabackup_info"), format!("innodb_to_lsn = {lower}\n")).unwrap();
    let r = verify(&RealSourceFs, root).unwrap();
    let all = r.problems.join("\n");
    assert!(all.contains(&format!("has LSN {max_lsn}, beyond the applied LSN {lower}")), "{all}");
}

/// Pages per sample (README: 8, 6 for 32k, 5 for 64k).
fn count_pages(name: &str) -> usize {
    if name.contains("32k") {
        6
    } else if name.contains("64k") {
        5
    } else {
        8
    }
}

#[test]
fn metadata_problems_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    backup_of_fixtures(root);
    std::fs::write(root.join("fx/gone.isl"), "/elsewhere/gone.ibd\n").unwrap();
    std::fs::write(root.join("xtrabackup_checkpoints.pending"), "").unwrap();
    let r = verify(&RealSourceFs, root).unwrap();
    let all = r.problems.join("\n");
    assert!(all.contains("fx/gone.isl: the DATA DIRECTORY table's data file fx/gone.ibd is missing"), "{all}");
    assert!(all.contains("xtrabackup_checkpoints.pending is still there"), "{all}");
    std::fs::remove_file(root.join("ib_logfile0")).unwrap();
    std::fs::write(
        root.join("xtrabackup_checkpoints"),
        "backup_type = full-prepared-twice\nfrom_lsn = 5\nto_lsn = 9\nlast_lsn = 7\n",
    )
    .unwrap();
    let all = verify(&RealSourceFs, root).unwrap().problems.join("\n");
    for says in ["no copied redo log", "is no backup's", "from_lsn is 5", "to_lsn 9 is beyond last_lsn 7", "disagree"] {
        assert!(all.contains(says), "{says}: {all}");
    }
}

/// The backup of fixtures made an incremental: each tablespace `NAME` becomes
/// `NAME.delta` (all its non-zero pages) and `NAME.meta`.
fn incremental_of_fixtures(root: &Path) {
    use innohot::format::delta::{self, DeltaMeta, DeltaPage};
    use innohot::format::page;
    backup_of_fixtures(root);
    std::fs::write(
        root.join("xtrabackup_checkpoints"),
        "backup_type = incremental\nfrom_lsn = 90000\nto_lsn = 100000\nlast_lsn = 100000\n",
    )
    .unwrap();
    let mut files: Vec<PathBuf> = fixtures().iter().map(|f| root.join("fx").join(f.file_name().unwrap())).collect();
    files.push(root.join("ibdata1"));
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let layout = page::layout_from_page0(&bytes).unwrap();
        let space_id = page::fsp_header(&bytes).unwrap().space_id;
        let size = layout.physical_size;
        let pages: Vec<DeltaPage> = bytes
            .chunks(size)
            .enumerate()
            .filter(|(_, p)| p.iter().any(|&b| b != 0))
            .map(|(n, p)| DeltaPage { page_no: n as u32, page: p })
            .collect();
        let name = path.to_string_lossy().into_owned();
        std::fs::write(format!("{name}.delta"), delta::encode(size, &pages).unwrap()).unwrap();
        std::fs::write(format!("{name}.meta"), delta::encode_meta(&DeltaMeta::for_layout(layout, space_id))).unwrap();
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn an_incremental_verifies_delta_by_delta_and_a_flipped_byte_in_a_delta_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    incremental_of_fixtures(root);
    let r = verify(&RealSourceFs, root).unwrap();
    assert!(r.is_ok(), "{:?}", r.problems);
    assert_eq!(r.tablespaces as usize, fixtures().len() + 1, "every delta, and not its meta, counted");
    assert!(r.pages > 0);
    let delta = root.join("fx").join(format!("{}.delta", fixtures()[0].file_name().unwrap().to_string_lossy()));
    let mut bytes = std::fs::read(&delta).unwrap();
    let at = bytes.len() - 100;
    bytes[at] ^= 0x40;
    std::fs::write(&delta, bytes).unwrap();
    let all = verify(&RealSourceFs, root).unwrap().problems.join("\n");
    assert!(all.contains(&format!("{}: page", delta.strip_prefix(root).unwrap().display())), "{all}");
    std::fs::remove_file(root.join("ibdata1.meta")).unwrap();
    let all = verify(&RealSourceFs, root).unwrap().problems.join("\n");
    assert!(all.contains("ibdata1.meta: cannot read it"), "{all}");
}
