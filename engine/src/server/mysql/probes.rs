//! The backup's other lines to the server: the log copier's and the copy pacer's.

use super::{nth_text, MysqlControl};
use crate::format::Lsn;
use crate::server::ServerError;

/// A second connection answers the log copier's thread, which must not wait
/// for the main connection's statements (the lock, the dictionary scan).
impl crate::server::LogWrittenProbe for MysqlControl {
    fn flushed_lsn(&mut self) -> Result<Lsn, ServerError> {
        let statement = "SHOW GLOBAL STATUS LIKE 'Innodb_lsn_flushed'";
        let rows = self.rows(statement)?;
        let value = rows.first().and_then(|r| nth_text(r, 1)).unwrap_or_default();
        value.trim().parse().map_err(|_| ServerError::Unexpected {
            statement: statement.into(),
            detail: format!("Innodb_lsn_flushed is '{value}', not a number"),
        })
    }
}

/// A third connection: the copy lanes read the server's load between chunks
/// (`--throttle=auto`); status reads move none of these counters.
impl crate::server::LoadProbe for MysqlControl {
    fn load(&mut self) -> Result<crate::copy::Load, ServerError> {
        // Row reads and writes by key, and commits: a status read moves none of
        // them (it scans a temporary table: Handler_read_rnd_next, left out).
        let statement = "SHOW GLOBAL STATUS WHERE Variable_name IN ('Handler_write', 'Handler_update', \
            'Handler_delete', 'Handler_read_key', 'Handler_read_next', 'Handler_read_prev', 'Handler_read_first', \
            'Handler_read_last', 'Handler_read_rnd', 'Handler_commit', 'Threads_running')";
        let mut load = crate::copy::Load { rows: 0, running: 0 };
        for row in self.rows(statement)? {
            let (name, value) = (nth_text(&row, 0).unwrap_or_default(), nth_text(&row, 1).unwrap_or_default());
            let n: u64 = value.trim().parse().map_err(|_| ServerError::Unexpected {
                statement: statement.into(),
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
