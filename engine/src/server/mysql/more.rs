//! More of what `MysqlControl` asks the server: the LSNs without PROCESS, rows as text for the
//! command line (`SHOW GRANTS`, replica status), and the Aria logs the server no longer needs.

use super::{nth_text, ConnectOptions, MysqlControl};
use crate::format::Lsn;
use crate::server::ServerError;
use std::collections::BTreeMap;
use std::path::Path;

/// TLS over a Unix socket, which the driver cannot do: the same server over TCP on this host
/// (127.0.0.1 at the given port), with TLS, proven the socket's by its `@@socket`.
pub(super) fn connect_tls_beside_socket(
    opts: &ConnectOptions,
    socket: &Path,
    port: u16,
) -> Result<MysqlControl, ServerError> {
    let tcp = ConnectOptions { socket: None, host: Some("127.0.0.1".into()), ..opts.clone() };
    let beside = |e: ServerError| {
        ServerError::Connection(format!(
            "TLS cannot run over the Unix socket {} with innohot, so it connected to 127.0.0.1:{port} over TCP \
             instead, which failed: {e}; let the server listen on TCP there, or give --ssl-mode=DISABLED to use \
             the socket without TLS",
            socket.display()
        ))
    };
    let mut me = MysqlControl::connect(&tcp).map_err(beside)?;
    let rows = me.rows("SELECT @@socket")?;
    let theirs = rows.first().and_then(|r| nth_text(r, 0)).unwrap_or_default();
    if !same_socket(Path::new(&theirs), socket) {
        return Err(ServerError::Connection(format!(
            "TLS cannot run over the Unix socket {} with innohot, so it connected to 127.0.0.1:{port} over TCP \
             instead: but the server there has the socket {theirs}, another server's; give --host and --port of \
             the server to back up, or --ssl-mode=DISABLED to use the socket without TLS",
            socket.display()
        )));
    }
    Ok(me)
}

/// Whether two socket paths name the same file (as given, or once resolved).
fn same_socket(a: &Path, b: &Path) -> bool {
    a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

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
    /// `ServerControl::history_to_lsn`.
    pub(super) fn newest_history_lsn(
        &mut self,
        table: crate::server::HistoryTable,
        by: &crate::server::HistoryRow,
    ) -> Result<Option<Lsn>, ServerError> {
        let (column, value) = match by {
            crate::server::HistoryRow::Name(n) => ("name", n),
            crate::server::HistoryRow::Uuid(u) => ("uuid", u),
        };
        let statement = format!(
            "SELECT innodb_to_lsn FROM {} WHERE {column} = ? AND innodb_to_lsn IS NOT NULL \
             ORDER BY innodb_to_lsn DESC LIMIT 1",
            table.name()
        );
        use mysql::prelude::Queryable;
        let got: Option<u64> =
            self.conn.exec_first(&statement, (value.as_str(),)).map_err(|e| self.err(&statement, e))?;
        Ok(got)
    }

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
    fn sockets_are_the_same_file_or_not() {
        assert!(same_socket(Path::new("/run/a.sock"), Path::new("/run/a.sock")), "as given");
        assert!(same_socket(Path::new("/"), Path::new("/tmp/..")), "once resolved");
        assert!(!same_socket(Path::new("/"), Path::new("/tmp")));
        assert!(!same_socket(Path::new("/no/such.sock"), Path::new("/no/other.sock")));
    }

    #[test]
    fn aria_log_names_from_show_engine_aria_logs() {
        assert_eq!(aria_log_name("Size 8388608 ; ./aria_log.00000001").as_deref(), Some("aria_log.00000001"));
        assert_eq!(aria_log_name("Size 16384 ; /var/aria/aria_log.00000002").as_deref(), Some("aria_log.00000002"));
        assert_eq!(aria_log_name("Size 1 ; aria_log.00000003").as_deref(), Some("aria_log.00000003"));
        assert_eq!(aria_log_name("something else"), None);
    }
}
