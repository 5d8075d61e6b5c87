//! Directory trees as tests compare them: before and after a command that must
//! leave a backup unchanged, or the files of one kind in a backup.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Copies the tree `from` to `to` (created), files and directories.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let p = e?.path();
        let dest = to.join(p.file_name().expect("a directory entry has a name"));
        if p.is_dir() {
            copy_dir(&p, &dest)?;
        } else {
            std::fs::copy(&p, &dest)?;
        }
    }
    Ok(())
}

/// `cp -a FROM TO`: a copy keeping modes, owners and times (a backup's
/// files as a user would copy them). Panics when it fails.
pub fn cp_a(from: &Path, to: &Path) {
    let st = std::process::Command::new("cp").arg("-a").arg(from).arg(to).status().expect("run cp -a");
    assert!(st.success(), "cp -a {} {}: {st}", from.display(), to.display());
}

/// Every file below `root`, relative to it, sorted (as strings: what tests
/// compare file sets with).
pub fn relative_files(root: &Path) -> Vec<String> {
    regular_files(root)
        .iter()
        .map(|p| p.strip_prefix(root).expect("below root").to_string_lossy().into_owned())
        .collect()
}

/// Every regular file below `dir`, sorted (directories are walked, not listed).
/// Panics on an unreadable directory: a test cannot go on without it.
pub fn regular_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("listing {}: {e}", d.display()));
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every regular file below `dir` with its bytes, by path relative to `dir`.
pub fn file_contents(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    regular_files(dir)
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()));
            (p.strip_prefix(dir).expect("below dir").to_path_buf(), bytes)
        })
        .collect()
}

/// One number for every file below `dir`: its path relative to `dir` and its bytes
/// (`DefaultHasher::new`, the same in every call of one process). A refused command
/// must leave it unchanged.
pub fn fingerprint(dir: &Path) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in regular_files(dir) {
        p.strip_prefix(dir).expect("below dir").hash(&mut h);
        std::fs::read(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display())).hash(&mut h);
    }
    h.finish()
}

/// The first piece of Rust Debug formatting in a command's output (`Some(`, `Err(`,
/// `Ok(`, a struct's `{ `), if any: messages and `--json` fields must be words.
pub fn rust_debug_text(output: &str) -> Option<&'static str> {
    ["Some(", "Err(", "Ok(", "{ ", "None)"].into_iter().find(|p| output.contains(p))
}
