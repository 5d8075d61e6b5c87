//! The DDL marker files a backup may hold, applied first by prepare: written
//! by an innohot stream ([`crate::stream::markers`]) and by every mariabackup
//! backup that saw a table dropped, renamed or created during its copy.
//!
//! In mariabackup's order: `db/t.del` deletes `db/t.ibd`; `db/t.ren` (holding
//! `db/u`) renames `db/t.ibd` to `db/u.ibd`; `db/t.new` replaces `db/t.ibd`.
//! Each marker is removed once applied. Renames go through a temporary name
//! first, so tables swapped during the backup (t→u and u→t) end right. Every
//! step can be run again after a crash: a rerun finishes what was begun.

use super::{io_err, RestoreError};
use crate::io::LocalFs;
use crate::stream::markers::{DEL_SUFFIX, NEW_SUFFIX, REN_SUFFIX};
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, RestoreError>;

/// A rename's first step: the table's file under this suffix.
const RENAMING: &str = ".ibd.innohot-ren";

/// What was applied, one line each (`db/t.ibd renamed to db/u.ibd`).
pub fn apply(fs: &dyn LocalFs, dir: &Path) -> Result<Vec<String>> {
    let found = find(fs, dir)?;
    let mut done = Vec::new();
    for space in &found.del {
        let ibd = dir.join(format!("{space}.ibd"));
        if fs.exists(&ibd) {
            fs.remove_file(&ibd).map_err(io_err(&ibd, "removing a table dropped during the backup"))?;
        }
        remove(fs, dir, space, DEL_SUFFIX)?;
        done.push(format!("{space}.ibd removed: the table was dropped during the backup"));
    }
    let mut renames = Vec::new();
    for space in &found.ren {
        let marker = dir.join(format!("{space}{REN_SUFFIX}"));
        let to = String::from_utf8(fs.read_all(&marker).map_err(io_err(&marker, "reading"))?)
            .ok()
            .filter(|to| is_space_name(to))
            .ok_or_else(|| RestoreError::BadMetadata {
                path: marker.clone(),
                detail: "does not hold a table's name (db/table): the backup is damaged".into(),
            })?;
        let (ibd, moving) = (dir.join(format!("{space}.ibd")), dir.join(format!("{space}{RENAMING}")));
        if fs.exists(&ibd) && !fs.exists(&moving) {
            fs.rename_no_replace(&ibd, &moving).map_err(io_err(&ibd, "renaming a table renamed during the backup"))?;
        }
        renames.push((space, to, moving));
    }
    for (space, to, moving) in renames {
        let target = dir.join(format!("{to}.ibd"));
        if fs.exists(&moving) {
            if let Some(parent) = target.parent() {
                fs.create_dir_all(parent).map_err(io_err(parent, "creating"))?;
            }
            fs.rename_no_replace(&moving, &target).map_err(io_err(&target, "renaming a table into"))?;
        } else if !fs.exists(&target) {
            return Err(RestoreError::BadMetadata {
                path: dir.join(format!("{space}{REN_SUFFIX}")),
                detail: format!("renames {space}.ibd, which is not in the backup: the backup is incomplete"),
            });
        }
        remove(fs, dir, space, REN_SUFFIX)?;
        done.push(format!("{space}.ibd renamed to {to}.ibd: the table was renamed during the backup"));
    }
    for space in &found.new {
        let (new, ibd) = (dir.join(format!("{space}{NEW_SUFFIX}")), dir.join(format!("{space}.ibd")));
        if fs.exists(&ibd) {
            fs.remove_file(&ibd).map_err(io_err(&ibd, "removing the first copy of a table copied again"))?;
        }
        fs.rename_no_replace(&new, &ibd).map_err(io_err(&new, "renaming a table copied again"))?;
        done.push(format!("{space}.ibd replaced by its copy taken after it was created or rebuilt"));
    }
    if !done.is_empty() {
        fs.sync_dir(dir).map_err(io_err(dir, "fsync"))?;
    }
    Ok(done)
}

/// Whether the backup holds marker files prepare has not applied yet.
pub fn pending(fs: &dyn LocalFs, dir: &Path) -> Result<Vec<PathBuf>> {
    let f = find(fs, dir)?;
    let names = f.del.iter().map(|s| format!("{s}{DEL_SUFFIX}"));
    let names = names.chain(f.ren.iter().map(|s| format!("{s}{REN_SUFFIX}")));
    Ok(names.chain(f.new.iter().map(|s| format!("{s}{NEW_SUFFIX}"))).map(PathBuf::from).collect())
}

#[derive(Default)]
struct Found {
    del: Vec<String>,
    ren: Vec<String>,
    new: Vec<String>,
}

/// The markers in the backup's database directories (one level down), by
/// table name (`db/t`), sorted.
fn find(fs: &dyn LocalFs, dir: &Path) -> Result<Found> {
    let mut f = Found::default();
    for db in fs.list(dir).map_err(io_err(dir, "listing"))? {
        if db.kind != crate::io::EntryKind::Dir {
            continue;
        }
        let db_dir = dir.join(&db.name);
        for e in fs.list(&db_dir).map_err(io_err(&db_dir, "listing"))? {
            if e.kind != crate::io::EntryKind::File {
                continue;
            }
            let found = [(DEL_SUFFIX, &mut f.del), (REN_SUFFIX, &mut f.ren), (NEW_SUFFIX, &mut f.new)]
                .into_iter()
                .find_map(|(suffix, list)| Some((e.name.strip_suffix(suffix)?, list)));
            if let Some((table, list)) = found.filter(|(t, _)| !t.is_empty()) {
                list.push(format!("{}/{table}", db.name));
            }
        }
    }
    Ok(f)
}

fn remove(fs: &dyn LocalFs, dir: &Path, space: &str, suffix: &str) -> Result<()> {
    let marker = dir.join(format!("{space}{suffix}"));
    fs.remove_file(&marker).map_err(io_err(&marker, "removing the applied marker"))
}

/// `db/table`: two parts, neither empty nor a way out of the backup.
fn is_space_name(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() == 2 && parts.iter().all(|p| !p.is_empty() && *p != "." && *p != ".." && !p.contains('\0'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::local::RealLocalFs;

    fn backup(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in files {
            let p = dir.path().join(name);
            RealLocalFs.create_dir_all(p.parent().unwrap()).unwrap();
            RealLocalFs.create_file(&p).unwrap().write_at(contents.as_bytes(), 0).unwrap();
        }
        dir
    }

    fn tree(dir: &Path) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for db in RealLocalFs.list(dir).unwrap() {
            for f in RealLocalFs.list(&dir.join(&db.name)).unwrap() {
                let p = dir.join(&db.name).join(&f.name);
                let text = String::from_utf8(RealLocalFs.read_all(&p).unwrap()).unwrap();
                out.push((format!("{}/{}", db.name, f.name), text));
            }
        }
        out
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect()
    }

    #[test]
    fn drops_renames_swaps_and_new_copies_are_applied_in_mariabackups_order() {
        let dir = backup(&[
            ("db/dropped.ibd", "d"),
            ("db/dropped.del", ""),
            ("db/a.ibd", "A"),
            ("db/a.ren", "db/b"),
            ("db/b.ibd", "B"),
            ("db/b.ren", "db/a"),
            ("db/moved.ibd", "M"),
            ("db/moved.ren", "other/moved"),
            ("db/rebuilt.ibd", "old"),
            ("db/rebuilt.new", "new"),
            ("db/created.new", "C"),
            ("db/t.frm", "frm"),
        ]);
        let done = apply(&RealLocalFs, dir.path()).unwrap();
        assert_eq!(done.len(), 6, "{done:?}");
        assert_eq!(
            tree(dir.path()),
            pairs(&[
                ("db/a.ibd", "B"),
                ("db/b.ibd", "A"),
                ("db/created.ibd", "C"),
                ("db/rebuilt.ibd", "new"),
                ("db/t.frm", "frm"),
                ("other/moved.ibd", "M"),
            ])
        );
        assert!(pending(&RealLocalFs, dir.path()).unwrap().is_empty());
        assert!(apply(&RealLocalFs, dir.path()).unwrap().is_empty(), "nothing left to do");
    }

    #[test]
    fn a_rerun_after_a_crash_between_the_steps_of_a_rename_finishes_it() {
        let dir =
            backup(&[("db/a.ibd.innohot-ren", "A"), ("db/a.ren", "db/b"), ("db/x.ren", "db/y"), ("db/y.ibd", "Y")]);
        apply(&RealLocalFs, dir.path()).unwrap();
        assert_eq!(tree(dir.path()), pairs(&[("db/b.ibd", "A"), ("db/y.ibd", "Y")]));
    }

    #[test]
    fn a_marker_naming_nothing_or_escaping_the_backup_is_refused() {
        let dir = backup(&[("db/a.ren", "../../etc/passwd")]);
        let e = apply(&RealLocalFs, dir.path()).unwrap_err().to_string();
        assert!(e.contains("db/a.ren") && e.contains("does not hold a table's name"), "{e}");
        let dir = backup(&[("db/a.ren", "db/b")]);
        let e = apply(&RealLocalFs, dir.path()).unwrap_err().to_string();
        assert!(e.contains("renames db/a.ibd, which is not in the backup"), "{e}");
    }
}
