//! The contract suite over every implementation in the engine.

use super::*;
use crate::io::local::RealLocalFs;
use crate::io::memfs::MemFs;
use crate::io::real::{RealSourceFs, RealTargetDir};
use crate::io::TargetDir;

fn temp_root() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let root = RealSourceFs.canonicalize(dir.path()).expect("its real path");
    (dir, root)
}

#[test]
fn the_real_source_fs_keeps_its_contract() {
    let (_dir, root) = temp_root();
    lay_out_source_tree(&RealLocalFs, &root);
    check_source_fs(&RealSourceFs, &root);
}

#[test]
fn the_real_target_dir_keeps_its_contract() {
    let (_dir, root) = temp_root();
    let target = RealTargetDir::create(&root.join("backup"), true).expect("a target directory");
    check_target_dir(&target, &RealSourceFs);
}

#[test]
fn the_real_local_fs_keeps_its_contract() {
    let (_dir, root) = temp_root();
    check_local_fs(&RealLocalFs, &root);
}

#[test]
fn memfs_keeps_the_local_fs_contract() {
    let fs = MemFs::new();
    fs.put_dir(Path::new("/work"));
    check_local_fs(&fs, Path::new("/work"));
}

/// A source that reports a missing file as some other failure, as a careless
/// implementation might: the suite must catch it.
struct NotFoundAsOther;

impl SourceFs for NotFoundAsOther {
    fn open(&self, path: &Path, policy: ReadPolicy) -> io::Result<Box<dyn SourceFile>> {
        RealSourceFs.open(path, policy).map_err(|e| io::Error::other(e.to_string()))
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<DirEntry>> {
        RealSourceFs.list(dir)
    }
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        RealSourceFs.canonicalize(path)
    }
    fn exists(&self, path: &Path) -> bool {
        RealSourceFs.exists(path)
    }
}

#[test]
fn the_suite_catches_a_missing_file_that_is_not_not_found() {
    let (_dir, root) = temp_root();
    lay_out_source_tree(&RealLocalFs, &root);
    let caught = std::panic::catch_unwind(|| check_source_fs(&NotFoundAsOther, &root));
    let message = caught.expect_err("the broken contract passed");
    let message = message.downcast_ref::<String>().expect("a formatted panic");
    assert!(message.contains("open(") && message.contains("NotFound"), "{message}");
}

#[test]
fn memfs_as_a_source_keeps_the_source_fs_contract() {
    let fs = MemFs::new();
    fs.put_dir(Path::new("/datadir"));
    lay_out_source_tree(&fs, Path::new("/datadir"));
    check_source_fs(&fs.source_view(), Path::new("/datadir"));
}

#[test]
fn memfs_as_a_target_keeps_the_target_dir_contract() {
    let fs = MemFs::new();
    fs.put_dir(Path::new("/backup"));
    check_target_dir(&fs.target_view(Path::new("/backup")), &fs.source_view());
}

#[test]
fn the_real_file_systems_follow_symlinks_and_leave_dangling_ones_out() {
    use std::os::unix::fs::symlink;
    let (_dir, root) = temp_root();
    lay_out_source_tree(&RealLocalFs, &root);
    symlink(root.join("db"), root.join("db_link")).expect("a symlink to a directory");
    symlink(root.join("ibdata1"), root.join("file_link")).expect("a symlink to a file");
    symlink(root.join("nowhere"), root.join("dangling")).expect("a dangling symlink");
    let listed = RealSourceFs.list(&root).expect("list");
    let kind = |name: &str| listed.iter().find(|e| e.name == name).map(|e| e.kind);
    assert_eq!(kind("db_link"), Some(EntryKind::Dir), "a symlink is listed as what it points at");
    assert_eq!(kind("file_link"), Some(EntryKind::File));
    assert_eq!(kind("dangling"), None, "a dangling symlink is left out");
    assert_eq!(RealLocalFs.list(&root).expect("list"), listed, "LocalFs lists as SourceFs does");
    let dangling = root.join("dangling");
    assert!(!RealSourceFs.exists(&dangling), "SourceFs::exists follows symlinks");
    assert!(RealLocalFs.exists(&dangling), "LocalFs::exists says the name is taken");
    let open = RealSourceFs.open(&dangling, ReadPolicy::default()).map(drop);
    assert_eq!(open.unwrap_err().kind(), io::ErrorKind::NotFound, "opening a dangling symlink");
    let target = RealTargetDir::create(&root.join("backup"), false).expect("a target");
    symlink(root.join("nowhere"), root.join("backup/taken")).expect("a dangling symlink in the target");
    let create = target.create_file(Path::new("taken")).map(drop);
    assert_eq!(create.unwrap_err().kind(), io::ErrorKind::AlreadyExists, "create_file over a dangling symlink");
    let edit = RealLocalFs.open_edit(&root.join("file_link")).map(drop);
    assert!(edit.is_err(), "open_edit never follows a symlink");
    assert_eq!(RealSourceFs.canonicalize(&root.join("db_link")).expect("canonicalize"), root.join("db"));
}
