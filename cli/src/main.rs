//! The innohot command line: argument parsing, progress lines, exit codes.

mod options;

use innohot::events::{Event, EventKind, Phase, Progress, Role};
use innohot::timefmt::log_label;
use innohot_simulator::config::{Flavor, Scenario, FLAVORS, SCENARIOS};
use innohot_simulator::{run, Outcome, RunOptions, SimConfig, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
innohot: hot physical backups of InnoDB servers

usage:
  innohot backup --target-dir DIR [--defaults-file F] [--socket S | --host H --port P]
                 [--user U] [--password=P] [--chunk-size BYTES] [--page-retries N]
                 [--retry-delay-ms MS] [--log-poll-ms MS] [--no-direct] [--no-fadvise]
                                 hot backup of a running MySQL 5.7 or MariaDB 10.8-10.11 server
                                 (password also from INNOHOT_PASSWORD or the defaults file;
                                 --debug-pause-before-lock-ms MS is for tests only)
  innohot demo [DIR]             back up a simulated MySQL 5.7 server under concurrent
                                 writes (kept in DIR, or a temporary directory), check
                                 the backup against the simulator's ground truth
  innohot sim --seed N [--scenario S] [--flavor F] [--trace]
                                 one simulated backup: seed, configuration, verdict, replay line
  innohot sim --config 'LINE'    replay the run a config line describes (as printed)
  innohot sim --seeds A..B [--scenario S|all] [--flavor F|all]
                                 many seeds: a table per flavor, a row per scenario, a replay
                                 line per wrong result
  scenarios: default lap torn source-eio target-enospc target-eio fsync-fail connection-drop kill ddl mixed
  flavors: mysql57 (the default) mariadb
  innohot help                   this text
";

/// xtrabackup-style log lines on stderr: "261125 01:15:47 [01] Copying ...".
struct LogLines {
    hide_root: Option<PathBuf>,
}

impl LogLines {
    fn path(&self, p: &str) -> String {
        match &self.hide_root {
            Some(r) => p.replace(&format!("{}/", r.display()), ""),
            None => p.to_string(),
        }
    }
}

impl Progress for LogLines {
    fn event(&self, e: &Event) {
        let t = log_label(e.unix);
        let tag = match e.role {
            Role::DataCopier(n) => format!("[{n:02}]"),
            _ => "[00]".to_string(),
        };
        let line = match &e.kind {
            EventKind::LogScanned { lsn, .. } => format!(">> log scanned up to ({lsn})"),
            EventKind::CopyStarted { source, target } => {
                format!("{tag} Copying {} to {}", self.path(source), self.path(target))
            }
            EventKind::CopyDone { .. } => format!("{tag}        ...done"),
            EventKind::PageRetry { file, page, attempt, defect } => {
                format!("{tag} re-reading {} page {page} (attempt {attempt}): {defect}", self.path(file))
            }
            EventKind::Written { file, .. } => format!("[00] Writing {file}"),
            EventKind::Statement(s) => format!("Executing {s}..."),
            EventKind::Note(n) => self.path(n),
            EventKind::PhaseStarted if e.phase == Phase::Lock => "Acquiring the read lock".to_string(),
            EventKind::PhaseStarted | EventKind::Completed => return,
        };
        eprintln!("{t} {line}");
    }
}

fn parse_seed_range(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once("..")?;
    let (a, b) = (a.parse().ok()?, b.parse().ok()?);
    (a < b).then_some((a, b))
}

fn demo(dir: Option<PathBuf>) -> ExitCode {
    let cfg = SimConfig::from_seed(1);
    if let Some(d) = &dir {
        if d.exists() && std::fs::read_dir(d).map(|mut r| r.next().is_some()).unwrap_or(true) {
            eprintln!("innohot: {} exists and is not empty: give a new or empty directory", d.display());
            return ExitCode::from(1);
        }
    }
    eprintln!("innohot demo: a simulated MySQL 5.7 server under concurrent writes ({})", cfg);
    let progress = Arc::new(LogLines { hide_root: dir.clone() });
    let report = run(cfg, RunOptions { dir: dir.clone(), progress: Some(progress), ..RunOptions::default() });
    finish(&report, dir.is_some())
}

fn finish(report: &innohot_simulator::RunReport, kept: bool) -> ExitCode {
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
            eprintln!("oracle: WRONG RESULT ({outcome:?}):");
            for l in lines {
                eprintln!("  - {l}");
            }
            false
        }
        (outcome, Verdict::Verified) => {
            eprintln!("oracle: verified, but the outcome was {outcome:?}");
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
        ExitCode::from(1)
    }
}

fn sim(args: &[String]) -> ExitCode {
    let mut seed = None;
    let mut seeds = None;
    let mut config: Option<SimConfig> = None;
    let mut scenarios = vec![Scenario::Default];
    let mut flavors = vec![Flavor::Mysql57];
    let mut trace = false;
    let mut it = args.iter();
    let bad = |msg: String| {
        eprintln!("innohot sim: {msg}\n\n{USAGE}");
        ExitCode::from(1)
    };
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--seed" => match value().parse::<u64>() {
                Ok(v) => seed = Some(v),
                Err(_) => return bad("--seed needs a number".into()),
            },
            "--seeds" => match parse_seed_range(&value()) {
                Some(r) => seeds = Some(r),
                None => return bad("--seeds needs A..B with A < B".into()),
            },
            "--scenario" => {
                let v = value();
                scenarios = if v == "all" {
                    SCENARIOS.to_vec()
                } else {
                    match v.parse() {
                        Ok(sc) => vec![sc],
                        Err(e) => return bad(e),
                    }
                };
            }
            "--flavor" => {
                let v = value();
                flavors = if v == "all" {
                    FLAVORS.to_vec()
                } else {
                    match v.parse() {
                        Ok(f) => vec![f],
                        Err(e) => return bad(e),
                    }
                };
            }
            "--config" => match value().parse() {
                Ok(c) => config = Some(c),
                Err(e) => return bad(format!("--config: {e}")),
            },
            "--trace" => trace = true,
            other => return bad(format!("unknown argument {other:?}")),
        }
    }
    if let Some((a, b)) = seeds {
        let started = std::time::Instant::now();
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
        let mut table = innohot_simulator::sweep::SweepTable::default();
        let mut secs_by_flavor = Vec::new();
        for &flavor in &flavors {
            let t = std::time::Instant::now();
            let part = innohot_simulator::sweep::sweep(a, b, &[flavor], &scenarios, threads);
            secs_by_flavor.push((flavor, t.elapsed().as_secs_f64()));
            table.merge(part);
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
        return if total.wrong == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    let cfg = match (config, seed) {
        (Some(c), _) => c,
        (None, Some(s)) => SimConfig::for_flavor(s, flavors[0], scenarios[0]),
        (None, None) => return bad("give --seed N, --config LINE or --seeds A..B".into()),
    };
    println!("seed: {}", cfg.seed);
    println!("config: {cfg}");
    let report = run(cfg.clone(), RunOptions::default());
    if trace {
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
    println!("faults fired: {:?}", report.stats.faults_fired);
    println!("verdict: {verdict}");
    println!("backup hash: {:016x}", report.target_hash);
    println!("replay: innohot sim --config '{cfg}'");
    if report.verdict.is_wrong() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn backup(args: &[String]) -> ExitCode {
    use innohot::backup::{run as run_backup, Backup, Services};
    use innohot::io::real::{RealSourceFs, RealTargetDir, SystemClock};
    use innohot::server::mysql::MysqlControl;
    let read = |p: &PathBuf| std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()));
    let parsed = match options::parse_backup_args(args, std::env::var("INNOHOT_PASSWORD").ok(), &read) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("innohot backup: {e}\n\n{USAGE}");
            return ExitCode::from(1);
        }
    };
    let target_dir = parsed.target_dir.clone().expect("checked by the parser");
    let mut options = parsed.options;
    let mut full: Vec<String> = vec!["innohot".into(), "backup".into()];
    full.extend(args.iter().cloned());
    options.tool_command = innohot::meta::mask_secrets(&full);
    let clock = std::sync::Arc::new(SystemClock::new());
    let fail = |what: String| {
        eprintln!("{} innohot: backup failed: {what}", log_label(clock_now_unix()));
        ExitCode::from(1)
    };
    let server = match MysqlControl::connect(&parsed.connect) {
        Ok(s) => s,
        Err(e) => return fail(e.to_string()),
    };
    let target = match RealTargetDir::create(&target_dir, options.copy.read_policy.fadvise) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: {e}", target_dir.display())),
    };
    let backup = Backup::new(
        options,
        Services {
            server: Box::new(server),
            fs: std::sync::Arc::new(RealSourceFs),
            target: std::sync::Arc::new(target),
            clock: clock.clone(),
            progress: std::sync::Arc::new(LogLines { hide_root: None }),
        },
    );
    match run_backup(backup, clock) {
        Ok(summary) => {
            eprintln!(
                "{} backup in {}: {} data files ({} bytes), {} other files, redo {}..{}, read lock held {:.3} s",
                log_label(clock_now_unix()),
                target_dir.display(),
                summary.data_files,
                summary.data_bytes,
                summary.other_files,
                summary.start_lsn,
                summary.last_lsn,
                summary.lock_held.as_secs_f64()
            );
            eprintln!("{} completed OK!", log_label(clock_now_unix()));
            ExitCode::SUCCESS
        }
        Err(e) => fail(e.to_string()),
    }
}

/// The wall clock for log labels (the CLI is the one place that may read it directly).
fn clock_now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("backup") => backup(&args[1..]),
        Some("demo") => match args.len() {
            1 => demo(None),
            2 => demo(Some(PathBuf::from(&args[1]))),
            _ => {
                eprintln!("innohot demo: at most one directory\n\n{USAGE}");
                ExitCode::from(1)
            }
        },
        Some("sim") => sim(&args[1..]),
        Some("help") | Some("--help") | Some("-h") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(1)
        }
    }
}
