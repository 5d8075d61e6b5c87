//! The target directory before and after a backup: refused when it cannot
//! hold one (a file, not empty, a failed backup, inside the datadir), and
//! marked when a backup into it fails.

use innohot::meta::FAILED_MARKER;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("--target-dir {0} is a file, not a directory: give a new or empty directory for the backup")]
    IsAFile(PathBuf),
    #[error(
        "--target-dir {dir} holds a backup that failed ({reason}): it is not usable. Remove it \
         (rm -r {dir}) or give another --target-dir"
    )]
    FailedBefore { dir: PathBuf, reason: String },
    #[error(
        "--target-dir {dir} is not empty (it holds {first}{more}): a backup never writes over files; \
         give a new or empty directory"
    )]
    NotEmpty { dir: PathBuf, first: String, more: String },
    #[error("--target-dir {}: {detail}", dir.display())]
    Unusable { dir: PathBuf, detail: String },
    #[error(
        "--target-dir {target} is inside the server's datadir {datadir}: the server would see the backup as \
         a database and the backup would copy itself; give a directory outside {datadir}"
    )]
    InsideDatadir { target: PathBuf, datadir: PathBuf },
}

/// What can be checked before connecting: the target is new, or an empty directory.
pub fn check_before(dir: &Path) -> Result<(), TargetError> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(TargetError::Unusable { dir: dir.into(), detail: e.to_string() }),
    };
    if !meta.is_dir() {
        return Err(TargetError::IsAFile(dir.into()));
    }
    let marker = dir.join(FAILED_MARKER);
    if marker.exists() {
        let text = std::fs::read_to_string(&marker).unwrap_or_default();
        let reason = text.lines().next().unwrap_or("no reason recorded").to_string();
        return Err(TargetError::FailedBefore { dir: dir.into(), reason });
    }
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| TargetError::Unusable { dir: dir.into(), detail: format!("cannot list it: {e}") })?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    match names.as_slice() {
        [] => Ok(()),
        [first, rest @ ..] => Err(TargetError::NotEmpty {
            dir: dir.into(),
            first: first.clone(),
            more: if rest.is_empty() { String::new() } else { format!(" and {} more", rest.len()) },
        }),
    }
}

/// The target, with the part that exists resolved through its symlinks.
fn resolve(dir: &Path) -> PathBuf {
    let abs = if dir.is_absolute() { dir.to_path_buf() } else { std::env::current_dir().unwrap_or_default().join(dir) };
    let mut existing = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |p, c: &&std::ffi::OsStr| p.join(c));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return abs,
        }
    }
}

/// Once the server has said where its datadir is.
pub fn check_against_datadir(dir: &Path, datadir: &Path) -> Result<(), TargetError> {
    let target = resolve(dir);
    let datadir = datadir.canonicalize().unwrap_or_else(|_| datadir.to_path_buf());
    if target.starts_with(&datadir) {
        return Err(TargetError::InsideDatadir { target, datadir });
    }
    Ok(())
}

/// Leaves `innohot_backup_failed` in a target the failed backup wrote into:
/// the reason on the first line, then what to do. Best effort.
pub fn mark_failed(dir: &Path, command: &str, reason: &str, when: &str) -> Option<PathBuf> {
    if !dir.is_dir() {
        return None;
    }
    let path = dir.join(FAILED_MARKER);
    let one_line = reason.replace('\n', " ");
    let text = format!(
        "{one_line}\n\ninnohot {command} failed at {when}. This directory does not hold a usable backup. \
         Remove it (rm -r {}) and run the backup again.\n",
        dir.display()
    );
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&path).ok()?;
    f.write_all(text.as_bytes()).ok()?;
    f.sync_all().ok()?;
    Some(path)
}

/// `--extra-lsndir`: copies the backup's xtrabackup_checkpoints and xtrabackup_info
/// into `extra` (created if missing, 0750), replacing copies of an earlier backup
/// there (as mariabackup does: the directory follows a chain of backups). Each is
/// written under a temporary name (0640), fdatasynced, then renamed.
pub fn copy_lsn_files(backup: &Path, extra: &Path) -> std::io::Result<()> {
    write_lsn_files(extra, &|name| std::fs::read(backup.join(name)))
}

/// `--extra-lsndir`: the backup's xtrabackup_checkpoints and xtrabackup_info
/// (read by `read`) written into `extra`, each replacing the one there durably.
pub fn write_lsn_files(extra: &Path, read: &dyn Fn(&str) -> std::io::Result<Vec<u8>>) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if !extra.is_dir() {
        std::fs::DirBuilder::new().recursive(true).mode(0o750).create(extra)?;
    }
    for name in [innohot::meta::CHECKPOINTS_FILE, innohot::meta::INFO_FILE] {
        let bytes = read(name)?;
        let tmp = extra.join(format!(".{name}.innohot-new"));
        let _ = std::fs::remove_file(&tmp);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o640)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_data()?;
        std::fs::rename(&tmp, extra.join(name))?;
    }
    std::fs::File::open(extra)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_unusable_target_is_named_with_the_fix() {
        let tmp = tempfile::tempdir().unwrap();
        let new = tmp.path().join("new/deeper");
        check_before(&new).unwrap();
        check_before(tmp.path()).unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let e = check_before(&file).unwrap_err().to_string();
        assert!(e.contains("is a file") && e.contains("new or empty directory"), "{e}");
        let e = check_before(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("is not empty (it holds f)"), "{e}");
        let failed = tmp.path().join("failed");
        std::fs::create_dir(&failed).unwrap();
        mark_failed(&failed, "backup", "the backup was interrupted on request", "now").unwrap();
        let e = check_before(&failed).unwrap_err().to_string();
        assert!(e.contains("holds a backup that failed (the backup was interrupted on request)"), "{e}");
        assert!(e.contains("rm -r"), "{e}");
        let datadir = tmp.path().join("data");
        std::fs::create_dir(&datadir).unwrap();
        let e = check_against_datadir(&datadir.join("a/b"), &datadir).unwrap_err().to_string();
        assert!(e.contains("inside the server's datadir"), "{e}");
        check_against_datadir(&tmp.path().join("backup"), &datadir).unwrap();
        std::fs::write(&file, "x").unwrap();
    }
}
