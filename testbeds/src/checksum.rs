//! Table checksums to compare a server with a restored copy of it.

use std::collections::BTreeMap;

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::{quote_ident, sql_err, Error, Result, TestServer};

/// Schemas that are never checksummed:
/// - `information_schema`: views computed by the server, no stored tables;
/// - `performance_schema`: in-memory instrumentation, differs by design
///   between any two servers (and is not in a backup);
/// - `sys`: helper views over performance_schema plus the tiny
///   `sys.sys_config` settings table, not user data.
pub const SKIPPED_SCHEMAS: &[&str] = &["information_schema", "performance_schema", "sys"];

/// Tables of the `mysql` schema whose content changes on its own, so two
/// servers holding the same data disagree on them:
/// - `innodb_table_stats`, `innodb_index_stats`: InnoDB persistent
///   statistics, rewritten by the background statistics thread after DML
///   (and on first open after a restart or restore), with `last_update`
///   timestamps;
/// - `general_log`, `slow_log`: CSV log tables that grow with activity when
///   logging to tables is on.
///
/// Everything else in `mysql` (grants, time zones, help, engine-independent
/// statistics, `gtid_slave_pos`, `transaction_registry`, ...) is compared.
pub const SKIPPED_MYSQL_TABLES: &[&str] = &["innodb_table_stats", "innodb_index_stats", "general_log", "slow_log"];

/// `CHECKSUM TABLE ... EXTENDED` of every base table (`TABLE_TYPE = 'BASE
/// TABLE'`; views, sequences and temporary tables are not included) outside
/// [`SKIPPED_SCHEMAS`], except [`SKIPPED_MYSQL_TABLES`]. Keys are
/// `schema.table`. `EXTENDED` reads every row, so a MyISAM/Aria live
/// checksum kept in the table header is not trusted blindly.
///
/// Note: system-versioned tables have `TABLE_TYPE = 'SYSTEM VERSIONED'`, so
/// they are not included either; [`all_table_checksums`] includes them.
pub fn table_checksums(conn: &mut Conn) -> Result<BTreeMap<String, u64>> {
    checksums_of_types(conn, &["BASE TABLE"])
}

/// Like [`table_checksums`], plus system-versioned tables (their checksum
/// covers the history rows and their `ROW_START` / `ROW_END` values) and
/// sequences (their one stored row).
pub fn all_table_checksums(conn: &mut Conn) -> Result<BTreeMap<String, u64>> {
    checksums_of_types(conn, &["BASE TABLE", "SYSTEM VERSIONED", "SEQUENCE"])
}

fn checksums_of_types(conn: &mut Conn, types: &[&str]) -> Result<BTreeMap<String, u64>> {
    let types: Vec<String> = types.iter().map(|t| format!("'{t}'")).collect();
    let tables: Vec<(String, String)> = conn
        .query(format!(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE IN ({}) \
             ORDER BY TABLE_SCHEMA, TABLE_NAME",
            types.join(", ")
        ))
        .map_err(sql_err("listing tables"))?;
    let mut out = BTreeMap::new();
    for (schema, table) in tables {
        if skipped(&schema, &table) {
            continue;
        }
        let name = format!("{schema}.{table}");
        let sql = format!("CHECKSUM TABLE {}.{} EXTENDED", quote_ident(&schema), quote_ident(&table));
        let row: Option<(String, Option<u64>)> = conn.query_first(&sql).map_err(sql_err(sql.clone()))?;
        match row {
            Some((_, Some(sum))) => {
                out.insert(name, sum);
            }
            _ => {
                return Err(Error::Unexpected {
                    detail: format!("{sql} returned no checksum (table missing or unreadable)"),
                })
            }
        }
    }
    Ok(out)
}

/// `CHECK TABLE ... EXTENDED` of every base table [`table_checksums`]
/// covers: one line per table whose check reports an error or whose final
/// status is not `OK` (empty when every table passes).
pub fn check_tables_extended(conn: &mut Conn) -> Result<String> {
    let tables: Vec<(String, String)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES \
             WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME",
        )
        .map_err(sql_err("listing tables"))?;
    let mut bad = String::new();
    for (schema, table) in tables {
        if !skipped(&schema, &table) {
            bad.push_str(&check_table(conn, &schema, &table)?);
        }
    }
    Ok(bad)
}

/// [`check_tables_extended`] of the tables named (`schema.table`, unquoted,
/// split at the first dot): one line per table that fails.
pub fn check_tables<S: AsRef<str>>(conn: &mut Conn, tables: &[S]) -> Result<String> {
    let mut bad = String::new();
    for name in tables {
        let name = name.as_ref();
        let (schema, table) = name
            .split_once('.')
            .ok_or_else(|| Error::Unexpected { detail: format!("{name:?} is not schema.table") })?;
        bad.push_str(&check_table(conn, schema, table)?);
    }
    Ok(bad)
}

/// A table's failure line, or nothing when it passes: no `error` row and a
/// last row of status `OK`.
fn check_table(conn: &mut Conn, schema: &str, table: &str) -> Result<String> {
    let sql = format!("CHECK TABLE {}.{} EXTENDED", quote_ident(schema), quote_ident(table));
    let rows: Vec<(String, String, String, String)> = conn.query(&sql).map_err(sql_err(sql.clone()))?;
    let failed = rows.iter().any(|(_, _, kind, _)| kind == "error")
        || rows.last().is_none_or(|(_, _, kind, text)| kind == "status" && text != "OK");
    if !failed {
        return Ok(String::new());
    }
    let said: Vec<String> = rows.iter().map(|(_, _, k, t)| format!("{k}: {t}")).collect();
    Ok(format!("  {schema}.{table}: {}\n", said.join("; ")))
}

fn skipped(schema: &str, table: &str) -> bool {
    SKIPPED_SCHEMAS.contains(&schema) || (schema == "mysql" && SKIPPED_MYSQL_TABLES.contains(&table))
}

/// [`table_checksums`] of a test's server; panics when they cannot be read
/// (the test cannot go on without them).
pub fn checksums_of(server: &impl TestServer) -> BTreeMap<String, u64> {
    table_checksums(&mut server.conn().expect("connect")).expect("CHECKSUM TABLE")
}

/// [`all_table_checksums`] of a test's server, likewise.
pub fn all_checksums_of(server: &impl TestServer) -> BTreeMap<String, u64> {
    all_table_checksums(&mut server.conn().expect("connect")).expect("CHECKSUM TABLE")
}
