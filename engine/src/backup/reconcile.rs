//! Under the lock no DDL runs: the backup's tablespaces are made the
//! server's. What to do is planned here, as a pure function of what was
//! copied and what is on disk now, matched by space id: tables created during
//! the copy are copied now (their redo starts after the start checkpoint),
//! dropped ones leave the backup, renamed ones follow their new name.

use super::CopiedTable;
use crate::copy::Tablespace;
use crate::io::FileId;
use std::path::PathBuf;

/// A file-per-table tablespace on disk under the lock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Live {
    /// From page 0 (or the copy's, for the very file copied); None while page 0 is unwritten.
    pub space_id: Option<u32>,
    /// The file's identity, when the file system tells it.
    pub file_id: Option<FileId>,
    pub ts: Tablespace,
}

/// What the lock-time rescan asks of the backup.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Plan {
    /// The copies that stay, under their final names.
    pub kept: Vec<CopiedTable>,
    /// Backup paths of tables dropped during the copy.
    pub dropped: Vec<PathBuf>,
    /// (old, new) backup paths of tables renamed during the copy.
    pub renamed: Vec<(PathBuf, PathBuf)>,
    /// Tables created during the copy: to copy now.
    pub created: Vec<Tablespace>,
}

/// A file whose page 0 is not written yet (MariaDB writes it lazily) has no
/// id to match by, and its path proves nothing (TRUNCATE, or DROP and CREATE,
/// reuse the name for a new table). Its identity (device, inode, birth time)
/// does: InnoDB never gives a file to another tablespace, TRUNCATE and a
/// re-CREATE make a new file, RENAME keeps it. So such a copy is the live
/// file's when both are the same file; otherwise it counts as dropped and the
/// live file as created, and is copied again under the lock. Either way it
/// was created after the start checkpoint (its pages were still unwritten), so
/// the copied redo rebuilds it. (Found by the MariaDB simulator; the identity
/// match keeps thousands of freshly created tables from being copied twice.)
fn same(copied: &CopiedTable, live: &Live) -> bool {
    match (copied.space_id, live.space_id) {
        (Some(a), Some(b)) => a == b,
        _ => copied.file_id.is_some() && copied.file_id == live.file_id,
    }
}

/// `live`: every file-per-table tablespace on disk now.
pub(super) fn plan(copied: Vec<CopiedTable>, live: &[Live]) -> Plan {
    let mut plan = Plan::default();
    for mut c in copied {
        match live.iter().find(|l| same(&c, l)) {
            None => plan.dropped.push(c.target),
            Some(l) => {
                if l.ts.target != c.target {
                    plan.renamed.push((c.target.clone(), l.ts.target.clone()));
                    c.target = l.ts.target.clone();
                    c.source = l.ts.source.clone();
                }
                plan.kept.push(c);
            }
        }
    }
    for l in live {
        if !plan.kept.iter().any(|c| same(c, l)) {
            plan.created.push(l.ts.clone());
        }
    }
    plan
}

/// Copies that still cover their file, and copies whose file grew (with its size now).
pub(super) type GrownSplit = (Vec<CopiedTable>, Vec<(CopiedTable, u64)>);

/// For a server whose recovery does not extend files (MySQL 5.7): splits
/// `copied` into the copies that still cover their file and those whose file
/// is now longer than the copy (`size_now`), with that size. A redo record
/// for a page past a copy's end would stop 5.7's recovery, so those are
/// copied again under the lock.
pub(super) fn split_grown<E>(
    copied: Vec<CopiedTable>,
    mut size_now: impl FnMut(&CopiedTable) -> Result<u64, E>,
) -> Result<GrownSplit, E> {
    let mut kept = Vec::new();
    let mut grown = Vec::new();
    for c in copied {
        let size = size_now(&c)?;
        if size > c.bytes {
            grown.push((c, size));
        } else {
            kept.push(c);
        }
    }
    Ok((kept, grown))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::TablespaceKind;
    use std::path::Path;

    fn copied(id: Option<u32>, target: &str) -> CopiedTable {
        CopiedTable {
            space_id: id,
            source: PathBuf::from("/data").join(target),
            target: target.into(),
            file_id: None,
            bytes: 0,
            form: crate::copy::delta::CopyForm::Whole,
        }
    }

    fn live(id: Option<u32>, target: &str) -> Live {
        let ts = Tablespace {
            source: PathBuf::from("/data").join(target),
            target: target.into(),
            kind: TablespaceKind::Table,
        };
        Live { space_id: id, file_id: None, ts }
    }

    fn file(inode: u64) -> Option<FileId> {
        Some(FileId { device: 1, inode, born: 1_700_000_000_000_000_000 + inode as i128 })
    }

    #[test]
    fn a_table_without_page_0_that_is_still_the_same_file_is_kept_even_renamed() {
        let mut a = copied(None, "d/new.ibd");
        a.file_id = file(7);
        let mut b = copied(None, "d/other.ibd");
        b.file_id = file(8);
        let mut same_file = live(None, "d/moved.ibd");
        same_file.file_id = file(7);
        // Same name as b's copy, but another file (DROP and CREATE reused the name).
        let mut new_file = live(None, "d/other.ibd");
        new_file.file_id = file(9);
        let p = plan(vec![a, b], &[same_file, new_file]);
        assert_eq!(p.renamed, vec![(PathBuf::from("d/new.ibd"), PathBuf::from("d/moved.ibd"))]);
        assert_eq!(p.dropped, vec![PathBuf::from("d/other.ibd")]);
        assert_eq!(p.created.iter().map(|t| t.target.clone()).collect::<Vec<_>>(), vec![PathBuf::from("d/other.ibd")]);
        assert_eq!(p.kept.len(), 1);
    }

    #[test]
    fn drops_renames_swaps_and_creations_are_told_apart_by_space_id() {
        let before = vec![
            copied(Some(5), "d/a.ibd"),
            copied(Some(6), "d/b.ibd"),
            copied(Some(7), "d/gone.ibd"),
            copied(Some(8), "d/x.ibd"),
            copied(Some(9), "d/y.ibd"),
        ];
        let now = [
            live(Some(5), "d/a.ibd"),
            live(Some(6), "e/b2.ibd"),
            // x and y swapped names.
            live(Some(9), "d/x.ibd"),
            live(Some(8), "d/y.ibd"),
            // TRUNCATE: same name, a new space id.
            live(Some(11), "d/gone.ibd"),
        ];
        let p = plan(before, &now);
        assert_eq!(p.dropped, vec![PathBuf::from("d/gone.ibd")]);
        assert_eq!(
            p.renamed,
            vec![
                ("d/b.ibd".into(), "e/b2.ibd".into()),
                ("d/x.ibd".into(), "d/y.ibd".into()),
                ("d/y.ibd".into(), "d/x.ibd".into()),
            ]
        );
        assert_eq!(p.created.iter().map(|t| t.target.clone()).collect::<Vec<_>>(), vec![PathBuf::from("d/gone.ibd")]);
        assert_eq!(p.kept.len(), 4);
        assert!(p.kept.iter().any(|c| c.space_id == Some(6) && c.target == Path::new("e/b2.ibd")));
    }

    #[test]
    fn a_copy_shorter_than_its_file_now_is_copied_again_and_only_that_one() {
        let mut a = copied(Some(5), "d/a.ibd");
        a.bytes = 65536;
        let mut b = copied(Some(6), "d/b.ibd");
        b.bytes = 98304;
        // a grew by a 4-page extension after its copy ended; b did not.
        let sizes = |c: &CopiedTable| Ok::<u64, ()>(if c.space_id == Some(5) { 131072 } else { 98304 });
        let (kept, grown) = split_grown(vec![a, b], sizes).unwrap();
        assert_eq!(kept.iter().map(|c| c.space_id).collect::<Vec<_>>(), vec![Some(6)]);
        assert_eq!(grown.iter().map(|(c, n)| (c.space_id, *n)).collect::<Vec<_>>(), vec![(Some(5), 131072)]);
    }

    #[test]
    fn nothing_changed_means_nothing_to_do() {
        let before = vec![copied(Some(5), "d/a.ibd"), copied(Some(6), "d/b.ibd")];
        let p = plan(before.clone(), &[live(Some(5), "d/a.ibd"), live(Some(6), "d/b.ibd")]);
        assert_eq!(p, Plan { kept: before, ..Plan::default() });
    }

    #[test]
    fn a_table_without_page_0_is_copied_again_whatever_its_name() {
        // Copied before the server wrote page 0; the name may now be another table's.
        let p = plan(vec![copied(None, "d/new.ibd")], &[live(None, "d/new.ibd")]);
        assert_eq!(p.dropped, vec![PathBuf::from("d/new.ibd")]);
        assert_eq!(p.created.len(), 1);
        assert!(p.kept.is_empty());
    }
}
