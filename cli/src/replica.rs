//! `--safe-slave-backup`, as mariabackup does it: on a replica, stop the SQL thread before the
//! backup and back it up only while no temporary table the replication opened exists
//! (`Slave_open_temp_tables` = 0: a temporary table is not in any file a backup copies, so the
//! replica restored from it would lack one that later events use); while there is one, run the
//! SQL thread again for 3 seconds and look again, until `--safe-slave-backup-timeout`. The SQL
//! thread stopped here is started again when the backup ends, whatever its outcome.

use innohot::server::mysql::MysqlControl;
use innohot::server::ServerError;
use std::time::Duration;

/// mariabackup's wait between two looks at `Slave_open_temp_tables`.
pub const RETRY_WAIT: Duration = Duration::from_secs(3);

/// Why `--safe-slave-backup` could not make the replica safe, or give its SQL thread back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    #[error("--safe-slave-backup: {0}")]
    Server(ServerError),
    #[error(
        "--safe-slave-backup: Slave_open_temp_tables is still {open} after {seconds} seconds{}: the replica's \
         temporary tables would be missing from a backup; run the backup when the replica has none, or \
         raise --safe-slave-backup-timeout",
        if *sql_thread_ran { "" } else { " and the SQL thread is not running (start it, or wait for its tables)" }
    )]
    TempTablesOpen { open: u64, seconds: u64, sql_thread_ran: bool },
    /// The failure, and restarting the SQL thread this stopped failed too.
    #[error("{cause}; and restarting the SQL thread failed: {restart}: run START SLAVE SQL_THREAD")]
    NotGivenBack { cause: Box<ReplicaError>, restart: ServerError },
    #[error("--safe-slave-backup: restarting the replica's SQL thread failed: {0}: run START SLAVE SQL_THREAD")]
    Restart(ServerError),
    #[error("--safe-slave-backup: {0}: run START SLAVE SQL_THREAD on the replica")]
    Reconnect(ServerError),
}

impl ReplicaError {
    pub fn kind(&self) -> innohot::ErrorKind {
        match self {
            ReplicaError::Server(e) | ReplicaError::Restart(e) | ReplicaError::Reconnect(e) => e.kind(),
            ReplicaError::TempTablesOpen { .. } => innohot::ErrorKind::Busy,
            ReplicaError::NotGivenBack { cause, .. } => cause.kind(),
        }
    }
}

/// What `--safe-slave-backup` asks of the server (a trait so the steps can be tested).
pub trait ReplicaAdmin {
    /// `SHOW SLAVE STATUS`'s `Slave_SQL_Running` = `Yes`; None when the server is no replica.
    fn sql_thread_running(&mut self) -> Result<Option<bool>, ServerError>;
    fn open_temp_tables(&mut self) -> Result<u64, ServerError>;
    fn stop_sql_thread(&mut self) -> Result<(), ServerError>;
    fn start_sql_thread(&mut self) -> Result<(), ServerError>;
    fn wait(&mut self, d: Duration);
}

impl ReplicaAdmin for MysqlControl {
    fn sql_thread_running(&mut self) -> Result<Option<bool>, ServerError> {
        let rows = self.named_rows("SHOW SLAVE STATUS")?;
        Ok(rows.first().map(|r| r.get("Slave_SQL_Running").is_some_and(|v| v == "Yes")))
    }
    fn open_temp_tables(&mut self) -> Result<u64, ServerError> {
        let statement = "SHOW GLOBAL STATUS LIKE 'Slave_open_temp_tables'";
        let rows = self.text_rows(statement)?;
        let value = rows.first().and_then(|r| r.get(1).cloned().flatten()).unwrap_or_default();
        value.trim().parse().map_err(|_| ServerError::Unexpected {
            statement: statement.into(),
            detail: format!("Slave_open_temp_tables is '{value}', not a number"),
        })
    }
    fn stop_sql_thread(&mut self) -> Result<(), ServerError> {
        self.execute("STOP SLAVE SQL_THREAD")
    }
    fn start_sql_thread(&mut self) -> Result<(), ServerError> {
        self.execute("START SLAVE SQL_THREAD")
    }
    fn wait(&mut self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// Before the backup: returns whether this stopped the SQL thread (then `restart` after the
/// backup). On failure the SQL thread is running again if it was.
pub fn make_safe(server: &mut dyn ReplicaAdmin, timeout: Duration, say: &dyn Fn(&str)) -> Result<bool, ReplicaError> {
    let failed = ReplicaError::Server;
    let Some(running) = server.sql_thread_running().map_err(failed)? else {
        say("Not checking slave open temp tables for --safe-slave-backup because host is not a slave");
        return Ok(false);
    };
    if running {
        server.stop_sql_thread().map_err(failed)?;
    }
    let attempts = (timeout.as_secs() / RETRY_WAIT.as_secs()).max(1);
    let mut remaining = attempts;
    loop {
        let open = match server.open_temp_tables() {
            Ok(n) => n,
            Err(e) => return Err(give_back(server, running, failed(e))),
        };
        say(&format!("Slave open temp tables: {open}"));
        if open == 0 {
            say("Slave is safe to backup");
            return Ok(running);
        }
        if remaining == 0 || !running {
            let why = ReplicaError::TempTablesOpen { open, seconds: timeout.as_secs(), sql_thread_ran: running };
            return Err(give_back(server, running, why));
        }
        say(&format!(
            "Starting slave SQL thread, waiting {} seconds, then checking Slave_open_temp_tables again ({remaining} \
             attempts remaining)...",
            RETRY_WAIT.as_secs()
        ));
        if let Err(e) = server.start_sql_thread() {
            return Err(failed(e));
        }
        server.wait(RETRY_WAIT);
        server.stop_sql_thread().map_err(failed)?;
        remaining -= 1;
    }
}

/// The SQL thread running again (when this stopped it) before an error is returned.
fn give_back(server: &mut dyn ReplicaAdmin, stopped: bool, why: ReplicaError) -> ReplicaError {
    match (stopped, stopped.then(|| server.start_sql_thread())) {
        (true, Some(Err(restart))) => ReplicaError::NotGivenBack { cause: Box::new(why), restart },
        _ => why,
    }
}

/// After the backup: the SQL thread `make_safe` stopped runs again.
pub fn restart(server: &mut dyn ReplicaAdmin, say: &dyn Fn(&str)) -> Result<(), ReplicaError> {
    say("Restarting slave SQL thread.");
    server.start_sql_thread().map_err(ReplicaError::Restart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    struct Fake {
        replica: Option<bool>,
        temp_tables: Vec<u64>,
        log: Vec<String>,
    }

    impl ReplicaAdmin for Fake {
        fn sql_thread_running(&mut self) -> Result<Option<bool>, ServerError> {
            Ok(self.replica)
        }
        fn open_temp_tables(&mut self) -> Result<u64, ServerError> {
            Ok(if self.temp_tables.len() > 1 { self.temp_tables.remove(0) } else { self.temp_tables[0] })
        }
        fn stop_sql_thread(&mut self) -> Result<(), ServerError> {
            self.log.push("stop".into());
            Ok(())
        }
        fn start_sql_thread(&mut self) -> Result<(), ServerError> {
            self.log.push("start".into());
            Ok(())
        }
        fn wait(&mut self, d: Duration) {
            self.log.push(format!("wait {}", d.as_secs()));
        }
    }

    #[test]
    fn the_sql_thread_stops_until_no_temporary_table_is_open() {
        let said = RefCell::new(Vec::new());
        let say = |l: &str| said.borrow_mut().push(l.to_string());
        let mut no_replica = Fake { replica: None, temp_tables: vec![0], log: vec![] };
        assert_eq!(make_safe(&mut no_replica, Duration::from_secs(300), &say), Ok(false));
        assert!(said.borrow()[0].contains("because host is not a slave") && no_replica.log.is_empty());

        let mut busy = Fake { replica: Some(true), temp_tables: vec![2, 1, 0], log: vec![] };
        assert_eq!(make_safe(&mut busy, Duration::from_secs(300), &say), Ok(true));
        assert_eq!(busy.log, ["stop", "start", "wait 3", "stop", "start", "wait 3", "stop"]);
        assert!(said.borrow().iter().any(|l| l == "Slave is safe to backup"));
        restart(&mut busy, &say).unwrap();
        assert_eq!(busy.log.last().map(String::as_str), Some("start"));

        let mut stuck = Fake { replica: Some(true), temp_tables: vec![1], log: vec![] };
        let e = make_safe(&mut stuck, Duration::from_secs(6), &say).unwrap_err();
        assert_eq!(e.kind(), innohot::ErrorKind::Busy);
        let e = e.to_string();
        assert!(e.contains("still 1 after 6 seconds"), "{e}");
        assert_eq!(stuck.log.last().map(String::as_str), Some("start"), "running again after the failure");
        let mut stopped = Fake { replica: Some(false), temp_tables: vec![1], log: vec![] };
        let e = make_safe(&mut stopped, Duration::from_secs(300), &say).unwrap_err().to_string();
        assert!(e.contains("SQL thread is not running") && stopped.log.is_empty(), "{e}");
    }
}
