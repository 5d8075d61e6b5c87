//! A write load that counts its commits, for `scripts/compare-impact.sh`:
//! N connections commit small InnoDB transactions (an UPDATE of a random row
//! and an INSERT) until stopped or for D seconds, and once a second one line
//! `<unix time with fraction> <commits in that second>` goes to stdout.
//!
//! ```text
//! tps --socket PATH [--threads N] [--seconds D] [--setup ROWS]
//! ```
//! `--setup ROWS` creates `impact.t` with ROWS rows and exits.

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Args {
    socket: String,
    threads: usize,
    seconds: u64,
    setup: Option<u64>,
}

fn parse() -> Result<Args, String> {
    let mut a = Args { socket: String::new(), threads: 4, seconds: 3600, setup: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--socket" => a.socket = value()?,
            "--threads" => a.threads = value()?.parse().map_err(|e| format!("--threads: {e}"))?,
            "--seconds" => a.seconds = value()?.parse().map_err(|e| format!("--seconds: {e}"))?,
            "--setup" => a.setup = Some(value()?.parse().map_err(|e| format!("--setup: {e}"))?),
            other => return Err(format!("unknown option {other}")),
        }
    }
    if a.socket.is_empty() {
        return Err("--socket PATH is required".into());
    }
    Ok(a)
}

fn connect(socket: &str) -> Result<Conn, String> {
    let opts = OptsBuilder::new().socket(Some(socket)).user(Some("root")).prefer_socket(true);
    Conn::new(opts).map_err(|e| format!("connecting to {socket}: {e}"))
}

fn setup(conn: &mut Conn, rows: u64) -> Result<(), String> {
    let sql = [
        "CREATE DATABASE IF NOT EXISTS impact".to_string(),
        "DROP TABLE IF EXISTS impact.t".to_string(),
        "CREATE TABLE impact.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL, v VARCHAR(1000) NOT NULL, \
         KEY (k)) ENGINE=InnoDB"
            .to_string(),
        format!("INSERT INTO impact.t (k, v) SELECT seq % 1000, REPEAT('v', 100) FROM impact.seq_1_to_{rows}"),
    ];
    for s in &sql {
        conn.query_drop(s).map_err(|e| format!("{s}: {e}"))?;
    }
    Ok(())
}

fn writer(socket: String, seed: u64, stop: Arc<AtomicBool>, commits: Arc<AtomicU64>) -> Result<(), String> {
    let mut conn = connect(&socket)?;
    let max: u64 = conn.query_first("SELECT MAX(id) FROM impact.t").map_err(|e| e.to_string())?.unwrap_or(1);
    let mut x = seed | 1;
    while !stop.load(Ordering::Relaxed) {
        // xorshift: a row to update, spread over the table.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let id = x % max.max(1) + 1;
        let txn = [
            "BEGIN".to_string(),
            format!("UPDATE impact.t SET k = k + 1 WHERE id = {id}"),
            format!("INSERT INTO impact.t (k, v) VALUES ({}, REPEAT('w', 1000))", x % 1000),
            "COMMIT".to_string(),
        ];
        let mut committed = true;
        for s in &txn {
            if let Err(e) = conn.query_drop(s) {
                // A deadlock or timeout is rolled back and not counted;
                // anything else ends this writer.
                let text = e.to_string();
                if text.contains("1213") || text.contains("1205") {
                    let _ = conn.query_drop("ROLLBACK");
                    committed = false;
                    break;
                }
                return Err(format!("{s}: {text}"));
            }
        }
        if !committed {
            continue;
        }
        commits.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("tps: {e}");
            std::process::exit(2);
        }
    };
    if let Some(rows) = args.setup {
        if let Err(e) = connect(&args.socket).and_then(|mut c| setup(&mut c, rows)) {
            eprintln!("tps: {e}");
            std::process::exit(1);
        }
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..args.threads)
        .map(|i| {
            let (socket, stop, commits) = (args.socket.clone(), stop.clone(), commits.clone());
            std::thread::spawn(move || writer(socket, 0x9e37_79b9_7f4a_7c15 ^ i as u64, stop, commits))
        })
        .collect();
    let started = Instant::now();
    let mut last = 0;
    while started.elapsed() < Duration::from_secs(args.seconds) {
        std::thread::sleep(Duration::from_secs(1));
        let now = commits.load(Ordering::Relaxed);
        let unix = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64();
        println!("{unix:.3} {}", now - last);
        last = now;
        if threads.iter().all(|t| t.is_finished()) {
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        match t.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("tps: a writer stopped: {e}"),
            Err(_) => eprintln!("tps: a writer panicked"),
        }
    }
}
