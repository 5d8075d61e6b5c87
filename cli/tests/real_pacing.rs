//! Issue 24: `--throttle=auto` on a real MariaDB server. A write load runs
//! when the backup starts and stops a few seconds after the backup says it
//! paces its copy; the backup's own report must show the copy held back
//! while the load ran and at full speed once it stopped. Asserted on the
//! rates the backup reports, not on wall-clock figures.
#![allow(clippy::disallowed_methods)] // a test reads files and runs programs directly

use innohot_testbeds::{binaries_or_skip, innohot, ServerBuilder, Workload, WorkloadConfig};
use mysql::prelude::Queryable;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

/// How long the load runs on once the backup paces: many windows of 200 ms.
const PACED_FOR: Duration = Duration::from_secs(3);

/// (seconds paced, MiB/s paced, seconds at full speed, MiB/s at full speed) from
/// "pace: P s paced at X MiB/s on average, F s at full speed at Y MiB/s".
fn summary_rates(line: &str) -> (f64, f64, f64, f64) {
    let line = &line[line.find("pace: ").expect("a pace line")..];
    let n: Vec<f64> = line
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse().ok())
        .collect();
    assert_eq!(n.len(), 4, "{line}");
    (n[0], n[1], n[2], n[3])
}

#[test]
fn auto_pacing_slows_the_copy_under_a_load_and_speeds_up_when_it_stops() {
    let Some(b) = binaries_or_skip() else { return };
    let src = ServerBuilder::new(b).innodb_log_file_size("256M").start().expect("start the source");
    let cfg = WorkloadConfig {
        schema: "load".into(),
        threads: 4,
        initial_rows: 1000,
        duration: Duration::from_secs(120),
        aria: false,
        ..WorkloadConfig::default()
    };
    let mut c = src.conn().unwrap();
    Workload::setup(&mut c, &cfg).unwrap();
    // About 200 MB to copy: long enough for windows paced and at full speed.
    c.query_drop("CREATE TABLE load.big (id INT PRIMARY KEY, v VARCHAR(2000))").unwrap();
    c.query_drop("INSERT INTO load.big SELECT seq, REPEAT(CHAR(65 + seq % 26), 1900) FROM load.seq_1_to_100000")
        .unwrap();
    let load = Workload::start(src.opts(), cfg).expect("start the load");
    std::thread::sleep(Duration::from_secs(1));
    let dir = tempfile::tempdir().unwrap();
    // Any loss counts: the copy must slow down whatever this machine's disk.
    let mut child = innohot!()
        .backup_command(&src, &dir.path().join("b"), &["--max-impact=1"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok);
    let mut log: Vec<String> = lines.by_ref().take_while(|l| !l.contains("the copy is paced")).collect();
    assert!(!log.iter().any(|l| l.contains("completed OK!")), "the copy was never paced:\n{}", log.join("\n"));
    let stopper = std::thread::spawn(move || {
        std::thread::sleep(PACED_FOR);
        load.stop().expect("the load ran cleanly")
    });
    log.extend(lines);
    let ok = child.wait().unwrap().success();
    let stats = stopper.join().unwrap();
    let text = log.join("\n");
    assert!(ok && text.ends_with("completed OK!"), "innohot backup:\n{text}");
    assert!(stats.commits > 0, "the load committed nothing: {stats:?}");
    let pace: Vec<&String> = log.iter().filter(|l| l.contains("pace: ")).collect();
    eprintln!("{}", pace.iter().map(|l| l.as_str()).collect::<Vec<_>>().join("\n"));
    assert!(
        pace.iter().any(|l| l.contains("the server is idle") && l.contains("paced: ")),
        "the copy never went from paced to full speed:\n{text}"
    );
    let summary = pace.iter().rev().find(|l| l.contains(" s paced at ")).expect("the pace summary");
    let (paced_s, paced_rate, full_s, full_rate) = summary_rates(summary);
    assert!(paced_s >= 1.0 && full_s > 0.0, "{summary}");
    assert!(full_rate > 2.0 * paced_rate, "full speed was not faster than paced: {summary}");
}
