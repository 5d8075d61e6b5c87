//! `innohot sim`: one simulated backup by seed or config line (its trace, outcome and verdict), or a
//! sweep over a range of seeds with its table.

use crate::args::SimCmd;
use crate::commands::common::{usage_error, FAILURE};
use innohot_simulator::config::{Flavor, Scenario, FLAVORS, SCENARIOS};
use innohot_simulator::sweep::{ScenarioRow, SweepTable};
use innohot_simulator::{run as simulate, Outcome, RunOptions, SimConfig, Verdict};
use std::process::ExitCode;

/// `innohot sim`: a sweep with `--seeds`, else one run.
pub fn run(cmd: SimCmd) -> ExitCode {
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
    if let Some(seeds) = cmd.seeds {
        return sweep(seeds, &flavors, &scenarios, cmd.require_reached);
    }
    one_run(cmd, &flavors, &scenarios)
}

/// `--seeds A..B`: every seed of every flavor and scenario, the table, the throughput, and what no
/// run reached.
fn sweep((a, b): (u64, u64), flavors: &[Flavor], scenarios: &[Scenario], require_reached: bool) -> ExitCode {
    let started = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut table = SweepTable::default();
    let mut secs_by_flavor = Vec::new();
    for &flavor in flavors {
        let t = std::time::Instant::now();
        table.merge(innohot_simulator::sweep::sweep(a, b, &[flavor], scenarios, threads));
        secs_by_flavor.push((flavor, t.elapsed().as_secs_f64()));
    }
    let total = print_table(&table, &secs_by_flavor, started, (a, b), threads);
    let unreached = unreached(&table, &secs_by_flavor);
    if require_reached && !unreached.is_empty() {
        println!("NOT REACHED: no run of {} reached what the scenario aims at", unreached.join(", "));
        return ExitCode::from(FAILURE);
    }
    if total.wrong == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(FAILURE)
    }
}

/// The sweep's table with its wrong runs' replay lines, and the throughput; the total row.
fn print_table(
    table: &SweepTable,
    secs_by_flavor: &[(Flavor, f64)],
    started: std::time::Instant,
    (a, b): (u64, u64),
    threads: usize,
) -> ScenarioRow {
    let secs = started.elapsed().as_secs_f64();
    for (cfg, lines) in &table.wrong_runs {
        println!("WRONG: {}", lines.join("; "));
        println!("  replay: innohot sim --config '{cfg}'");
    }
    println!("seeds {a}..{b}, {threads} threads\n{table}");
    for (flavor, s) in secs_by_flavor {
        let t = table.flavor_total(*flavor);
        println!("{flavor}: {} runs in {s:.1} s wall: {:.1} simulated backups per second", t.runs, t.runs as f64 / s);
    }
    let total = table.total();
    println!(
        "throughput: {:.1} simulated backups per second, {:.1} simulated seconds per real second ({:.1} s wall)",
        total.runs as f64 / secs,
        total.sim_nanos as f64 / 1e9 / secs,
        secs
    );
    total
}

/// What the scenarios aim at and no run reached (each flavor's growth of a data file during the
/// copy too, once it had 200 runs), with each flavor's growth count printed.
fn unreached(table: &SweepTable, secs_by_flavor: &[(Flavor, f64)]) -> Vec<String> {
    let mut unreached: Vec<String> = table
        .rows
        .iter()
        .filter(|(_, row)| row.reached == 0)
        .map(|((flavor, scenario), _)| format!("{flavor} {}", scenario.name()))
        .collect();
    for (flavor, _) in secs_by_flavor {
        let t = table.flavor_total(*flavor);
        println!("{flavor}: {} of {} runs had a data file grow while it was being copied", t.grown_during_copy, t.runs);
        if t.runs >= 200 && t.grown_during_copy == 0 {
            unreached.push(format!("{flavor} data-file growth during the copy"));
        }
    }
    unreached
}

/// `--seed N` or `--config LINE`: one run, its outcome, verdict and replay line.
fn one_run(cmd: SimCmd, flavors: &[Flavor], scenarios: &[Scenario]) -> ExitCode {
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
    let report = simulate(cfg.clone(), RunOptions::default());
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
