//! [`LocalFs`]'s and [`EditFile`]'s contracts.

use super::{expect_failure, expect_kind, ok, read_whole};
use crate::io::{DirEntry, EditFile, EntryKind, LocalFs};
use std::io::ErrorKind;
use std::path::Path;

/// Checks every [`LocalFs`] promise on `fs` below `root`, an empty directory.
pub fn check_local_fs(fs: &dyn LocalFs, root: &Path) {
    let (dir, file) = (root.join("a"), root.join("a/f"));
    ok(fs.create_dir_all(&dir.join("b")), "create_dir_all(a/b)");
    ok(fs.create_dir_all(&dir.join("b")), "create_dir_all(a/b) again (existing directories are fine)");
    assert!(fs.is_dir(&dir.join("b")) && fs.exists(&dir.join("b")), "a/b is a directory");
    let mut f = ok(fs.create_file(&file), "create_file(a/f)");
    ok(f.write_at(b"abc", 0).and_then(|()| f.sync()), "write a/f");
    drop(f);
    assert!(fs.exists(&file) && !fs.is_dir(&file), "a/f is a file");
    expect_kind(fs.create_file(&file), ErrorKind::AlreadyExists, "create_file(a/f) again");
    expect_kind(fs.create_file(&root.join("nodir/f")), ErrorKind::NotFound, "create_file(nodir/f)");
    assert_eq!(ok(fs.read_all(&file), "read_all(a/f)"), b"abc", "read_all(a/f)");
    assert_eq!(&*ok(fs.read_mapped(&file), "read_mapped(a/f)"), b"abc", "read_mapped(a/f)");
    ok(fs.drop_cached(&file), "drop_cached(a/f)");
    let mut r = ok(fs.open_read(&file), "open_read(a/f)");
    assert_eq!(read_whole(r.as_mut(), "open_read(a/f)"), b"abc", "open_read(a/f)");
    let want =
        vec![DirEntry { name: "b".into(), kind: EntryKind::Dir }, DirEntry { name: "f".into(), kind: EntryKind::File }];
    assert_eq!(ok(fs.list(&dir), "list(a)"), want, "list(a): sorted, with kinds");
    check_local_missing(fs, &root.join("a/missing"));
    check_edit(fs, &file);
    check_replace(fs, &dir);
    check_rename_remove(fs, &dir);
    check_local_meta(fs, root, &file);
}

/// Nothing at `path`: NotFound from everything that reads, edits or removes it.
fn check_local_missing(fs: &dyn LocalFs, path: &Path) {
    let what = path.display();
    assert!(!fs.exists(path) && !fs.is_dir(path), "{what} exists");
    expect_kind(fs.list(path), ErrorKind::NotFound, &format!("list({what})"));
    expect_kind(fs.read_all(path), ErrorKind::NotFound, &format!("read_all({what})"));
    expect_kind(fs.read_mapped(path), ErrorKind::NotFound, &format!("read_mapped({what})"));
    expect_kind(fs.open_read(path), ErrorKind::NotFound, &format!("open_read({what})"));
    expect_kind(fs.open_edit(path), ErrorKind::NotFound, &format!("open_edit({what})"));
    expect_kind(fs.remove_file(path), ErrorKind::NotFound, &format!("remove_file({what})"));
    expect_kind(fs.remove_dir(path), ErrorKind::NotFound, &format!("remove_dir({what})"));
    expect_kind(fs.space(path), ErrorKind::NotFound, &format!("space({what})"));
    expect_kind(fs.owner(path), ErrorKind::NotFound, &format!("owner({what})"));
    expect_kind(fs.lock_holder(path), ErrorKind::NotFound, &format!("lock_holder({what})"));
}

fn read_edit(f: &mut dyn EditFile, at: u64, len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; len];
    let n = ok(f.read_at(&mut buf, at), "read_at");
    buf.truncate(n);
    buf
}

/// Writes, gaps, short reads at the end, cuts and holes.
fn check_edit(fs: &dyn LocalFs, file: &Path) {
    let mut f = ok(fs.open_edit(file), "open_edit(a/f)");
    ok(f.write_at(b"zz", 5), "write_at(a/f, 5)");
    assert_eq!(ok(f.size(), "size"), 7, "a write past the end grows the file");
    assert_eq!(read_edit(f.as_mut(), 0, 100), b"abc\0\0zz", "the gap reads as zeros; short only at the end");
    assert_eq!(read_edit(f.as_mut(), 2, 3), b"c\0\0", "a read inside the file is full");
    assert_eq!(read_edit(f.as_mut(), 7, 10), b"", "a read at the end gives 0");
    assert_eq!(read_edit(f.as_mut(), 70, 10), b"", "a read past the end gives 0");
    ok(f.punch_hole(0, 2), "punch_hole(0, 2)");
    assert_eq!(ok(f.size(), "size"), 7, "punch_hole keeps the size");
    assert_eq!(read_edit(f.as_mut(), 0, 100), b"\0\0c\0\0zz", "a punched range reads as zeros");
    ok(f.set_len(3), "set_len(3)");
    assert_eq!(ok(f.size(), "size"), 3, "set_len cuts");
    ok(f.sync(), "sync");
    drop(f);
    assert_eq!(ok(fs.read_all(file), "read_all(a/f)"), b"\0\0c", "edits are seen by later readers");
}

/// replace_durably replaces or creates, and leaves no temporary file.
fn check_replace(fs: &dyn LocalFs, dir: &Path) {
    ok(fs.replace_durably(&dir.join("f"), b"new"), "replace_durably(a/f)");
    assert_eq!(ok(fs.read_all(&dir.join("f")), "read_all(a/f)"), b"new", "a/f replaced");
    ok(fs.replace_durably(&dir.join("fresh"), b"x"), "replace_durably(a/fresh) (missing)");
    assert_eq!(ok(fs.read_all(&dir.join("fresh")), "read_all(a/fresh)"), b"x", "a/fresh created");
    let names: Vec<String> = ok(fs.list(dir), "list(a)").into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["b", "f", "fresh"], "replace_durably leaves no temporary file");
}

/// rename_no_replace never replaces; removes refuse the wrong kind and non-empty directories.
fn check_rename_remove(fs: &dyn LocalFs, dir: &Path) {
    let (f, g, fresh) = (dir.join("f"), dir.join("g"), dir.join("fresh"));
    ok(fs.rename_no_replace(&f, &g), "rename_no_replace(a/f, a/g)");
    assert!(!fs.exists(&f) && fs.exists(&g), "the rename moved the name");
    expect_kind(fs.rename_no_replace(&g, &fresh), ErrorKind::AlreadyExists, "rename_no_replace(a/g, a/fresh)");
    assert_eq!(ok(fs.read_all(&g), "read_all(a/g)"), b"new", "a/g after a refused rename");
    assert_eq!(ok(fs.read_all(&fresh), "read_all(a/fresh)"), b"x", "a/fresh after a refused rename");
    expect_kind(fs.rename_no_replace(&f, &dir.join("h")), ErrorKind::NotFound, "rename_no_replace(a/f (gone), a/h)");
    expect_failure(fs.remove_file(&dir.join("b")), "remove_file(a/b) (a directory)");
    expect_failure(fs.remove_dir(&g), "remove_dir(a/g) (a file)");
    ok(fs.create_file(&dir.join("b/inner")).map(drop), "create_file(a/b/inner)");
    expect_failure(fs.remove_dir(&dir.join("b")), "remove_dir(a/b) (not empty)");
    assert!(fs.is_dir(&dir.join("b")), "a refused remove_dir removed a/b");
    ok(fs.remove_file(&dir.join("b/inner")), "remove_file(a/b/inner)");
    ok(fs.remove_dir(&dir.join("b")), "remove_dir(a/b)");
    ok(fs.remove_file(&fresh), "remove_file(a/fresh)");
    assert!(!fs.exists(&dir.join("b")) && !fs.exists(&fresh), "removed names are gone");
    ok(fs.sync_dir(dir), "sync_dir(a)");
}

/// Space, owners, locks.
fn check_local_meta(fs: &dyn LocalFs, root: &Path, file: &Path) {
    let g = file.with_file_name("g");
    let space = ok(fs.space(root), "space(root)");
    assert!(space.block_size > 0, "space(root).block_size is 0");
    assert_eq!(ok(fs.space(&g), "space(a/g)").device, space.device, "one file system, one device");
    let owner = ok(fs.owner(&g), "owner(a/g)");
    ok(fs.set_owner(&g, owner), "set_owner(a/g) to its own owner");
    assert_eq!(ok(fs.lock_holder(&g), "lock_holder(a/g)"), None, "nobody holds a lock on a/g");
    let lock_path = root.join("lock");
    let lock = ok(fs.lock_file(&lock_path), "lock_file(lock)");
    drop(lock);
    assert!(!fs.exists(&lock_path), "dropping a lock removes its file");
}
