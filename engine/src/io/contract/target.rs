//! [`TargetDir`]'s contract, read back through a [`SourceFs`] over the same files.

use super::{expect_kind, ok, read_whole};
use crate::io::{ReadPolicy, SourceFs, TargetDir};
use std::io::ErrorKind;
use std::path::Path;

/// Checks every [`TargetDir`] promise on `target`, whose root is an empty
/// directory; `read` reads the same files by absolute path. A stream
/// (`streams()`) cannot be read back: it is not checked.
pub fn check_target_dir(target: &dyn TargetDir, read: &dyn SourceFs) {
    if target.streams() {
        return;
    }
    let root = target.root().to_path_buf();
    assert!(root.is_absolute(), "root() {} is not absolute", root.display());
    ok(target.create_dir_all(Path::new("d/e")), "create_dir_all(d/e)");
    ok(target.create_dir_all(Path::new("d/e")), "create_dir_all(d/e) again (existing directories are fine)");
    let names: Vec<String> = ok(read.list(&root), "list(root)").into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["d"], "the root holds what was created");
    check_target_writes(target, read, &root);
    check_target_publish(target, read, &root);
    ok(target.remove_file(Path::new("d/g")), "remove_file(d/g)");
    assert!(!read.exists(&root.join("d/g")), "d/g is still there after remove_file");
    expect_kind(target.remove_file(Path::new("d/g")), ErrorKind::NotFound, "remove_file(d/g) again");
    ok(target.sync_dir(Path::new("d")), "sync_dir(d)");
    ok(target.sync_dir(Path::new("")), "sync_dir(\"\") (the root)");
}

fn read_back(read: &dyn SourceFs, path: &Path) -> Vec<u8> {
    let what = path.display().to_string();
    let mut f = ok(read.open(path, ReadPolicy::default()), &format!("open({what}) to read back"));
    read_whole(f.as_mut(), &what)
}

/// Writes land where asked, a gap reads as zeros, a taken name is refused.
fn check_target_writes(target: &dyn TargetDir, read: &dyn SourceFs, root: &Path) {
    let mut f = ok(target.create_file(Path::new("d/f")), "create_file(d/f)");
    ok(f.write_at(b"hello", 0), "write_at(d/f, 0)");
    ok(f.write_at(b"x", 10), "write_at(d/f, 10)");
    ok(f.write_at(b"J", 0), "write_at(d/f, 0) again");
    ok(f.sync(), "sync(d/f)");
    drop(f);
    let want = b"Jello\0\0\0\0\0x".to_vec();
    assert_eq!(read_back(read, &root.join("d/f")), want, "d/f: the bytes written, the gap as zeros");
    expect_kind(target.create_file(Path::new("d/f")), ErrorKind::AlreadyExists, "create_file(d/f) again");
    assert_eq!(read_back(read, &root.join("d/f")), want, "d/f after a refused create_file");
    expect_kind(target.create_file(Path::new("nodir/f")), ErrorKind::NotFound, "create_file(nodir/f)");
    let mut unsynced = ok(target.create_file(Path::new("d/e/late")), "create_file(d/e/late)");
    ok(unsynced.write_at(b"late", 0), "write_at(d/e/late)");
    drop(unsynced);
    ok(target.sync_file(Path::new("d/e/late")), "sync_file(d/e/late)");
    assert_eq!(read_back(read, &root.join("d/e/late")), b"late", "d/e/late");
    expect_kind(target.sync_file(Path::new("d/missing")), ErrorKind::NotFound, "sync_file(d/missing)");
}

/// publish renames and never replaces.
fn check_target_publish(target: &dyn TargetDir, read: &dyn SourceFs, root: &Path) {
    ok(target.publish(Path::new("d/f"), Path::new("d/g")), "publish(d/f, d/g)");
    assert!(!read.exists(&root.join("d/f")), "d/f is still there after publish");
    assert_eq!(read_back(read, &root.join("d/g")), b"Jello\0\0\0\0\0x", "d/g after publish");
    let mut h = ok(target.create_file(Path::new("d/h")), "create_file(d/h)");
    ok(h.write_at(b"other", 0).and_then(|()| h.sync()), "write d/h");
    expect_kind(target.publish(Path::new("d/h"), Path::new("d/g")), ErrorKind::AlreadyExists, "publish(d/h, d/g)");
    assert_eq!(read_back(read, &root.join("d/g")), b"Jello\0\0\0\0\0x", "d/g after a refused publish");
    assert_eq!(read_back(read, &root.join("d/h")), b"other", "d/h after a refused publish");
    expect_kind(target.publish(Path::new("d/none"), Path::new("d/q")), ErrorKind::NotFound, "publish(d/none, d/q)");
    assert!(!read.exists(&root.join("d/q")), "a failed publish left d/q");
    ok(target.remove_file(Path::new("d/h")), "remove_file(d/h)");
}
