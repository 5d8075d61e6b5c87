//! The witnesses that say what a backup must hold: the server's dictionary,
//! read under the lock, and the FILE_* records of the copied redo. Each
//! tablespace they name must be in the backup, or the backup fails naming it.

use super::CopiedTable;
use crate::copy;
use crate::error::{BackupError, Result};
use crate::follow::FileChange;
use crate::follow::FileOpRecord;
use crate::server::ServerTablespace;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// What the backup holds, for the witnesses that say what it must hold.
pub(super) struct Held<'a> {
    pub datadir: &'a Path,
    pub system_spaces: &'a [u32],
    pub tables: &'a [CopiedTable],
}

impl Held<'_> {
    /// What `holds` looks things up in, built once: a lock-time check of
    /// thousands of tables must not compare every table with every other.
    fn index(&self) -> HeldIndex<'_> {
        let mut ids: HashSet<u32> = self.system_spaces.iter().copied().collect();
        let mut unwritten = HashSet::new();
        for c in self.tables {
            match c.space_id {
                Some(id) => {
                    ids.insert(id);
                }
                None => {
                    unwritten.insert(normalize(&c.source));
                }
            }
        }
        HeldIndex { datadir: self.datadir, ids, unwritten }
    }
}

/// `Held` by space id, and by file for new tables whose page 0 is not written yet.
struct HeldIndex<'a> {
    datadir: &'a Path,
    ids: HashSet<u32>,
    unwritten: HashSet<PathBuf>,
}

impl HeldIndex<'_> {
    /// By space id; by file name for a new table whose page 0 is not written yet.
    fn holds(&self, space_id: u32, file: &str) -> bool {
        self.ids.contains(&space_id)
            || (!self.unwritten.is_empty() && self.unwritten.contains(&absolute(self.datadir, file)))
    }
}

/// The first tablespace the server's dictionary lists that the backup lacks,
/// as the error to fail with; else how many were checked.
pub(super) fn missing_from_dictionary(listed: &[ServerTablespace], held: &Held) -> Result<usize> {
    let held = held.index();
    let mut checked = 0;
    for ts in listed.iter().filter(|ts| must_be_in_backup(ts)) {
        if !held.holds(ts.space_id, &ts.path) {
            return Err(BackupError::TablespaceMissing {
                name: ts.name.clone(),
                space_id: ts.space_id,
                file: ts.path.clone(),
            });
        }
        checked += 1;
    }
    Ok(checked)
}

/// The copied redo names every tablespace it changes (MariaDB's FILE_*
/// records); prepare needs each one that still exists at the end, so each
/// must be in the backup: a witness independent of the dictionary.
pub(super) fn missing_from_redo(ops: &[FileOpRecord], held: &Held) -> Result<()> {
    let held = held.index();
    let mut last: std::collections::BTreeMap<u32, &FileOpRecord> = Default::default();
    for op in ops {
        last.insert(op.space, op);
    }
    for (&space, op) in &last {
        let file = op.new_name.as_deref().unwrap_or(&op.name);
        let base = file.rsplit('/').next().unwrap_or("");
        if op.op == FileChange::Delete || copy::is_temporary_name(base) || held.holds(space, file) {
            continue;
        }
        let name = file.trim_start_matches("./").trim_end_matches(".ibd").to_string();
        return Err(BackupError::TablespaceMissing { name, space_id: space, file: file.to_string() });
    }
    Ok(())
}

/// Tablespaces a backup holds: not the temporary tablespace (rebuilt at every
/// start) and not the files of an ALTER, TRUNCATE or DROP in progress.
fn must_be_in_backup(ts: &ServerTablespace) -> bool {
    let file = ts.path.rsplit('/').next().unwrap_or("");
    ts.name != "innodb_temporary" && !ts.name.contains("#sql") && !copy::is_temporary_name(file)
}

/// A file the server names (relative to the datadir or absolute), as `normalize` writes it.
fn absolute(datadir: &Path, listed: &str) -> PathBuf {
    let listed = Path::new(listed);
    normalize(&if listed.is_absolute() { listed.to_path_buf() } else { datadir.join(listed) })
}

fn normalize(p: &Path) -> PathBuf {
    p.components().filter(|c| !matches!(c, std::path::Component::CurDir)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(space_id: Option<u32>, source: &str, target: &str) -> CopiedTable {
        let form = crate::copy::delta::CopyForm::Whole;
        CopiedTable {
            space_id,
            source: PathBuf::from(source),
            target: PathBuf::from(target),
            file_id: None,
            bytes: 0,
            form,
        }
    }

    fn listed(space_id: u32, name: &str, path: &str) -> ServerTablespace {
        ServerTablespace { space_id, name: name.into(), path: path.into() }
    }

    fn op(op: FileChange, space: u32, name: &str, new_name: Option<&str>) -> FileOpRecord {
        FileOpRecord { lsn: 1, op, space, name: name.into(), new_name: new_name.map(Into::into) }
    }

    #[test]
    fn the_dictionary_check_names_the_first_table_the_backup_lacks() {
        let tables = [
            table(Some(5), "/data/d/t1.ibd", "d/t1.ibd"),
            table(Some(8), "/remote/d/r.ibd", "d/r.ibd"),
            table(None, "/data/d/new.ibd", "d/new.ibd"),
        ];
        let held = Held { datadir: Path::new("/data"), system_spaces: &[0, 1, 2], tables: &tables };
        let mut server = vec![
            listed(0, "innodb_system", "./ibdata1"),
            listed(1, "innodb_undo001", ".//undo001"),
            listed(5, "d/t1", "./d/t1.ibd"),
            listed(8, "d/r", "/remote/d/r.ibd"),
            // Page 0 not written yet: matched by file.
            listed(9, "d/new", "./d/new.ibd"),
            // Never in a backup.
            listed(4294967294, "innodb_temporary", "./ibtmp1"),
            listed(12, "d/#sql-alter-1-2", "./d/#sql-alter-1-2.ibd"),
        ];
        assert_eq!(missing_from_dictionary(&server, &held).unwrap(), 5);
        server.push(listed(6, "d/t2", "./d/t2.ibd"));
        let e = missing_from_dictionary(&server, &held).unwrap_err();
        assert!(matches!(&e, BackupError::TablespaceMissing { space_id: 6, .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("d/t2") && text.contains("missing from the backup") && text.contains("./d/t2.ibd"));
    }

    #[test]
    fn every_tablespace_the_copied_redo_leaves_existing_must_be_held() {
        let tables = [table(Some(5), "/data/d/t1.ibd", "d/t1.ibd"), table(Some(7), "/data/d/b.ibd", "d/b.ibd")];
        let held = Held { datadir: Path::new("/data"), system_spaces: &[0], tables: &tables };
        let fine = [
            op(FileChange::Modify, 5, "./d/t1.ibd", None),
            // Created, then renamed: held under its final name's space id.
            op(FileChange::Create, 7, "./d/a.ibd", None),
            op(FileChange::Rename, 7, "./d/a.ibd", Some("./d/b.ibd")),
            // Created then dropped during the backup.
            op(FileChange::Create, 9, "./d/gone.ibd", None),
            op(FileChange::Delete, 9, "./d/gone.ibd", None),
            // An ALTER still running under the lock.
            op(FileChange::Create, 11, "./d/#sql-alter-3-4.ibd", None),
        ];
        missing_from_redo(&fine, &held).unwrap();
        let mut lacking = fine.to_vec();
        lacking.push(op(FileChange::Modify, 13, "./d/missed.ibd", None));
        let e = missing_from_redo(&lacking, &held).unwrap_err();
        assert!(matches!(&e, BackupError::TablespaceMissing { space_id: 13, .. }), "{e:?}");
        assert!(e.to_string().contains("d/missed"), "{e}");
    }
}
