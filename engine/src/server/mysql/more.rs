//! More of what `MysqlControl` asks the server: the LSNs without PROCESS, rows as text for the
//! command line (`SHOW GRANTS`, replica status), and the Aria logs the server no longer needs.

use super::{nth_text, MysqlControl};
use crate::format::Lsn;
use crate::server::ServerError;
use std::collections::BTreeMap;

impl MysqlControl {
    /// `SHOW ENGINE INNODB STATUS` needs PROCESS; MariaDB (10.3+) shows the same LSNs to every
    /// user as status variables (`Innodb_lsn_current`, `Innodb_lsn_last_checkpoint`). Any other
    /// refusal, or a server without the variable (MySQL 5.7), is the first error.
    pub(super) fn lsn_status_instead(&mut self, refused: ServerError, variable: &str) -> Result<Lsn, ServerError> {
        if !matches!(refused, ServerError::MissingPrivilege { .. }) {
            return Err(refused);
        }
        let statement = format!("SHOW GLOBAL STATUS LIKE '{variable}'");
        let rows = self.rows(&statement)?;
        let Some(value) = rows.first().and_then(|r| nth_text(r, 1)) else { return Err(refused) };
        value.trim().parse().map_err(|_| ServerError::Unexpected {
            statement,
            detail: format!("{variable} is '{value}', not a number"),
        })
    }

    /// Each row of `statement` as text (NULL as None): for what the command line asks of the
    /// server besides the backup itself (`SHOW GRANTS`, replica status).
    pub fn text_rows(&mut self, statement: &str) -> Result<Vec<Vec<Option<String>>>, ServerError> {
        let rows = self.rows(statement)?;
        Ok(rows.iter().map(|r| (0..r.len()).map(|i| nth_text(r, i)).collect()).collect())
    }

    /// The column names of `statement`'s rows with each row's text, by name.
    pub fn named_rows(&mut self, statement: &str) -> Result<Vec<BTreeMap<String, String>>, ServerError> {
        let rows = self.rows(statement)?;
        Ok(rows
            .iter()
            .map(|r| {
                let names = r.columns_ref().iter().map(|c| c.name_str().into_owned());
                names.enumerate().filter_map(|(i, n)| Some((n, nth_text(r, i)?))).collect()
            })
            .collect())
    }

    /// Runs a statement that returns no rows (`STOP SLAVE SQL_THREAD`).
    pub fn execute(&mut self, statement: &str) -> Result<(), ServerError> {
        self.exec(statement)
    }
}

/// The log file of a `SHOW ENGINE ARIA LOGS` row's Name (`Size 8388608 ; ./aria_log.00000001`).
pub(super) fn aria_log_name(name: &str) -> Option<String> {
    let file = name.rsplit(['/', ' ']).next()?;
    file.starts_with("aria_log.").then(|| file.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aria_log_names_from_show_engine_aria_logs() {
        assert_eq!(aria_log_name("Size 8388608 ; ./aria_log.00000001").as_deref(), Some("aria_log.00000001"));
        assert_eq!(aria_log_name("Size 16384 ; /var/aria/aria_log.00000002").as_deref(), Some("aria_log.00000002"));
        assert_eq!(aria_log_name("Size 1 ; aria_log.00000003").as_deref(), Some("aria_log.00000003"));
        assert_eq!(aria_log_name("something else"), None);
    }
}
