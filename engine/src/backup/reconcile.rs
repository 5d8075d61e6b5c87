//! Under the lock no DDL runs: the backup's tablespaces are made the
//! server's. What to do is planned here, as a pure function of what was
//! copied and what is on disk now, matched by space id: tables created during
//! the copy are copied now (their redo starts after the start checkpoint),
//! dropped ones leave the backup, renamed ones follow their new name.

use super::CopiedTable;
use crate::copy::Tablespace;
use std::path::PathBuf;

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
/// reuse the name for a new table): such a copy counts as dropped and the
/// live file as created, so it is copied again under the lock. It was created
/// after the start checkpoint (its pages were still unwritten), so the copied
/// redo rebuilds it. (Found by the MariaDB simulator.)
fn same(copied: &CopiedTable, live: &(Option<u32>, Tablespace)) -> bool {
    match (copied.space_id, live.0) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `live`: every file-per-table tablespace on disk now, with the space id its
/// page 0 gives (None while page 0 is not written).
pub(super) fn plan(copied: Vec<CopiedTable>, live: &[(Option<u32>, Tablespace)]) -> Plan {
    let mut plan = Plan::default();
    for mut c in copied {
        match live.iter().find(|l| same(&c, l)) {
            None => plan.dropped.push(c.target),
            Some(l) => {
                if l.1.target != c.target {
                    plan.renamed.push((c.target.clone(), l.1.target.clone()));
                    c.target = l.1.target.clone();
                    c.source = l.1.source.clone();
                }
                plan.kept.push(c);
            }
        }
    }
    for l in live {
        if !plan.kept.iter().any(|c| same(c, l)) {
            plan.created.push(l.1.clone());
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::TablespaceKind;
    use std::path::Path;

    fn copied(id: Option<u32>, target: &str) -> CopiedTable {
        CopiedTable { space_id: id, source: PathBuf::from("/data").join(target), target: target.into(), file_id: None }
    }

    fn live(id: Option<u32>, target: &str) -> (Option<u32>, Tablespace) {
        let ts = Tablespace {
            source: PathBuf::from("/data").join(target),
            target: target.into(),
            kind: TablespaceKind::Table,
        };
        (id, ts)
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
