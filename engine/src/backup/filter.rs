//! Partial backups: a backup of some tables only. The rule deciding which is
//! the caller's ([`TableFilter`]; the CLI builds mariabackup's `--databases` /
//! `--tables` family); this module applies it to what a backup meets: data files
//! and non-InnoDB files by their path under the datadir, tablespaces the
//! server's dictionary or the redo name. The system tablespace, undo
//! tablespaces, the redo and files at the datadir's top are always held.
//!
//! Names are the file system's (`@002d` for `-` and so on), as mariabackup
//! matches them; a partition (`t#P#p0`, `t#p#p0#sp#s0`) goes with its table.

use std::path::{Component, Path};
use std::sync::Arc;

/// Which tables and databases a partial backup holds.
pub trait TableFilter: Send + Sync + std::fmt::Debug {
    /// Whether the backup holds table `table` of database `db`.
    fn includes_table(&self, db: &str, table: &str) -> bool;
    /// Whether the backup holds database `db` at all (its directory), for the
    /// tables it may hold. Its `db.opt` goes as a table named `db` would, as
    /// mariabackup's filter sees it.
    fn includes_database(&self, db: &str) -> bool;
}

/// The filter of a backup: none (every table), or a partial backup's rule.
/// Equal only to itself (the same rule), as options compare.
#[derive(Debug, Clone, Default)]
pub struct Filter(pub Option<Arc<dyn TableFilter>>);

impl PartialEq for Filter {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for Filter {}

impl Filter {
    pub fn is_partial(&self) -> bool {
        self.0.is_some()
    }

    /// Whether the backup holds the file at `rel` (relative to the datadir, or
    /// as the backup stores it).
    pub fn holds_file(&self, rel: &Path) -> bool {
        let Some(f) = &self.0 else { return true };
        let rel = rel.strip_prefix(".").unwrap_or(rel);
        match rel.parent().map_or(0, |p| p.components().count()) {
            0 => true,
            1 => table_of(rel).is_none_or(|(db, table)| f.includes_table(&db, &table)),
            _ => true,
        }
    }

    /// Whether the backup holds the database `db` as a whole (its directory,
    /// when nothing is in it): only database-level rules count.
    pub fn holds_database(&self, db: &str) -> bool {
        self.0.as_ref().is_none_or(|f| f.includes_database(db))
    }

    /// Whether the backup holds the tablespace the server names `name` (`db/t`,
    /// as its dictionary and redo spell it; system and general tablespaces,
    /// without a `/`, always).
    pub fn holds_tablespace(&self, name: &str) -> bool {
        let Some(f) = &self.0 else { return true };
        let name = name.trim_start_matches("./").trim_end_matches(".ibd");
        match name.split_once('/') {
            Some(_) => table_of(Path::new(name)).is_none_or(|(db, table)| f.includes_table(&db, &table)),
            None => true,
        }
    }
}

/// The table a file or a dictionary name belongs to: `db/t.ibd`, `db/t#P#p1.MYD`
/// or `db/t` give `("db", "t")`.
pub fn table_of(rel: &Path) -> Option<(String, String)> {
    let parts: Vec<&str> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => s.to_str(),
            _ => None,
        })
        .collect();
    let [db, file] = parts[..] else { return None };
    let stem = file.split_once('.').map_or(file, |(stem, _)| stem);
    let table = ["#P#", "#p#"].iter().filter_map(|m| stem.find(m)).min().map_or(stem, |at| &stem[..at]);
    Some((db.to_string(), table.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct OnlyShop;
    impl TableFilter for OnlyShop {
        fn includes_table(&self, db: &str, table: &str) -> bool {
            db == "shop" && table != "logs"
        }
        fn includes_database(&self, db: &str) -> bool {
            db == "shop"
        }
    }

    #[test]
    fn files_and_names_map_to_their_table() {
        assert_eq!(table_of(Path::new("db/t.ibd")), Some(("db".into(), "t".into())));
        assert_eq!(table_of(Path::new("./db/t#P#p1.MYD")), Some(("db".into(), "t".into())));
        assert_eq!(table_of(Path::new("db/t#p#p0#sp#s1.ibd")), Some(("db".into(), "t".into())));
        assert_eq!(table_of(Path::new("db/t")), Some(("db".into(), "t".into())));
        assert_eq!(table_of(Path::new("ibdata1")), None);
    }

    #[test]
    fn a_partial_backup_holds_the_system_files_and_the_filtered_tables_only() {
        let f = Filter(Some(Arc::new(OnlyShop)));
        for held in ["ibdata1", "./undo001", "aria_log_control", "shop/orders.ibd", "shop/orders.frm", "shop/db.opt"] {
            assert!(f.holds_file(Path::new(held)), "{held}");
        }
        for left in ["shop/logs.ibd", "shop/logs#P#p0.ibd", "mysql/user.MYD", "mysql/db.opt", "other/t.frm"] {
            assert!(!f.holds_file(Path::new(left)), "{left}");
        }
        assert!(f.holds_tablespace("innodb_system") && f.holds_tablespace("shop/orders"));
        assert!(!f.holds_tablespace("shop/logs") && !f.holds_tablespace("./other/t.ibd"));
        let all = Filter::default();
        assert!(all.holds_file(Path::new("other/t.frm")) && all.holds_tablespace("other/t") && !all.is_partial());
        assert!(f == f.clone() && f != all && f != Filter(Some(Arc::new(OnlyShop))));
    }
}
