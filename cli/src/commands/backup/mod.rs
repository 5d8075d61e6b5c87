//! `innohot backup`: a hot backup of a running server into a new directory, or to stdout as an
//! xbstream with `--stream`.

mod setup;
mod signals;

use crate::args::{BackupCmd, Prepared};
use crate::commands::common::{getopt_failure, mariabackup_name, now_unix, usage_error, FAILURE};
use crate::display::{self, Bars, LogLines, Quiet, Tally, TraceFile};
use crate::failure::RunFailure;
use crate::options::{self, BackupArgs};
use crate::report::RunReport;
use crate::streaming;
use crate::{argv, optfile, replica, target};
use innohot::backup::BackupOptions;
use innohot::backup::{run_until_stopped, Summary};
use innohot::events::Progress;
use innohot::io::real::SystemClock;
use innohot::server::mysql::MysqlControl;
use innohot::stream::StreamTarget;
use innohot::timefmt::log_label;
use signals::Signals;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// One backup's resolved options and where it reports: the progress tally and bars, and the
/// report written at its end.
struct Session {
    parsed: BackupArgs,
    target_dir: PathBuf,
    report: RunReport,
    tally: Arc<Tally>,
    bars: Option<Arc<Bars>>,
}

impl Session {
    /// The report and the progress display (bars on a terminal, log lines otherwise, nothing
    /// with --quiet, a trace file when asked for); the progress the engine is given.
    fn start(parsed: BackupArgs) -> (Session, Arc<TraceFile>) {
        let target_dir = match &parsed.target_dir {
            Some(dir) if !parsed.stream => dir.clone(),
            _ => PathBuf::from(streaming::LABEL),
        };
        let report = RunReport::new(&target_dir, &parsed, now_unix());
        let tally = Arc::new(Tally::default());
        let bars = (!parsed.quiet && std::io::stderr().is_terminal()).then(|| Arc::new(Bars::new(tally.clone())));
        let progress: Arc<dyn Progress> = match (&bars, parsed.quiet) {
            (Some(b), _) => b.clone(),
            (None, true) => Arc::new(Quiet { tally: tally.clone() }),
            (None, false) => Arc::new(LogLines { hide_root: None, tally: tally.clone() }),
        };
        let trace = display::TraceFile::from_env(progress);
        (Session { parsed, target_dir, report, tally, bars }, trace)
    }

    /// A line on stderr, unless --quiet.
    fn say(&self, line: &str) {
        if !self.parsed.quiet {
            eprintln!("{} {line}", log_label(now_unix()));
        }
    }

    /// The failure reported (with the target's failure marker, if one was left); exit 1.
    fn fail(&mut self, failure: RunFailure, marker: Option<PathBuf>) -> ExitCode {
        let (json, bars) = (self.parsed.json, self.bars.as_deref());
        self.report.fail(&failure, marker, &self.tally, now_unix(), json, bars);
        ExitCode::from(FAILURE)
    }
}

/// `innohot backup`: the options resolved, the server checked, the backup run, and the replica
/// and the stream finished whatever its outcome.
pub fn run(cmd: &BackupCmd, prepared: &Prepared, raw_args: &[String]) -> ExitCode {
    let signals = Signals::install();
    let env_password = std::env::var("INNOHOT_PASSWORD").ok();
    let parsed = match options::resolve(cmd, prepared, env_password, &optfile::read_option_file, &argv::ask_password) {
        Ok(p) => p,
        Err(options::BadOption { msg, getopt: Some(code) }) => return getopt_failure("backup", &msg, code),
        Err(e) => return usage_error("backup", &e),
    };
    let (mut session, trace) = Session::start(parsed);
    let options = std::mem::take(&mut session.parsed.options);
    let progress: Arc<dyn Progress> = trace.clone();
    for w in &session.parsed.warnings {
        session.say(&format!("innohot: {w}"));
    }
    let options = with_tool_command(options, raw_args);
    let clock = Arc::new(SystemClock::new());
    // Before anything is created: a failure here leaves the user's files as they were.
    let ready = match setup::ready(&session, &signals, options, progress, clock.clone()) {
        Ok(r) => r,
        Err(failure) => return session.fail(failure, None),
    };
    let result = run_until_stopped(ready.backup, clock, signals.stop.clone());
    trace.write();
    finish(session, &signals, result, ready.stream.as_deref(), ready.sql_thread_stopped)
}

/// The command line as the backup records it (secrets masked), and the name it runs under.
fn with_tool_command(mut options: BackupOptions, raw_args: &[String]) -> BackupOptions {
    let full: Vec<String> = std::iter::once("innohot".to_string()).chain(raw_args.iter().cloned()).collect();
    options.tool_command = innohot::meta::mask_secrets(&full);
    // As mariabackup records the name it runs under; tool_version still says innohot's.
    if let Some(name) = mariabackup_name() {
        options.tool_name = name;
    }
    options
}

/// After the backup: the replica's SQL thread restarted, the stream ended, and the outcome
/// reported.
fn finish(
    mut s: Session,
    signals: &Signals,
    result: innohot::Result<Summary>,
    stream: Option<&StreamTarget>,
    sql_thread_stopped: bool,
) -> ExitCode {
    // The replica's SQL thread runs again whatever the backup's outcome (on a new connection:
    // the backup's own ones are closed).
    let restart_failed = sql_thread_stopped
        .then(|| {
            MysqlControl::connect(&s.parsed.connect)
                .map_err(replica::ReplicaError::Reconnect)
                .and_then(|mut c| replica::restart(&mut c, &|line: &str| s.say(line)))
                .err()
        })
        .flatten();
    if let Some(e) = &restart_failed {
        eprintln!("innohot: {e}");
    }
    // A completed backup's stream ends with its manifest whatever follows.
    let stream_end = match (stream, &result) {
        (Some(st), Ok(summary)) => streaming::finish(st, summary).err(),
        _ => None,
    };
    if let Some(e) = stream_end {
        return s.fail(e.into(), None);
    }
    match result {
        Ok(_) if restart_failed.is_some() => {
            eprintln!(
                "innohot: the backup in {} is complete, but the replica's SQL thread is stopped",
                s.target_dir.display()
            );
            ExitCode::from(FAILURE)
        }
        Ok(summary) => completed(&s, &summary, stream),
        Err(e) => {
            let failure = match e {
                innohot::BackupError::Interrupted => RunFailure::Interrupted { signal: signals.name() },
                e => RunFailure::Backup(e),
            };
            let msg = failure.to_string();
            // A stream's reader sees it end without its manifest.
            let marker = (stream.is_none())
                .then(|| target::mark_failed(&s.target_dir, "backup", &msg, &innohot::timefmt::iso(now_unix())))
                .flatten();
            s.fail(failure, marker)
        }
    }
}

/// A completed backup: its LSN files copied to --extra-lsndir, and the report.
fn completed(s: &Session, summary: &Summary, stream: Option<&StreamTarget>) -> ExitCode {
    if let Some(extra) = &s.parsed.extra_lsndir {
        let copied = match stream {
            Some(st) => streaming::write_lsn_files(st, extra),
            None => target::copy_lsn_files(&s.target_dir, extra),
        };
        if let Err(e) = copied {
            eprintln!("innohot: the backup in {} is complete, but --extra-lsndir failed: {e}", s.target_dir.display());
            return ExitCode::from(FAILURE);
        }
    }
    let p = &s.parsed;
    s.report.complete(summary, now_unix(), p.json, p.quiet, s.bars.as_deref());
    ExitCode::SUCCESS
}
