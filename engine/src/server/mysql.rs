//! The real control plane: one MySQL-protocol connection (the `mysql` crate;
//! TLS by rustls over TCP) on which every statement of the backup runs, so
//! that the locks it takes live exactly as long as the connection.
//!
//! TLS (`--ssl-mode`): DISABLED (also the default when neither `--ssl-mode`
//! nor `--ssl-ca` is given, as before TLS existed), PREFERRED (TLS without
//! verification when the server offers it, else plain), REQUIRED (TLS, the
//! certificate not verified), VERIFY_CA (signed by `--ssl-ca`), VERIFY_IDENTITY
//! (and issued for the host name); `--ssl-ca` alone means VERIFY_CA. Over a
//! Unix socket the driver never uses TLS: the bytes do not leave the host.

use super::{
    BinlogPos, GtidSource, HistoryTable, LockStep, ReplicaConnection, ReplicaStatus, ServerControl, ServerError,
    ServerPlugin, ServerTablespace, ServerVars, TablespaceDictionary,
};
use crate::format::Lsn;
use mysql::prelude::Queryable;
use mysql::{ClientIdentity, Conn, OptsBuilder, Row, SslOpts};
use std::fmt;
use std::path::PathBuf;

/// How to reach the server. The password never reaches a log, a trace or an error.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    pub socket: Option<PathBuf>,
    pub host: Option<String>,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub tls: TlsOptions,
}

/// `--ssl-mode`, as the MySQL clients spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disabled,
    Preferred,
    Required,
    VerifyCa,
    VerifyIdentity,
}

impl SslMode {
    /// Whether the connection must be encrypted (REQUIRED and the verifying modes).
    pub fn required(self) -> bool {
        matches!(self, SslMode::Required | SslMode::VerifyCa | SslMode::VerifyIdentity)
    }

    /// As `--ssl-mode` spells it.
    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }
}

/// A `--ssl-mode` value that names no mode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--ssl-mode={0} is not one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY")]
pub struct BadSslMode(pub String);

impl std::str::FromStr for SslMode {
    type Err = BadSslMode;
    fn from_str(s: &str) -> Result<Self, BadSslMode> {
        Ok(match s.to_ascii_uppercase().as_str() {
            "DISABLED" => SslMode::Disabled,
            "PREFERRED" => SslMode::Preferred,
            "REQUIRED" => SslMode::Required,
            "VERIFY_CA" => SslMode::VerifyCa,
            "VERIFY_IDENTITY" => SslMode::VerifyIdentity,
            _ => return Err(BadSslMode(s.to_string())),
        })
    }
}

/// TLS settings for a TCP connection; paths to PEM files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: Option<SslMode>,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl TlsOptions {
    /// The mode in force: as given, else VERIFY_CA when a CA is given, else DISABLED.
    pub fn mode(&self) -> SslMode {
        match (self.mode, &self.ca) {
            (Some(m), _) => m,
            (None, Some(_)) => SslMode::VerifyCa,
            (None, None) => SslMode::Disabled,
        }
    }

    /// The driver's TLS settings for this mode; None for DISABLED.
    fn driver_opts(&self) -> Option<SslOpts> {
        let mut s = SslOpts::default();
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            s = s.with_client_identity(Some(ClientIdentity::new(cert.clone(), key.clone())));
        }
        Some(match self.mode() {
            SslMode::Disabled => return None,
            SslMode::Preferred | SslMode::Required => s.with_danger_accept_invalid_certs(true),
            SslMode::VerifyCa => s.with_root_cert_path(self.ca.clone()).with_danger_skip_domain_validation(true),
            SslMode::VerifyIdentity => s.with_root_cert_path(self.ca.clone()),
        })
    }
}

impl fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("socket", &self.socket)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "********"))
            .field("tls", &self.tls)
            .finish()
    }
}

impl ConnectOptions {
    /// Where the connection goes, for messages ("socket /run/mysqld.sock", "127.0.0.1:3306").
    pub fn describe(&self) -> String {
        match (&self.socket, &self.host) {
            (Some(s), _) => format!("socket {}", s.display()),
            (None, Some(h)) => format!("{h}:{}", self.port.unwrap_or(3306)),
            (None, None) => format!("localhost:{}", self.port.unwrap_or(3306)),
        }
    }
}

/// The statements that release what this connection took, in the order to
/// run them (each lock step says how it is released).
type Held = Vec<&'static str>;

pub struct MysqlControl {
    conn: Conn,
    password: Option<String>,
    held: Held,
}

impl MysqlControl {
    pub fn connect(opts: &ConnectOptions) -> Result<Self, ServerError> {
        if let (Some(socket), Some(port)) = (&opts.socket, opts.port) {
            if opts.tls.mode().required() {
                return more::connect_tls_beside_socket(opts, socket, port);
            }
        }
        let mut b = OptsBuilder::new()
            .user(opts.user.clone())
            .pass(opts.password.clone())
            .prefer_socket(false)
            .read_timeout(None)
            .write_timeout(None);
        b = match (&opts.socket, &opts.host) {
            (Some(s), _) => b.socket(Some(s.to_string_lossy().into_owned())),
            (None, host) => b
                .ip_or_hostname(Some(host.clone().unwrap_or_else(|| "127.0.0.1".into())))
                .tcp_port(opts.port.unwrap_or(3306)),
        };
        let password = opts.password.clone().filter(|p| !p.is_empty());
        let tls = if opts.socket.is_some() { None } else { opts.tls.driver_opts() };
        let conn = match Conn::new(b.clone().ssl_opts(tls)) {
            // PREFERRED: plain when the server offers no TLS.
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
                if opts.tls.mode() == SslMode::Preferred =>
            {
                Conn::new(b)
            }
            other => other,
        };
        let conn = conn.map_err(|e| connect_error(opts, password.as_deref(), e))?;
        let mut me = MysqlControl { conn, password, held: Held::default() };
        // A backup may hold this connection idle for a long data copy.
        me.exec("SET SESSION wait_timeout=2147483")?;
        Ok(me)
    }

    fn err(&self, statement: &str, e: mysql::Error) -> ServerError {
        let message = redact(&plain(&e), self.password.as_deref());
        match e {
            mysql::Error::MySqlError(m) if PRIVILEGE_ERRORS.contains(&m.code) => {
                ServerError::MissingPrivilege { statement: statement.to_string(), message }
            }
            mysql::Error::MySqlError(m) if GONE_ERRORS.contains(&m.code) => {
                ServerError::Lost { statement: statement.to_string(), message }
            }
            mysql::Error::IoError(_) | mysql::Error::DriverError(_) | mysql::Error::CodecError(_) => {
                ServerError::Lost { statement: statement.to_string(), message }
            }
            _ => ServerError::Statement { statement: statement.to_string(), message },
        }
    }

    fn exec(&mut self, statement: &str) -> Result<(), ServerError> {
        self.conn.query_drop(statement).map_err(|e| self.err(statement, e))
    }

    /// A number from `SHOW ENGINE INNODB STATUS` (its LOG section).
    fn innodb_status_number(&mut self, label: &str) -> Result<Lsn, ServerError> {
        let statement = "SHOW ENGINE INNODB STATUS";
        let rows = self.rows(statement)?;
        let status = rows.first().and_then(|r| text(r, "Status")).unwrap_or_default();
        status_number(&status, label).ok_or_else(|| ServerError::Unexpected {
            statement: statement.into(),
            detail: format!("no \"{label}\" line"),
        })
    }

    fn rows(&mut self, statement: &str) -> Result<Vec<Row>, ServerError> {
        self.conn.query(statement).map_err(|e| self.err(statement, e))
    }
}

mod more;
mod probes;

/// Removes the password from text that came back from the driver or server.
/// ER_DBACCESS_DENIED_ERROR, ER_TABLEACCESS_DENIED_ERROR, ER_SPECIFIC_ACCESS_DENIED_ERROR:
/// the message names the privilege.
const PRIVILEGE_ERRORS: [u16; 3] = [1044, 1142, 1227];
/// The server is going or gone: ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED (MariaDB),
/// CR_SERVER_GONE_ERROR, CR_SERVER_LOST.
/// ER_UNKNOWN_TABLE: an information_schema table whose plugin is disabled.
const ER_UNKNOWN_TABLE: u16 = 1109;
/// "Unknown storage engine" (a server without Aria).
const ER_UNKNOWN_STORAGE_ENGINE: u16 = 1286;
/// "Access denied; you need (at least one of) the X privilege(s)".
const ER_SPECIFIC_ACCESS_DENIED: u16 = 1227;
const GONE_ERRORS: [u16; 4] = [1053, 1927, 2006, 2013];

/// The driver's error without its Rust wrapper (`MySqlError { ... }`).
fn plain(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
        mysql::Error::IoError(io) => io.to_string(),
        mysql::Error::DriverError(d) => d.to_string(),
        // Its own words wrap the OS error in `...' quotes: the OS error alone.
        mysql::Error::CodecError(c) => match std::error::Error::source(c) {
            Some(io) => io.to_string(),
            None => c.to_string(),
        },
        other => other.to_string(),
    }
}

/// What a failed connect means, in the user's terms: refused login, nothing
/// listening, or (anything else) the driver's own words. Never the password.
fn connect_error(opts: &ConnectOptions, password: Option<&str>, e: mysql::Error) -> ServerError {
    let at = opts.describe();
    let user = opts.user.clone().unwrap_or_default();
    match &e {
        mysql::Error::MySqlError(m) if m.code == 1045 => ServerError::AccessDenied {
            user,
            at,
            detail: redact(&format!("ERROR {}: {}", m.code, m.message), password),
        },
        mysql::Error::IoError(io) => ServerError::Unreachable { at, detail: redact(&io.to_string(), password) },
        mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(what)) => {
            let detail = match what {
                Some((_, desc, _)) => desc.clone(),
                None => "could not connect".to_string(),
            };
            ServerError::Unreachable { at, detail: redact(&detail, password) }
        }
        mysql::Error::DriverError(mysql::DriverError::ConnectTimeout) => {
            ServerError::Unreachable { at, detail: "the connection attempt timed out".into() }
        }
        mysql::Error::DriverError(mysql::DriverError::TlsNotSupported) => ServerError::Tls(format!(
            "the server at {at} does not offer TLS but --ssl-mode={} asks for it: enable TLS on the server \
             (ssl_cert, ssl_key) or connect without --ssl-mode",
            opts.tls.mode().name()
        )),
        // rustls refuses the certificate inside the packet codec's read.
        mysql::Error::TlsError(_) | mysql::Error::CodecError(_)
            if opts.socket.is_none() && opts.tls.mode() != SslMode::Disabled =>
        {
            let ca = opts.tls.ca.as_ref().map(|c| c.display().to_string()).unwrap_or_else(|| "(none)".into());
            ServerError::Tls(format!(
                "the TLS handshake with the server at {at} failed ({}): the server's certificate is not \
                 signed by the CA in --ssl-ca {ca} (or not issued for that host name); give the CA that \
                 signed the server's certificate, or --ssl-mode=REQUIRED to encrypt without verifying",
                redact(&plain(&e), password)
            ))
        }
        _ => ServerError::Connection(format!("{at} as user '{user}': {}", redact(&plain(&e), password))),
    }
}

fn redact(text: &str, password: Option<&str>) -> String {
    match password {
        Some(p) if !p.is_empty() => text.replace(p, "********"),
        _ => text.to_string(),
    }
}

/// Whether a running statement would hold up the backup's lock, as mariabackup's
/// `--ftwrl-wait-query-type` counts them: writes always, and with `all` also reads,
/// calls and transactions (leading blanks, `(` and comments skipped).
pub fn holds_up_lock(statement: &str, all: bool) -> bool {
    const WRITES: [&str; 6] = ["insert", "update", "delete", "replace", "alter", "load"];
    const OTHERS: [&str; 6] = ["select", "do", "handler", "call", "execute", "begin"];
    let mut s = statement;
    loop {
        let trimmed = s.trim_start_matches(['\t', '\n', '\r', ' ', '(']);
        match trimmed.strip_prefix("/*") {
            Some(rest) => s = rest.split_once("*/").map_or("", |(_, after)| after),
            None => {
                s = trimmed;
                break;
            }
        }
    }
    let starts = |w: &&str| s.get(..w.len()).is_some_and(|head| head.eq_ignore_ascii_case(w));
    WRITES.iter().any(starts) || (all && OTHERS.iter().any(starts))
}

fn text(row: &Row, column: &str) -> Option<String> {
    let idx = row.columns_ref().iter().position(|c| c.name_str().eq_ignore_ascii_case(column))?;
    nth_text(row, idx)
}

fn nth_text(row: &Row, idx: usize) -> Option<String> {
    match row.as_ref(idx)? {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// "Log sequence number N" from `SHOW ENGINE INNODB STATUS`.
pub fn parse_lsn_from_status(status: &str) -> Option<Lsn> {
    status_number(status, "Log sequence number")
}

/// The number after `label` on its line of `SHOW ENGINE INNODB STATUS`.
fn status_number(status: &str, label: &str) -> Option<Lsn> {
    status
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// mariabackup's history table, column for column (its `--history` creates the same).
impl ServerControl for MysqlControl {
    fn variables(&mut self) -> Result<ServerVars, ServerError> {
        let mut vars = std::collections::BTreeMap::new();
        for row in self.rows("SHOW VARIABLES")? {
            if let (Some(k), v) = (text(&row, "Variable_name"), text(&row, "Value")) {
                vars.insert(k, v.unwrap_or_default());
            }
        }
        Ok(ServerVars(vars))
    }

    fn lock(&mut self, step: LockStep) -> Result<(), ServerError> {
        self.exec(step.statement())?;
        if let Some(release) = step.release_statement() {
            self.held.push(release);
        }
        Ok(())
    }

    fn unlock(&mut self) -> Result<(), ServerError> {
        while let Some(release) = self.held.last().copied() {
            self.exec(release)?;
            self.held.pop();
        }
        Ok(())
    }

    fn binlog_position(&mut self, gtid: GtidSource) -> Result<Option<BinlogPos>, ServerError> {
        let rows = match self.rows("SHOW MASTER STATUS") {
            Ok(rows) => rows,
            // A user without BINLOG MONITOR (REPLICATION CLIENT) may not ask, though with binary
            // logging off there is nothing to tell; with it on, the refusal stands.
            Err(e @ ServerError::MissingPrivilege { .. }) => {
                let log_bin = self.rows("SELECT @@GLOBAL.log_bin")?;
                return match log_bin.first().and_then(|r| nth_text(r, 0)).as_deref() {
                    Some("0") => Ok(None),
                    _ => Err(e),
                };
            }
            Err(e) => return Err(e),
        };
        let Some(row) = rows.first() else { return Ok(None) };
        let file = text(row, "File").unwrap_or_default();
        let position = text(row, "Position").and_then(|p| p.parse().ok()).unwrap_or(0);
        let gtid = match gtid {
            GtidSource::MasterStatusColumn(column) => text(row, column).unwrap_or_default(),
            GtidSource::Query(statement) => {
                let rows = self.rows(statement)?;
                rows.first().and_then(|r| nth_text(r, 0)).unwrap_or_default()
            }
        };
        Ok(Some(BinlogPos { file, position, gtid: gtid.replace('\n', "") }))
    }

    fn set_lock_wait_timeout(&mut self, seconds: u64) -> Result<(), ServerError> {
        self.exec(&format!("SET SESSION lock_wait_timeout={seconds}"))
    }

    fn long_query(&mut self, min_seconds: u64, all: bool) -> Result<Option<String>, ServerError> {
        for row in self.rows("SHOW FULL PROCESSLIST")? {
            let (Some(info), Some(id)) = (text(&row, "Info"), text(&row, "Id")) else { continue };
            let duration: u64 = text(&row, "Time").and_then(|t| t.parse().ok()).unwrap_or(0);
            if duration >= min_seconds && holds_up_lock(&info, all) {
                return Ok(Some(format!("query {id} (duration {duration} sec): {info}")));
            }
        }
        Ok(None)
    }

    fn replica_status(&mut self) -> Result<ReplicaStatus, ServerError> {
        let connections = self
            .rows("SHOW ALL SLAVES STATUS")?
            .iter()
            .map(|row| ReplicaConnection {
                name: text(row, "Connection_name").unwrap_or_default(),
                master_file: text(row, "Relay_Master_Log_File").unwrap_or_default(),
                master_position: text(row, "Exec_Master_Log_Pos").unwrap_or_default(),
                using_gtid: text(row, "Using_Gtid").unwrap_or_default(),
            })
            .collect();
        let rows = self.rows("SELECT @@GLOBAL.gtid_slave_pos")?;
        let gtid_slave_pos = rows.first().and_then(|r| nth_text(r, 0)).unwrap_or_default();
        Ok(ReplicaStatus { connections, gtid_slave_pos })
    }

    fn wsrep_state(&mut self) -> Result<Option<(String, String)>, ServerError> {
        let rows =
            self.rows("SHOW STATUS WHERE Variable_name IN ('wsrep_local_state_uuid', 'wsrep_last_committed')")?;
        let value = |name: &str| {
            rows.iter()
                .find(|r| nth_text(r, 0).is_some_and(|n| n.eq_ignore_ascii_case(name)))
                .and_then(|r| nth_text(r, 1))
        };
        Ok(value("wsrep_local_state_uuid").zip(value("wsrep_last_committed")))
    }

    fn aria_free_logs(&mut self) -> Result<Option<Vec<String>>, ServerError> {
        let statement = "SHOW ENGINE ARIA LOGS";
        let rows = match self.conn.query::<Row, _>(statement) {
            Ok(rows) => rows,
            Err(mysql::Error::MySqlError(m))
                if [ER_UNKNOWN_STORAGE_ENGINE, ER_SPECIFIC_ACCESS_DENIED, 1045].contains(&m.code) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(self.err(statement, e)),
        };
        Ok(Some(
            rows.iter()
                .filter(|r| text(r, "Status").as_deref() == Some("free"))
                .filter_map(|r| more::aria_log_name(&text(r, "Name")?))
                .collect(),
        ))
    }

    fn flush_engine_logs(&mut self) -> Result<(), ServerError> {
        self.exec("FLUSH NO_WRITE_TO_BINLOG ENGINE LOGS")
    }

    fn checkpoint_now(&mut self) -> Result<(), ServerError> {
        self.exec("SET GLOBAL innodb_log_checkpoint_now=ON")
    }

    fn history_to_lsn(&mut self, table: HistoryTable, by: &super::HistoryRow) -> Result<Option<Lsn>, ServerError> {
        self.newest_history_lsn(table, by)
    }

    fn record_history(
        &mut self,
        table: HistoryTable,
        name: &str,
        info: &crate::meta::BackupInfo,
    ) -> Result<(), ServerError> {
        if table == HistoryTable::Percona {
            self.exec("CREATE DATABASE IF NOT EXISTS PERCONA_SCHEMA")?;
        }
        let table = table.name();
        self.exec(&format!(
            "CREATE TABLE IF NOT EXISTS {table} ({}) ENGINE=InnoDB DEFAULT CHARSET=utf8",
            crate::meta::HISTORY_COLUMNS
        ))?;
        let insert = format!(
            "INSERT INTO {table} (uuid, name, tool_name, tool_command, tool_version, ibbackup_version, \
             server_version, start_time, end_time, lock_time, binlog_pos, innodb_from_lsn, innodb_to_lsn, partial, \
             incremental, format, compressed) VALUES (?, ?, ?, ?, ?, ?, ?, FROM_UNIXTIME(?), \
             FROM_UNIXTIME(?), ?, ?, ?, ?, ?, '{}', '{}', '{}')",
            if info.incremental() { "Y" } else { "N" },
            info.format(),
            if info.compressed { "Y" } else { "N" }
        );
        let binlog = info.binlog.as_ref().map(crate::meta::binlog_pos_text);
        let params: Vec<mysql::Value> = vec![
            info.uuid.clone().into(),
            name.into(),
            info.tool_name.clone().into(),
            info.tool_command.clone().into(),
            info.tool_version.clone().into(),
            info.tool_version.clone().into(),
            info.server_version.clone().into(),
            info.start_unix.into(),
            info.end_unix.into(),
            info.lock_seconds.into(),
            binlog.into(),
            info.from_lsn.into(),
            info.to_lsn.into(),
            if info.partial { "Y" } else { "N" }.into(),
        ];
        self.conn.exec_drop(&insert, params).map_err(|e| self.err(&insert, e))
    }

    fn current_lsn(&mut self) -> Result<Lsn, ServerError> {
        self.innodb_status_number("Log sequence number").or_else(|e| self.lsn_status_instead(e, "Innodb_lsn_current"))
    }

    fn last_checkpoint_lsn(&mut self) -> Result<Lsn, ServerError> {
        self.innodb_status_number("Last checkpoint at")
            .or_else(|e| self.lsn_status_instead(e, "Innodb_lsn_last_checkpoint"))
    }

    fn uuid(&mut self) -> Result<String, ServerError> {
        let rows = self.rows("SELECT UUID() AS uuid")?;
        rows.first()
            .and_then(|r| text(r, "uuid"))
            .ok_or_else(|| ServerError::Unexpected { statement: "SELECT UUID()".into(), detail: "no row".into() })
    }

    fn tablespaces(&mut self, dictionary: TablespaceDictionary) -> Result<Option<Vec<ServerTablespace>>, ServerError> {
        let statement = dictionary.statement();
        let rows = match self.conn.query(statement) {
            Ok(rows) => rows,
            // Its information_schema plugin disabled, or (InnoDB's tables) no PROCESS privilege.
            Err(mysql::Error::MySqlError(m)) if m.code == ER_UNKNOWN_TABLE || m.code == ER_SPECIFIC_ACCESS_DENIED => {
                return Ok(None)
            }
            Err(e) => return Err(self.err(statement, e)),
        };
        let mut out = Vec::new();
        for row in rows {
            let space_id = nth_text(&row, 0).and_then(|s| s.parse().ok()).ok_or_else(|| ServerError::Unexpected {
                statement: statement.into(),
                detail: "a row without a numeric space id".into(),
            })?;
            out.push(ServerTablespace {
                space_id,
                name: nth_text(&row, 1).unwrap_or_default(),
                path: nth_text(&row, 2).unwrap_or_default(),
            });
        }
        Ok(Some(out))
    }

    fn loaded_plugins(&mut self) -> Result<Vec<ServerPlugin>, ServerError> {
        let statement = "SELECT PLUGIN_NAME, PLUGIN_LIBRARY FROM information_schema.PLUGINS \
                         WHERE PLUGIN_STATUS = 'ACTIVE' AND PLUGIN_LIBRARY IS NOT NULL";
        Ok(self
            .rows(statement)?
            .iter()
            .filter_map(|r| Some(ServerPlugin { name: nth_text(r, 0)?, library: nth_text(r, 1)? }))
            .collect())
    }
}

/// Closing the connection releases the server's locks anyway; say it explicitly.
impl Drop for MysqlControl {
    fn drop(&mut self) {
        let _ = self.unlock();
    }
}

#[cfg(test)]
mod tests {

    fn opts() -> ConnectOptions {
        ConnectOptions {
            socket: Some("/run/x.sock".into()),
            user: Some("backup".into()),
            password: Some("s3cret".into()),
            ..ConnectOptions::default()
        }
    }

    #[test]
    fn connect_errors_say_what_happened_in_one_sentence() {
        let denied = mysql::Error::MySqlError(mysql::MySqlError {
            state: "28000".into(),
            code: 1045,
            message: "Access denied for user 'backup'@'localhost' (using password: YES)".into(),
        });
        let e = connect_error(&opts(), Some("s3cret"), denied);
        assert!(matches!(e, ServerError::AccessDenied { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("access denied for user 'backup' at socket /run/x.sock"), "{text}");
        assert!(text.contains("Check the password") && !text.contains("MySqlError"), "{text}");
        let gone = mysql::Error::IoError(std::io::Error::from(std::io::ErrorKind::NotFound));
        let e = connect_error(&opts(), Some("s3cret"), gone);
        assert!(matches!(e, ServerError::Unreachable { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("nothing listens at socket /run/x.sock"), "{text}");
        assert!(text.contains("--socket=PATH") && !text.contains("IoError"), "{text}");
        let refused = mysql::Error::DriverError(mysql::DriverError::CouldNotConnect(Some((
            "127.0.0.1:1".into(),
            "Connection refused (os error 111)".into(),
            std::io::ErrorKind::ConnectionRefused,
        ))));
        let text = connect_error(&opts(), None, refused).to_string();
        assert!(text.contains("Connection refused") && !text.contains("DriverError"), "{text}");
        let other = mysql::Error::MySqlError(mysql::MySqlError {
            state: "HY000".into(),
            code: 1040,
            message: "Too many connections; s3cret".into(),
        });
        let text = connect_error(&opts(), Some("s3cret"), other).to_string();
        assert!(text.contains("ERROR 1040") && !text.contains("s3cret"), "{text}");
        assert!(!text.contains("MySqlError"), "{text}");
    }
    use super::*;

    #[test]
    fn long_queries_that_hold_up_the_lock_as_mariabackup_counts_them() {
        for write in ["INSERT INTO t VALUES (1)", "  (update t set i=2)", "/* c */ DELETE FROM t", "alter table t"] {
            assert!(holds_up_lock(write, false) && holds_up_lock(write, true), "{write}");
        }
        for other in ["SELECT SLEEP(100)", "begin", "CALL p()", "/* x */ /* y */select 1"] {
            assert!(!holds_up_lock(other, false) && holds_up_lock(other, true), "{other}");
        }
        for never in ["SHOW FULL PROCESSLIST", "FLUSH TABLES", "", "/* unterminated"] {
            assert!(!holds_up_lock(never, true), "{never}");
        }
    }

    #[test]
    fn lsn_from_both_servers_status_text() {
        let mysql57 = "---\nLOG\n---\nLog sequence number 127612893\nLog flushed up to   127612893\n";
        assert_eq!(parse_lsn_from_status(mysql57), Some(127_612_893));
        let mariadb = "LOG\n---\nLog sequence number 46902\nLog flushed up to   46902\nPages flushed up to 46902\n";
        assert_eq!(parse_lsn_from_status(mariadb), Some(46_902));
        assert_eq!(parse_lsn_from_status("nothing here"), None);
        let log = "Log sequence number 46902\nLog flushed up to   46902\nLast checkpoint at  41000\n";
        assert_eq!(status_number(log, "Last checkpoint at"), Some(41_000));
    }

    #[test]
    fn the_password_never_shows() {
        let o = ConnectOptions { password: Some("s3cr3t".into()), user: Some("bk".into()), ..Default::default() };
        assert!(!format!("{o:?}").contains("s3cr3t"));
        assert_eq!(redact("Access denied (s3cr3t)", Some("s3cr3t")), "Access denied (********)");
    }
}
