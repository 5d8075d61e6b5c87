//! The innohot command line: argument parsing, progress display, messages,
//! signals, exit codes (0 success, 1 failure or bad input).

mod args;
mod argv;
mod display;
mod export;
mod extract;
mod failure;
mod filter;
mod grants;
mod incremental;
mod innobackupex;
mod optfile;
mod options;
mod replica;
mod report;
mod restore;
mod streaming;
mod target;

use args::{Command, SimCmd, UsageError};
use display::{Bars, LogLines, Quiet, Tally};
use failure::RunFailure;
use innohot::copy::Pacing;
use innohot::events::Progress;
use innohot::timefmt::log_label;
use innohot_simulator::config::{Flavor, Scenario, FLAVORS, SCENARIOS};
use innohot_simulator::{run, Outcome, RunOptions, SimConfig, Verdict};
use report::RunReport;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

pub(crate) const FAILURE: u8 = 1;
/// Bad input is a failure like any other (mariabackup, and scripts written for
/// it, expect 1 too); the message says it is the command line.
const USAGE: u8 = 1;

pub(crate) fn usage_error(command: &str, msg: &str) -> ExitCode {
    let help = if command.is_empty() { "innohot --help".to_string() } else { format!("innohot {command} --help") };
    eprintln!("innohot{}{}: {msg} ({help} lists the options)", if command.is_empty() { "" } else { " " }, command);
    ExitCode::from(USAGE)
}

/// An option innohot does not know, or a value mariabackup's option parser would not take:
/// exit 1 like all bad input, except when innohot runs as `mariabackup` or `mariadb-backup`
/// (a drop-in, by its argv[0]): then my_getopt's `code`, which scripts written for mariabackup
/// (and its test suite) check.
fn getopt_failure(command: &str, msg: &str, code: u8) -> ExitCode {
    let usage = usage_error(command, msg);
    if runs_as_mariabackup() {
        ExitCode::from(code)
    } else {
        usage
    }
}

/// Whether argv[0] is `mariabackup` or `mariadb-backup` (a symlink of that name).
fn runs_as_mariabackup() -> bool {
    mariabackup_name().is_some()
}

/// argv[0]'s name when it is `mariabackup` or `mariadb-backup`.
fn mariabackup_name() -> Option<String> {
    let program = std::env::args_os().next().map(PathBuf::from);
    let name = program.as_deref().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or_default();
    ["mariabackup", "mariadb-backup"].contains(&name).then(|| name.to_string())
}

fn demo(dir: Option<PathBuf>) -> ExitCode {
    let cfg = SimConfig::from_seed(1);
    if let Some(d) = &dir {
        if let Err(e) = target::check_before(d) {
            eprintln!("innohot demo: {e}");
            return ExitCode::from(FAILURE);
        }
    }
    eprintln!("innohot demo: a simulated MySQL 5.7 server under concurrent writes ({})", cfg);
    let progress = Arc::new(LogLines { hide_root: dir.clone(), tally: Arc::default() });
    let report = run(cfg, RunOptions { dir: dir.clone(), progress: Some(progress), ..RunOptions::default() });
    finish_demo(&report, dir.is_some())
}

fn finish_demo(report: &innohot_simulator::RunReport, kept: bool) -> ExitCode {
    let s = &report.stats;
    eprintln!(
        "simulated {:.3} s: {} server actions, {} log copy passes, {} torn page writes, {} chunk re-reads, redo ring wrapped {} times",
        s.sim_nanos as f64 / 1e9,
        s.server_actions,
        s.log_polls,
        s.torn_writes,
        s.page_rereads,
        s.ring_wraps
    );
    let ok = match (&report.outcome, &report.verdict) {
        (Outcome::Completed(sum), Verdict::Verified) => {
            eprintln!(
                "oracle: VERIFIED: redo {}..{} ({} bytes) equals what the server wrote; every page is a version the server had on disk; binlog position {} matches",
                sum.start_lsn,
                sum.last_lsn,
                sum.redo_bytes,
                sum.binlog.as_ref().map(innohot::meta::binlog_pos_text).unwrap_or_default()
            );
            if kept {
                eprintln!("backup in {}", report.target.display());
            }
            true
        }
        (_, Verdict::CorrectFailure(why)) => {
            eprintln!("oracle: correct failure: {why}");
            false
        }
        (outcome, Verdict::Wrong(lines)) => {
            eprintln!("oracle: WRONG RESULT ({}):", outcome_words(outcome));
            for l in lines {
                eprintln!("  - {l}");
            }
            false
        }
        (outcome, Verdict::Verified) => {
            eprintln!("oracle: verified, but the outcome was: {}", outcome_words(outcome));
            false
        }
    };
    if let Some(msg) = report.outcome.failure_text() {
        eprintln!("innohot: backup failed: {msg}");
    }
    if ok {
        eprintln!(
            "{} completed OK!",
            log_label(innohot_simulator::clock::SIM_EPOCH_UNIX + s.sim_nanos / 1_000_000_000)
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILURE)
    }
}

/// How a simulated backup ended, in words.
fn outcome_words(outcome: &Outcome) -> String {
    outcome.failure_text().map(|t| format!("failed: {t}")).unwrap_or_else(|| "completed".to_string())
}

fn sim(cmd: SimCmd) -> ExitCode {
    let scenarios = match cmd.scenario.as_deref() {
        None => vec![Scenario::Default],
        Some("all") => SCENARIOS.to_vec(),
        Some(s) => match s.parse() {
            Ok(sc) => vec![sc],
            Err(e) => return usage_error("sim", &format!("--scenario: {e}")),
        },
    };
    let flavors = match cmd.flavor.as_deref() {
        None => vec![Flavor::Mysql57],
        Some("all") => FLAVORS.to_vec(),
        Some(f) => match f.parse() {
            Ok(f) => vec![f],
            Err(e) => return usage_error("sim", &format!("--flavor: {e}")),
        },
    };
    if let Some((a, b)) = cmd.seeds {
        let started = std::time::Instant::now();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let mut table = innohot_simulator::sweep::SweepTable::default();
        let mut secs_by_flavor = Vec::new();
        for &flavor in &flavors {
            let t = std::time::Instant::now();
            table.merge(innohot_simulator::sweep::sweep(a, b, &[flavor], &scenarios, threads));
            secs_by_flavor.push((flavor, t.elapsed().as_secs_f64()));
        }
        let secs = started.elapsed().as_secs_f64();
        for (cfg, lines) in &table.wrong_runs {
            println!("WRONG: {}", lines.join("; "));
            println!("  replay: innohot sim --config '{cfg}'");
        }
        println!("seeds {a}..{b}, {threads} threads\n{table}");
        for (flavor, s) in &secs_by_flavor {
            let t = table.flavor_total(*flavor);
            println!(
                "{flavor}: {} runs in {s:.1} s wall: {:.1} simulated backups per second",
                t.runs,
                t.runs as f64 / s
            );
        }
        let total = table.total();
        println!(
            "throughput: {:.1} simulated backups per second, {:.1} simulated seconds per real second ({:.1} s wall)",
            total.runs as f64 / secs,
            total.sim_nanos as f64 / 1e9 / secs,
            secs
        );
        let mut unreached: Vec<String> = table
            .rows
            .iter()
            .filter(|(_, row)| row.reached == 0)
            .map(|((flavor, scenario), _)| format!("{flavor} {}", scenario.name()))
            .collect();
        for (flavor, _) in &secs_by_flavor {
            let t = table.flavor_total(*flavor);
            println!(
                "{flavor}: {} of {} runs had a data file grow while it was being copied",
                t.grown_during_copy, t.runs
            );
            if t.runs >= 200 && t.grown_during_copy == 0 {
                unreached.push(format!("{flavor} data-file growth during the copy"));
            }
        }
        if cmd.require_reached && !unreached.is_empty() {
            println!("NOT REACHED: no run of {} reached what the scenario aims at", unreached.join(", "));
            return ExitCode::from(FAILURE);
        }
        return if total.wrong == 0 { ExitCode::SUCCESS } else { ExitCode::from(FAILURE) };
    }
    let cfg: SimConfig = match (cmd.config, cmd.seed) {
        (Some(c), _) => match c.parse() {
            Ok(c) => c,
            Err(e) => return usage_error("sim", &format!("--config: {e}")),
        },
        (None, Some(s)) => SimConfig::for_flavor(s, flavors[0], scenarios[0]),
        (None, None) => return usage_error("sim", "give --seed N, --config LINE or --seeds A..B"),
    };
    if !cfg.scenario.applies_to(cfg.flavor) {
        let msg = format!("scenario {} does not apply to flavor {}", cfg.scenario.name(), cfg.flavor);
        return usage_error("sim", &msg);
    }
    println!("seed: {}", cfg.seed);
    println!("config: {cfg}");
    let report = run(cfg.clone(), RunOptions::default());
    if cmd.trace {
        print!("{}", innohot_simulator::trace::render(&report.trace, &report.root, false));
    }
    let verdict = match &report.verdict {
        Verdict::Verified => "verified".to_string(),
        Verdict::CorrectFailure(w) => format!("correct failure: {w}"),
        Verdict::Wrong(l) => format!("WRONG: {}", l.join("; ")),
    };
    match &report.outcome {
        Outcome::Completed(s) => {
            println!("outcome: completed, LSN {}..{}, to_lsn {}", s.start_lsn, s.last_lsn, s.to_lsn)
        }
        other => println!("outcome: failed: {}", other.failure_text().unwrap_or_default()),
    }
    let fired = &report.stats.faults_fired;
    println!("faults fired: {}", if fired.is_empty() { "none".to_string() } else { fired.join(", ") });
    println!("verdict: {verdict}");
    println!("backup hash: {:016x}", report.target_hash);
    println!("replay: innohot sim --config '{cfg}'");
    if report.verdict.is_wrong() {
        ExitCode::from(FAILURE)
    } else {
        ExitCode::SUCCESS
    }
}

/// SIGINT/SIGTERM: the first sets the stop flag (the backup aborts cleanly at
/// its next step), a second one exits at once (the server drops the lock with
/// the connection).
struct Signals {
    stop: Arc<AtomicBool>,
    which: Arc<AtomicUsize>,
}

impl Signals {
    fn install() -> Signals {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let s = Signals { stop: Arc::default(), which: Arc::default() };
        for sig in [SIGINT, SIGTERM] {
            // The conditional shutdown first: it sees the flag unset on the first signal.
            let _ = signal_hook::flag::register_conditional_shutdown(sig, FAILURE as i32, s.stop.clone());
            let _ = signal_hook::flag::register(sig, s.stop.clone());
            let _ = signal_hook::flag::register_usize(sig, s.which.clone(), sig as usize);
        }
        s
    }

    fn name(&self) -> &'static str {
        match self.which.load(Ordering::SeqCst) as i32 {
            signal_hook::consts::SIGINT => "SIGINT",
            signal_hook::consts::SIGTERM => "SIGTERM",
            _ => "a signal",
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// Owned strings from string literals (the unit tests' argument lists).
#[cfg(test)]
pub(crate) fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|a| a.to_string()).collect()
}

fn backup(cmd: &args::BackupCmd, prepared: &args::Prepared, raw_args: &[String]) -> ExitCode {
    use innohot::backup::{run_until_stopped, Backup, Services};
    use innohot::io::real::{RealSourceFs, RealTargetDir, SystemClock};
    use innohot::server::mysql::MysqlControl;
    use innohot::server::ServerControl;
    let signals = Signals::install();
    let env_password = std::env::var("INNOHOT_PASSWORD").ok();
    let parsed = match options::resolve(cmd, prepared, env_password, &optfile::read_option_file, &argv::ask_password) {
        Ok(p) => p,
        Err(options::BadOption { msg, getopt: Some(code) }) => return getopt_failure("backup", &msg, code),
        Err(e) => return usage_error("backup", &e),
    };
    let target_dir = match &parsed.target_dir {
        Some(dir) if !parsed.stream => dir.clone(),
        _ => PathBuf::from(streaming::LABEL),
    };
    let mut report = RunReport::new(&target_dir, &parsed, now_unix());
    let tally = Arc::new(Tally::default());
    let bars = (!parsed.quiet && std::io::stderr().is_terminal()).then(|| Arc::new(Bars::new(tally.clone())));
    let progress: Arc<dyn Progress> = match (&bars, parsed.quiet) {
        (Some(b), _) => b.clone(),
        (None, true) => Arc::new(Quiet { tally: tally.clone() }),
        (None, false) => Arc::new(LogLines { hide_root: None, tally: tally.clone() }),
    };
    let trace = display::TraceFile::from_env(progress);
    let progress: Arc<dyn Progress> = trace.clone();
    let say = |line: &str| {
        if !parsed.quiet {
            eprintln!("{} {line}", log_label(now_unix()));
        }
    };
    for w in &parsed.warnings {
        say(&format!("innohot: {w}"));
    }
    let mut options = parsed.options;
    let full: Vec<String> = std::iter::once("innohot".to_string()).chain(raw_args.iter().cloned()).collect();
    options.tool_command = innohot::meta::mask_secrets(&full);
    // As mariabackup records the name it runs under; tool_version still says innohot's.
    if let Some(name) = mariabackup_name() {
        options.tool_name = name;
    }
    let clock = Arc::new(SystemClock::new());
    // Before anything is created: a failure here leaves the user's files as they were.
    let fail_early = |report: &mut RunReport, failure: RunFailure| {
        report.fail(&failure, None, &tally, now_unix(), parsed.json, bars.as_deref());
        ExitCode::from(FAILURE)
    };
    let checked = if parsed.stream { Ok(()) } else { target::check_before(&target_dir) };
    if let Err(e) = checked {
        return fail_early(&mut report, e.into());
    }
    let mut server = match MysqlControl::connect(&parsed.connect) {
        Ok(s) => s,
        Err(e) => return fail_early(&mut report, e.into()),
    };
    let vars = match server.variables() {
        Ok(v) => v,
        Err(e) => return fail_early(&mut report, e.into()),
    };
    let Some(datadir) = vars.get("datadir").map(PathBuf::from) else {
        return fail_early(&mut report, RunFailure::NoDatadir);
    };
    // Where this host sees the server's datadir (a container's bind mount):
    // the engine checks it is the server's before reading anything there.
    options.datadir = parsed.datadir.clone();
    let datadir = parsed.datadir.clone().unwrap_or(datadir);
    let checked = if parsed.stream { Ok(()) } else { target::check_against_datadir(&target_dir, &datadir) };
    if let Err(e) = checked {
        return fail_early(&mut report, e.into());
    }
    if signals.stopped() {
        return fail_early(&mut report, RunFailure::Interrupted { signal: signals.name() });
    }
    // The log copier's own line to the server (see LogWrittenProbe).
    let log_probe = match MysqlControl::connect(&parsed.connect) {
        Ok(s) => s,
        Err(e) => return fail_early(&mut report, e.into()),
    };
    // `--throttle=auto` reads the server's load on a line of its own (see LoadProbe).
    let load_probe: Option<Box<dyn innohot::server::LoadProbe>> = match options.copy.pacing {
        Pacing::Auto { .. } => match MysqlControl::connect(&parsed.connect) {
            Ok(s) => Some(Box::new(s)),
            Err(e) => return fail_early(&mut report, e.into()),
        },
        _ => None,
    };
    let stream = if parsed.stream {
        match streaming::open_stdout(parsed.compress) {
            Ok(s) => Some(s),
            Err(e) => return fail_early(&mut report, e.into()),
        }
    } else {
        None
    };
    let target: Arc<dyn innohot::io::TargetDir> = match &stream {
        Some(s) => s.clone(),
        None => match RealTargetDir::create(&target_dir, options.copy.read_policy.fadvise) {
            Ok(t) => Arc::new(t),
            Err(source) => return fail_early(&mut report, RunFailure::CreateTarget { dir: target_dir, source }),
        },
    };
    // As mariabackup: the target exists (empty) when the privileges or the replica stop it.
    if vars.version().contains("MariaDB") {
        let needs = grants::needs(
            options.no_lock,
            options.lock_wait.is_some(),
            options.slave_info,
            parsed.safe_slave_backup.is_some(),
            vars.get("log_bin") == Some("ON"),
        );
        match server.text_rows("SHOW GRANTS") {
            Ok(rows) => {
                let lines: Vec<String> = rows.into_iter().filter_map(|r| r.into_iter().next().flatten()).collect();
                let (said, fatal) = grants::check(&lines, &needs);
                for line in &said {
                    say(line);
                }
                if let Some(why) = fatal {
                    return fail_early(&mut report, RunFailure::Privilege(why));
                }
            }
            Err(e) => say(&format!("innohot: the backup user's privileges are not checked beforehand: {e}")),
        }
    }
    let sql_thread_stopped = match parsed.safe_slave_backup {
        Some(timeout) => match replica::make_safe(&mut server, timeout, &say) {
            Ok(stopped) => stopped,
            Err(e) => return fail_early(&mut report, e.into()),
        },
        None => false,
    };
    let backup = Backup::new(
        options,
        Services {
            server: Box::new(server),
            log_probe: Some(Box::new(log_probe)),
            load_probe,
            fs: Arc::new(RealSourceFs),
            target,
            clock: clock.clone(),
            progress,
        },
    );
    let result = run_until_stopped(backup, clock, signals.stop.clone());
    trace.write();
    // The replica's SQL thread runs again whatever the backup's outcome (on a new connection:
    // the backup's own ones are closed).
    let restart_failed = sql_thread_stopped
        .then(|| {
            MysqlControl::connect(&parsed.connect)
                .map_err(replica::ReplicaError::Reconnect)
                .and_then(|mut s| replica::restart(&mut s, &say))
                .err()
        })
        .flatten();
    if let Some(e) = &restart_failed {
        eprintln!("innohot: {e}");
    }
    // A completed backup's stream ends with its manifest whatever follows.
    let stream_end = match (&stream, &result) {
        (Some(s), Ok(summary)) => streaming::finish(s, summary).err(),
        _ => None,
    };
    if let Some(e) = stream_end {
        report.fail(&e.into(), None, &tally, now_unix(), parsed.json, bars.as_deref());
        return ExitCode::from(FAILURE);
    }
    match result {
        Ok(_) if restart_failed.is_some() => {
            eprintln!(
                "innohot: the backup in {} is complete, but the replica's SQL thread is stopped",
                target_dir.display()
            );
            ExitCode::from(FAILURE)
        }
        Ok(summary) => {
            if let Some(extra) = &parsed.extra_lsndir {
                let copied = match &stream {
                    Some(s) => streaming::write_lsn_files(s, extra),
                    None => target::copy_lsn_files(&target_dir, extra),
                };
                if let Err(e) = copied {
                    eprintln!(
                        "innohot: the backup in {} is complete, but --extra-lsndir failed: {e}",
                        target_dir.display()
                    );
                    return ExitCode::from(FAILURE);
                }
            }
            report.complete(&summary, now_unix(), parsed.json, parsed.quiet, bars.as_deref());
            ExitCode::SUCCESS
        }
        Err(e) => {
            let failure = match e {
                innohot::BackupError::Interrupted => RunFailure::Interrupted { signal: signals.name() },
                e => RunFailure::Backup(e),
            };
            let msg = failure.to_string();
            // A stream's reader sees it end without its manifest.
            let marker = (stream.is_none())
                .then(|| target::mark_failed(&target_dir, "backup", &msg, &innohot::timefmt::iso(now_unix())))
                .flatten();
            report.fail(&failure, marker, &tally, now_unix(), parsed.json, bars.as_deref());
            ExitCode::from(FAILURE)
        }
    }
}

/// `innohot verify --target-dir DIR`: the report on stdout, exit 0 or 1.
fn verify(dir: &std::path::Path) -> ExitCode {
    let fs = innohot::io::real::RealSourceFs;
    match innohot::verify::verify(&fs, dir) {
        Ok(r) => {
            for n in &r.notes {
                println!("note: {n}");
            }
            for p in &r.problems {
                println!("problem: {p}");
            }
            println!("{}", innohot::verify::summary(&r, dir));
            if r.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(FAILURE)
            }
        }
        Err(e) => {
            eprintln!("innohot verify: {e}");
            ExitCode::from(FAILURE)
        }
    }
}

/// The wall clock for log labels (the CLI is the one place that may read it directly).
pub(crate) fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // Now that the arguments are read: the password out of `ps`.
    argv::hide_passwords();
    let (cli, prepared) = match args::parse(&raw) {
        Ok(p) => p,
        Err(UsageError::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e @ (UsageError::Bad(_) | UsageError::Unknown { .. })) => {
            let command = args::prepare(&raw).ok().and_then(|p| p.args.first().cloned()).unwrap_or_default();
            let command = if args::is_command(&command) { command.as_str() } else { "" };
            return match e {
                UsageError::Unknown { msg, valued } => getopt_failure(command, &msg, args::getopt_code(valued)),
                UsageError::Bad(msg) | UsageError::Help(msg) => usage_error(command, &msg),
            };
        }
    };
    if !prepared.server_args.is_empty() && !matches!(cli.command, Command::Backup(_)) {
        eprintln!(
            "innohot: ignoring the server options after --mysqld-args ({}): only a backup reads any of them \
             (socket, port, datadir)",
            innohot::meta::mask_secrets(&prepared.server_args)
        );
    }
    match cli.command {
        Command::Backup(cmd) => backup(&cmd, &prepared, &raw),
        Command::Prepare(p) => restore::prepare_cmd(&p),
        Command::CopyBack(r) => restore::restore_cmd(&r, innohot::restore::copyback::Mode::Copy),
        Command::MoveBack(r) => restore::restore_cmd(&r, innohot::restore::copyback::Mode::Move),
        Command::Verify(v) => verify(&v.target_dir),
        Command::Extract(x) => extract::run(&x),
        Command::Mysql57LogGroup(g) => restore::log_group_cmd(&g),
        Command::Demo(d) => demo(d.dir),
        Command::Sim(s) => sim(s),
    }
}
