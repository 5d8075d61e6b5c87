//! One in-memory file system for every command: a finished simulated backup,
//! loaded into `MemFs`, verifies through `MemFs::source_view` as it does on
//! disk through `RealSourceFs`, is prepared in place through `LocalFs`, and
//! still verifies after.

use innohot::io::real::RealSourceFs;
use innohot::verify::{verify, VerifyReport};
use innohot_simulator::config::Flavor;
use innohot_simulator::crash::{load, BACKUP};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every directory (None) and file below `root`, relative to it.
fn read_tree(root: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        for e in std::fs::read_dir(root.join(&rel)).expect("a backup directory") {
            let e = e.expect("an entry");
            let r = rel.join(e.file_name());
            if e.path().is_dir() {
                out.insert(r.clone(), None);
                stack.push(r);
            } else {
                out.insert(r, Some(std::fs::read(e.path()).expect("a backup file")));
            }
        }
    }
    out
}

fn summary(r: &VerifyReport) -> (u64, u64, Vec<String>) {
    (r.tablespaces, r.pages, r.problems.clone())
}

#[test]
fn a_backup_verifies_alike_on_disk_and_in_memory_and_prepares_in_memory() {
    let dir = tempfile::tempdir().expect("a scratch directory");
    let report = innohot_simulator::verified_backup(3, Flavor::MariaDb, dir.path()).expect("a verified backup");
    let on_disk = verify(&RealSourceFs, &report.target).expect("verify on disk");
    assert!(on_disk.problems.is_empty(), "on disk: {:?}", on_disk.problems);
    assert!(on_disk.pages > 0, "verify read no page");
    let fs = load(&read_tree(&report.target));
    let in_memory = verify(&fs.source_view(), Path::new(BACKUP)).expect("verify in memory");
    assert_eq!(summary(&in_memory), summary(&on_disk), "one backup, two file systems, one verdict");
    innohot::restore::prepare::prepare(&fs, Path::new(BACKUP)).expect("prepare in memory");
    let prepared = verify(&fs.source_view(), Path::new(BACKUP)).expect("verify the prepared backup");
    assert!(prepared.problems.is_empty(), "after prepare: {:?}", prepared.problems);
}
