//! mariabackup's partial backup options, read as it reads them:
//!
//! - `--databases="db1 db2.t1"` (and `--databases-file`, one per line): whole
//!   databases, or single tables as `db.table`;
//! - `--tables=REGEX[,REGEX...]` (and `--tables-file`, one `db.table` per line):
//!   tables whose `db.table` name a regular expression finds (unanchored: write
//!   `^db[.]t$` for one table);
//! - `--databases-exclude` and `--tables-exclude`, the same shapes, which win
//!   over every include.
//!
//! Names are the file system's (`@002d` for `-`), partitions go with their table.
//! Without an include option every table not excluded is held.

use innohot::backup::filter::TableFilter;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};

/// Databases, each whole (None) or some of its tables.
type Names = BTreeMap<String, Option<BTreeSet<String>>>;

/// The options as given (values not yet parsed).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FilterSpec {
    pub databases: Vec<String>,
    pub databases_exclude: Vec<String>,
    pub tables: Vec<String>,
    pub tables_exclude: Vec<String>,
    /// `db.table` names, one per line of `--tables-file`.
    pub table_names: Vec<String>,
}

impl FilterSpec {
    pub fn is_empty(&self) -> bool {
        *self == FilterSpec::default()
    }
}

/// A `--tables` or `--tables-exclude` pattern that is not a regular expression.
#[derive(Debug, thiserror::Error)]
#[error("--{option}='{pattern}' is not a regular expression: {source}")]
pub struct BadPattern {
    option: &'static str,
    pattern: String,
    source: regex::Error,
}

#[derive(Debug)]
pub struct NameFilter {
    databases: Names,
    databases_exclude: Names,
    tables: Vec<Regex>,
    tables_exclude: Vec<Regex>,
    table_names: BTreeSet<String>,
}

impl NameFilter {
    pub fn new(spec: &FilterSpec) -> Result<NameFilter, BadPattern> {
        let regexes = |option: &'static str, values: &[String]| -> Result<Vec<Regex>, BadPattern> {
            values
                .iter()
                .flat_map(|v| v.split(','))
                .filter(|r| !r.trim().is_empty())
                .map(|r| Regex::new(r.trim()).map_err(|source| BadPattern { option, pattern: r.to_string(), source }))
                .collect()
        };
        let table_names = spec.table_names.iter().map(|n| n.trim().to_string()).filter(|n| !n.is_empty()).collect();
        Ok(NameFilter {
            databases: names(&spec.databases),
            databases_exclude: names(&spec.databases_exclude),
            tables: regexes("tables", &spec.tables)?,
            tables_exclude: regexes("tables-exclude", &spec.tables_exclude)?,
            table_names,
        })
    }

    fn has_includes(&self) -> bool {
        !self.databases.is_empty() || !self.tables.is_empty() || !self.table_names.is_empty()
    }
}

/// `db` and `db.table` words, separated by spaces (or lines).
fn names(values: &[String]) -> Names {
    let mut out = Names::new();
    for word in values.iter().flat_map(|v| v.split_whitespace()) {
        match word.split_once('.') {
            None => {
                out.insert(word.to_string(), None);
            }
            Some((db, table)) => {
                if let Some(tables) = out.entry(db.to_string()).or_insert_with(|| Some(BTreeSet::new())) {
                    tables.insert(table.to_string());
                }
            }
        }
    }
    out
}

fn lists(names: &Names, db: &str, table: &str) -> bool {
    match names.get(db) {
        Some(None) => true,
        Some(Some(tables)) => tables.contains(table),
        None => false,
    }
}

impl TableFilter for NameFilter {
    fn includes_table(&self, db: &str, table: &str) -> bool {
        let full = format!("{db}.{table}");
        if lists(&self.databases_exclude, db, table) || self.tables_exclude.iter().any(|r| r.is_match(&full)) {
            return false;
        }
        !self.has_includes()
            || lists(&self.databases, db, table)
            || self.tables.iter().any(|r| r.is_match(&full))
            || self.table_names.contains(&full)
    }

    fn includes_database(&self, db: &str) -> bool {
        if matches!(self.databases_exclude.get(db), Some(None)) {
            return false;
        }
        self.databases.is_empty() || self.databases.contains_key(db)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(spec: FilterSpec) -> NameFilter {
        NameFilter::new(&spec).unwrap()
    }

    #[test]
    fn databases_name_whole_databases_or_single_tables_and_excludes_win() {
        let f = filter(FilterSpec {
            databases: vec!["shop  crm.users".into()],
            databases_exclude: vec!["shop.audit".into()],
            ..FilterSpec::default()
        });
        assert!(f.includes_table("shop", "orders") && f.includes_table("crm", "users"));
        assert!(!f.includes_table("shop", "audit"), "an exclude wins");
        assert!(!f.includes_table("crm", "leads") && !f.includes_table("mysql", "user"));
        assert!(f.includes_database("shop") && f.includes_database("crm") && !f.includes_database("mysql"));
    }

    #[test]
    fn tables_are_unanchored_regexes_on_db_dot_table() {
        let f = filter(FilterSpec {
            tables: vec!["^shop[.]o,crm".into()],
            tables_exclude: vec!["_old$".into()],
            table_names: vec!["misc.t1".into(), "".into()],
            ..FilterSpec::default()
        });
        assert!(f.includes_table("shop", "orders") && f.includes_table("shop", "outbox"));
        assert!(!f.includes_table("shop", "items") && f.includes_table("mycrm", "x"));
        assert!(!f.includes_table("shop", "orders_old"));
        assert!(f.includes_table("misc", "t1") && !f.includes_table("misc", "t2"));
        assert!(f.includes_database("anything"), "--tables alone keeps every database directory");
        let e = NameFilter::new(&FilterSpec { tables: vec!["(".into()], ..FilterSpec::default() }).unwrap_err();
        assert_eq!((e.option, e.pattern.as_str()), ("tables", "("));
        assert!(e.to_string().contains("--tables='(' is not a regular expression"), "{e}");
    }

    #[test]
    fn without_includes_everything_not_excluded_is_held() {
        let f = filter(FilterSpec { databases_exclude: vec!["junk".into()], ..FilterSpec::default() });
        assert!(f.includes_table("shop", "orders") && !f.includes_table("junk", "t"));
        assert!(!f.includes_database("junk") && f.includes_database("shop"));
    }
}
