//! The backup's other lines to the server: the log copier's and the copy pacer's.

use super::{nth_text, MysqlControl};
use crate::format::Lsn;
use crate::server::ServerError;

/// A second connection answers the log copier's thread, which must not wait
/// for the main connection's statements (the lock, the dictionary scan).
impl crate::server::LogWrittenProbe for MysqlControl {
    fn status_lsn(&mut self, variable: &str) -> Result<Lsn, ServerError> {
        let statement = format!("SHOW GLOBAL STATUS LIKE '{variable}'");
        let rows = self.rows(&statement)?;
        let value = rows.first().and_then(|r| nth_text(r, 1)).unwrap_or_default();
        value.trim().parse().map_err(|_| ServerError::Unexpected {
            statement,
            detail: format!("{variable} is '{value}', not a number"),
        })
    }
}

/// The counters `--throttle=auto` reads: row reads and writes by key, and commits.
const LOAD_COUNTERS: &str = "('Handler_write', 'Handler_update', 'Handler_delete', 'Handler_read_key', \
    'Handler_read_next', 'Handler_read_prev', 'Handler_read_first', 'Handler_read_last', 'Handler_read_rnd', \
    'Handler_commit', 'Threads_running')";

/// A third connection: the copy lanes read the server's load between chunks
/// (`--throttle=auto`). The read must not move the counters it reads: MySQL
/// 5.7's SHOW STATUS fills a temporary table and counts each of its rows in
/// `Handler_write` (354 a read, seen on 5.7.41), so where performance_schema
/// answers its table is read instead; MariaDB's SHOW STATUS counts its
/// temporary table apart (`Handler_tmp_write`), and its performance_schema
/// is usually off.
impl crate::server::LoadProbe for MysqlControl {
    fn load(&mut self) -> Result<crate::copy::Load, ServerError> {
        let from_ps = format!(
            "SELECT VARIABLE_NAME, VARIABLE_VALUE FROM performance_schema.global_status WHERE VARIABLE_NAME IN {LOAD_COUNTERS}"
        );
        let rows = match self.rows(&from_ps) {
            Ok(rows) if !rows.is_empty() => rows,
            _ => self.rows(&format!("SHOW GLOBAL STATUS WHERE Variable_name IN {LOAD_COUNTERS}"))?,
        };
        let mut load = crate::copy::Load { rows: 0, running: 0 };
        for row in rows {
            let (name, value) = (nth_text(&row, 0).unwrap_or_default(), nth_text(&row, 1).unwrap_or_default());
            let n: u64 = value.trim().parse().map_err(|_| ServerError::Unexpected {
                statement: "the server's load (Handler_* and Threads_running)".into(),
                detail: format!("{name} is '{value}', not a number"),
            })?;
            if name.eq_ignore_ascii_case("Threads_running") {
                // This statement is one of them.
                load.running = n.saturating_sub(1);
            } else {
                load.rows = load.rows.saturating_add(n);
            }
        }
        Ok(load)
    }
}
