//! The backup's steps before the copy starts: the target and the server checked, the lines to the
//! server opened, the target created, the privileges checked and the replica made safe.

use super::signals::Signals;
use super::Session;
use crate::failure::RunFailure;
use crate::{grants, replica, streaming, target};
use innohot::backup::{Backup, BackupOptions, Services};
use innohot::copy::Pacing;
use innohot::events::Progress;
use innohot::io::real::{RealSourceFs, RealTargetDir, SystemClock};
use innohot::io::TargetDir;
use innohot::server::mysql::MysqlControl;
use innohot::server::ServerControl;
use innohot::stream::StreamTarget;
use std::path::PathBuf;
use std::sync::Arc;

/// A backup ready to run, with its stream (if it goes to stdout) and whether it stopped the
/// replica's SQL thread.
pub(super) struct Ready {
    pub(super) backup: Backup,
    pub(super) stream: Option<Arc<StreamTarget>>,
    pub(super) sql_thread_stopped: bool,
}

/// Every check and connection before the copy, in order; the first failure stops it.
pub(super) fn ready(
    s: &Session,
    signals: &Signals,
    mut options: BackupOptions,
    progress: Arc<dyn Progress>,
    clock: Arc<SystemClock>,
) -> Result<Ready, RunFailure> {
    let parsed = &s.parsed;
    if !parsed.stream {
        target::check_before(&s.target_dir)?;
    }
    let mut server = MysqlControl::connect(&parsed.connect)?;
    let vars = server.variables()?;
    let Some(datadir) = vars.get("datadir").map(PathBuf::from) else {
        return Err(RunFailure::NoDatadir);
    };
    // Where this host sees the server's datadir (a container's bind mount):
    // the engine checks it is the server's before reading anything there.
    options.datadir = parsed.datadir.clone();
    let datadir = parsed.datadir.clone().unwrap_or(datadir);
    if !parsed.stream {
        target::check_against_datadir(&s.target_dir, &datadir)?;
    }
    if signals.stopped() {
        return Err(RunFailure::Interrupted { signal: signals.name() });
    }
    // The log copier's own line to the server (see LogWrittenProbe).
    let log_probe = MysqlControl::connect(&parsed.connect)?;
    // `--throttle=auto` reads the server's load on a line of its own (see LoadProbe).
    let load_probe: Option<Box<dyn innohot::server::LoadProbe>> = match options.copy.pacing {
        Pacing::Auto { .. } => Some(Box::new(MysqlControl::connect(&parsed.connect)?)),
        _ => None,
    };
    let (stream, target) = open_target(s, &options)?;
    // As mariabackup: the target exists (empty) when the privileges or the replica stop it.
    if vars.version().contains("MariaDB") {
        let log_bin = vars.get("log_bin") == Some("ON");
        check_grants(s, &mut server, &options, log_bin)?;
    }
    let sql_thread_stopped = match parsed.safe_slave_backup {
        Some(timeout) => replica::make_safe(&mut server, timeout, &|line: &str| s.say(line))?,
        None => false,
    };
    let services = Services {
        server: Box::new(server),
        log_probe: Some(Box::new(log_probe)),
        load_probe,
        fs: Arc::new(RealSourceFs),
        target,
        clock,
        progress,
    };
    Ok(Ready { backup: Backup::new(options, services), stream, sql_thread_stopped })
}

/// Where the backup writes: the stream (with `--stream`) and the target the engine is given.
type Opened = (Option<Arc<StreamTarget>>, Arc<dyn TargetDir>);

/// The stream on stdout with `--stream`, else the new target directory.
fn open_target(s: &Session, options: &BackupOptions) -> Result<Opened, RunFailure> {
    let stream = if s.parsed.stream { Some(streaming::open_stdout(s.parsed.compress)?) } else { None };
    let target: Arc<dyn TargetDir> = match &stream {
        Some(st) => st.clone(),
        None => match RealTargetDir::create(&s.target_dir, options.copy.read_policy.fadvise) {
            Ok(t) => Arc::new(t),
            Err(source) => return Err(RunFailure::CreateTarget { dir: s.target_dir.clone(), source }),
        },
    };
    Ok((stream, target))
}

/// MariaDB: the backup user's grants against what these options need (as mariabackup checks
/// them); a grant missing for a step that cannot go without it stops the backup.
fn check_grants(
    s: &Session,
    server: &mut MysqlControl,
    options: &BackupOptions,
    log_bin: bool,
) -> Result<(), RunFailure> {
    let needs = grants::needs(
        options.no_lock,
        options.lock_wait.is_some(),
        options.slave_info,
        s.parsed.safe_slave_backup.is_some(),
        log_bin,
    );
    match server.text_rows("SHOW GRANTS") {
        Ok(rows) => {
            let lines: Vec<String> = rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
            let (said, fatal) = grants::check(&lines, &needs);
            for line in &said {
                s.say(line);
            }
            if let Some(why) = fatal {
                return Err(RunFailure::Privilege(why));
            }
        }
        Err(e) => s.say(&format!("innohot: the backup user's privileges are not checked beforehand: {e}")),
    }
    Ok(())
}
