//! Whether a restore fits, checked before it writes anything: per file system it
//! writes to (the datadir, data_home_dir, undo_dir, log_dir and DATA DIRECTORY
//! targets may each be another), the bytes of its copies in whole blocks, one block
//! per file and directory for metadata, the marker, and a margin. A move-back's
//! renames (same file system) need none.

use super::copyback::{Mode, RestoreOptions};
use super::marker::Marker;
use super::{io_err, RestoreError, Result};
use crate::io::LocalFs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Kept free on every file system written to, beyond the estimate.
pub const MARGIN: u64 = 1 << 20;

/// One file system's share of the restore.
struct Need {
    /// The directory named in the message: the first one written to on it.
    dir: PathBuf,
    available: u64,
    block: u64,
    needed: u64,
    files: u64,
    /// The first file that would not fit.
    first_over: Option<PathBuf>,
}

/// The nearest directory at or above `path` that exists.
fn existing(fs: &dyn LocalFs, path: &Path) -> PathBuf {
    let mut p = path;
    while !fs.exists(p) {
        match p.parent() {
            Some(up) => p = up,
            None => break,
        }
    }
    p.to_path_buf()
}

/// The directory the user named that holds `path` (the datadir, a *_dir option), or its parent.
fn named_dir(path: &Path, opts: &RestoreOptions) -> PathBuf {
    [&opts.data_home_dir, &opts.undo_dir, &opts.log_dir]
        .into_iter()
        .flatten()
        .chain(std::iter::once(&opts.datadir))
        .find(|d| path.starts_with(d))
        .cloned()
        .unwrap_or_else(|| path.parent().unwrap_or(Path::new("/")).to_path_buf())
}

/// Refuses, naming the directory and the figures, a restore that does not fit.
pub fn check(fs: &dyn LocalFs, m: &Marker, opts: &RestoreOptions) -> Result<()> {
    let mut needs: BTreeMap<u64, Need> = BTreeMap::new();
    let mut add = |to: &Path, bytes: u64, counts_as_file: bool| -> Result<()> {
        let at = existing(fs, to.parent().unwrap_or(to));
        let sp = fs.space(&at).map_err(io_err(&at, "reading the free space of"))?;
        let block = sp.block_size.max(1);
        let need = needs.entry(sp.device).or_insert_with(|| Need {
            dir: named_dir(to, opts),
            available: sp.available,
            block,
            needed: MARGIN,
            files: 0,
            first_over: None,
        });
        need.needed += bytes.div_ceil(block) * block + block;
        need.files += u64::from(counts_as_file);
        if counts_as_file && need.first_over.is_none() && need.needed > need.available {
            need.first_over = Some(to.to_path_buf());
        }
        Ok(())
    };
    add(&m.path(), m.encode().len() as u64, false)?;
    for d in &m.dirs {
        add(d, 0, false)?;
    }
    for item in &m.items {
        if opts.mode == Mode::Move && !item.link_rewritten {
            let at = existing(fs, item.to.parent().unwrap_or(&item.to));
            let dest = fs.space(&at).map_err(io_err(&at, "reading the free space of"))?.device;
            let src = fs.space(&item.from).map_err(io_err(&item.from, "reading the free space of"))?.device;
            if src == dest {
                continue;
            }
        }
        add(&item.to, item.size, true)?;
    }
    match needs.into_values().find(|n| n.needed > n.available) {
        None => Ok(()),
        Some(n) => Err(RestoreError::NoSpace {
            command: m.command(),
            dir: n.dir.clone(),
            needed: n.needed,
            available: n.available,
            block: n.block,
            files: n.files,
            first_over: n.first_over.unwrap_or(n.dir),
        }),
    }
}

/// Bytes as a person reads them: MiB (or GiB) with one decimal, and the exact count.
pub fn human(bytes: u64) -> String {
    if bytes >= 10 << 30 {
        format!("{:.1} GiB ({bytes} bytes)", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB ({bytes} bytes)", bytes as f64 / (1u64 << 20) as f64)
    }
}
