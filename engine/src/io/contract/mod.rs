//! The file-system traits' written contracts as checks: each function drives
//! one implementation through every promise its trait's documentation makes
//! that a caller can observe (error kinds, short reads only at end of file,
//! sorted listings, exclusive creates, renames that never replace) and panics,
//! naming the method and the path, at the first one broken. Durability is
//! beyond them: `MemFs`'s own tests crash it.
//!
//! Run them on a fresh, empty directory of the implementation under test:
//! the real ones on a temporary directory, `MemFs` on a path of its own.

use super::{DirEntry, EntryKind, LocalFs, ReadPolicy, SourceFile, SourceFs};
use std::io::{self, ErrorKind};
use std::path::{Path, PathBuf};

/// Bytes whose every offset holds a different value than its neighbours, so a
/// read at the wrong offset shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// What [`check_source_fs`] expects below its root, parents first: a
/// directory (None) or a file and its bytes.
pub fn source_tree() -> Vec<(&'static str, Option<Vec<u8>>)> {
    vec![
        ("db", None),
        ("db/t1.ibd", Some(pattern(3 * 4096 + 100))),
        ("db/t1.frm", Some(b"frm bytes".to_vec())),
        ("empty", Some(Vec::new())),
        ("ibdata1", Some(pattern(5000))),
        ("sub", None),
        ("sub/deeper", None),
    ]
}

/// Lays [`source_tree`] out under `root` (which must exist) through `fs`.
pub fn lay_out_source_tree(fs: &dyn LocalFs, root: &Path) {
    for (rel, bytes) in source_tree() {
        let path = root.join(rel);
        match bytes {
            None => fs.create_dir_all(&path).unwrap_or_else(|e| panic!("create_dir_all {}: {e}", path.display())),
            Some(bytes) => {
                let mut f = fs.create_file(&path).unwrap_or_else(|e| panic!("create_file {}: {e}", path.display()));
                f.write_at(&bytes, 0)
                    .and_then(|()| f.sync())
                    .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
            }
        }
    }
}

/// Panics unless `r` failed with `kind`.
fn expect_kind<T>(r: io::Result<T>, kind: ErrorKind, what: &str) {
    match r {
        Err(e) if e.kind() == kind => {}
        Err(e) => panic!("{what}: failed with {:?} ({e}), the contract says {kind:?}", e.kind()),
        Ok(_) => panic!("{what}: succeeded, the contract says it fails with {kind:?}"),
    }
}

/// Panics unless `r` failed (any kind).
fn expect_failure<T>(r: io::Result<T>, what: &str) {
    if r.is_ok() {
        panic!("{what}: succeeded, the contract says it fails");
    }
}

fn ok<T>(r: io::Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: {e} ({:?}), the contract says it succeeds", e.kind()))
}

/// Reads a whole file through a handle, asking for more than is there.
fn read_whole(f: &mut dyn SourceFile, what: &str) -> Vec<u8> {
    let len = ok(f.size(), what) as usize;
    let mut buf = vec![0u8; len + 100];
    let n = ok(f.read_at(&mut buf, 0), what);
    assert_eq!(n, len, "{what}: read_at returned {n} of the file's {len} bytes (short only at end of file)");
    buf.truncate(n);
    buf
}

/// Checks every [`SourceFs`] promise on `fs`, whose `root` holds [`source_tree`]
/// laid out and nothing else.
pub fn check_source_fs(fs: &dyn SourceFs, root: &Path) {
    let tree = source_tree();
    check_source_listing(fs, root, &tree);
    for (rel, bytes) in &tree {
        let path = root.join(rel);
        assert!(fs.exists(&path), "exists({}) is false", path.display());
        if let Some(bytes) = bytes {
            check_source_file(fs, &path, bytes);
        }
    }
    check_source_dir_is_no_file(fs, &root.join("db"));
    check_source_missing(fs, &root.join("db/missing.ibd"));
    check_source_missing(fs, &root.join("nodir/missing.ibd"));
    let canon = ok(fs.canonicalize(root), "canonicalize(root)");
    assert!(canon.is_absolute(), "canonicalize({}) gave {} (not absolute)", root.display(), canon.display());
    let deep = ok(fs.canonicalize(&root.join("db/./t1.ibd")), "canonicalize(db/./t1.ibd)");
    assert_eq!(deep, canon.join("db/t1.ibd"), "canonicalize keeps no `.`");
    expect_kind(fs.canonicalize(&root.join("missing")), ErrorKind::NotFound, "canonicalize(missing)");
    check_source_ids(fs, root);
}

/// `list` gives each directory's entries sorted, with their kinds.
fn check_source_listing(fs: &dyn SourceFs, root: &Path, tree: &[(&str, Option<Vec<u8>>)]) {
    let mut dirs = vec![PathBuf::new()];
    dirs.extend(tree.iter().filter(|(_, b)| b.is_none()).map(|(rel, _)| PathBuf::from(rel)));
    for dir in dirs {
        let mut want: Vec<DirEntry> = tree
            .iter()
            .filter(|(rel, _)| Path::new(rel).parent() == Some(dir.as_path()))
            .map(|(rel, b)| DirEntry {
                name: Path::new(rel).file_name().expect("a name").to_string_lossy().into_owned(),
                kind: if b.is_some() { EntryKind::File } else { EntryKind::Dir },
            })
            .collect();
        want.sort_by(|a, b| a.name.cmp(&b.name));
        let got = ok(fs.list(&root.join(&dir)), &format!("list({})", root.join(&dir).display()));
        assert_eq!(got, want, "list({}): the entries, sorted by name, with their kinds", root.join(&dir).display());
    }
    expect_kind(fs.list(&root.join("missing")), ErrorKind::NotFound, "list(missing)");
}

/// Reads: whole, in the middle, across the end, at and past the end; sizes; clones.
fn check_source_file(fs: &dyn SourceFs, path: &Path, bytes: &[u8]) {
    let what = format!("{}", path.display());
    for policy in [ReadPolicy::default(), ReadPolicy { direct: true, fadvise: false }] {
        let mut f = ok(fs.open(path, policy), &format!("open({what}, {policy:?})"));
        assert_eq!(read_whole(f.as_mut(), &what), bytes, "{what}: the bytes read");
        let len = bytes.len();
        if len > 20 {
            let mut buf = [0u8; 10];
            assert_eq!(ok(f.read_at(&mut buf, 7), &what), 10, "{what}: a read inside the file is full");
            assert_eq!(&buf[..], &bytes[7..17], "{what}: a read at offset 7");
            let mut tail = [0u8; 64];
            let n = ok(f.read_at(&mut tail, len as u64 - 5), &what);
            assert_eq!(n, 5, "{what}: a read across the end stops at the end");
            assert_eq!(&tail[..5], &bytes[len - 5..], "{what}: the last bytes");
        }
        let mut buf = [0u8; 16];
        assert_eq!(ok(f.read_at(&mut buf, len as u64), &what), 0, "{what}: a read at the end gives 0");
        assert_eq!(ok(f.read_at(&mut buf, len as u64 + 4096), &what), 0, "{what}: a read past the end gives 0");
        f.done_with(0, len as u64);
        if let Some(mut clone) = ok(f.try_clone(), &what) {
            assert_eq!(read_whole(clone.as_mut(), &what), bytes, "{what}: a clone reads the same file");
        }
    }
    assert_eq!(ok(fs.size(path), &format!("size({what})")), bytes.len() as u64, "size({what})");
    match fs.stamp(path) {
        Ok(Some(stamp)) => assert_eq!(stamp.size, bytes.len() as u64, "stamp({what}).size"),
        Ok(None) => panic!("stamp({what}) says nothing is there"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "stamp({what}) fails only as Unsupported: {e}"),
    }
}

/// A directory opens as no file: the open or its first read fails.
fn check_source_dir_is_no_file(fs: &dyn SourceFs, dir: &Path) {
    if let Ok(mut f) = fs.open(dir, ReadPolicy::default()) {
        let mut buf = [0u8; 16];
        expect_failure(f.read_at(&mut buf, 0), &format!("read_at of the directory {}", dir.display()));
    }
}

/// Nothing at `path`: NotFound from everything that reads it.
fn check_source_missing(fs: &dyn SourceFs, path: &Path) {
    let what = path.display();
    assert!(!fs.exists(path), "exists({what}) is true");
    expect_kind(fs.open(path, ReadPolicy::default()), ErrorKind::NotFound, &format!("open({what})"));
    expect_kind(fs.size(path), ErrorKind::NotFound, &format!("size({what})"));
    match fs.stamp(path) {
        Ok(None) => {}
        Ok(Some(_)) => panic!("stamp({what}) stamps a missing file"),
        Err(e) => assert_eq!(e.kind(), ErrorKind::Unsupported, "stamp({what}) of a missing file: {e}"),
    }
}

/// Ids, where the file system tells them: one per file, the same by path and by handle.
fn check_source_ids(fs: &dyn SourceFs, root: &Path) {
    let (a, b) = (root.join("db/t1.ibd"), root.join("ibdata1"));
    let (Some(id_a), Some(id_b)) = (ok(fs.file_id(&a), "file_id(db/t1.ibd)"), ok(fs.file_id(&b), "file_id(ibdata1)"))
    else {
        return;
    };
    assert_ne!(id_a, id_b, "two files have one id");
    let f = ok(fs.open(&a, ReadPolicy::default()), "open(db/t1.ibd)");
    if let Some(by_handle) = ok(f.file_id(), "file_id of a handle") {
        assert_eq!(by_handle, id_a, "a handle's id is its path's");
    }
    expect_kind(fs.file_id(&root.join("missing")), ErrorKind::NotFound, "file_id(missing)");
}

mod local;
mod target;
pub use local::check_local_fs;
pub use target::check_target_dir;

#[cfg(test)]
mod tests;
