//! The end of a backup run: one human summary line (then `completed OK!`),
//! or the failure sentence; and with `--json` a machine-readable summary
//! on stdout either way. Never holds the password.

use crate::display::{Bars, Tally};
use crate::failure::RunFailure;
use crate::options::BackupArgs;
use indicatif::HumanBytes;
use innohot::backup::Summary;
use innohot::timefmt::{iso, log_label};
use innohot::ErrorKind;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

pub struct RunReport {
    target_dir: PathBuf,
    server: String,
    started: u64,
    started_at: std::time::Instant,
}

impl RunReport {
    pub fn new(target_dir: &Path, args: &BackupArgs, now: u64) -> Self {
        RunReport {
            target_dir: target_dir.to_path_buf(),
            server: args.connect.describe(),
            started: now,
            started_at: std::time::Instant::now(),
        }
    }

    fn base(&self, result: &str, now: u64) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("result".into(), json!(result));
        m.insert("target_dir".into(), json!(self.target_dir.display().to_string()));
        m.insert("server".into(), json!(self.server));
        m.insert("started_at".into(), json!(iso(self.started)));
        m.insert("ended_at".into(), json!(iso(now)));
        m.insert("duration_seconds".into(), json!(self.started_at.elapsed().as_secs_f64()));
        m
    }

    pub fn complete(&self, s: &Summary, now: u64, json_out: bool, quiet: bool, bars: Option<&Bars>) {
        if let Some(b) = bars {
            b.clear();
        }
        if !quiet {
            let binlog = match &s.binlog {
                Some(b) if b.gtid.is_empty() => format!("binlog {}:{}", b.file, b.position),
                Some(b) => format!("binlog {}:{} (GTID {})", b.file, b.position, b.gtid),
                None => "binary log off".to_string(),
            };
            eprintln!(
                "{} backup in {}: {} data files ({} bytes, {}), {} other files, redo {}..{} ({} bytes), {binlog}, \
                 took {:.1} s, lock (commits blocked) {:.3} s, DDL blocked {:.3} s",
                log_label(now),
                self.target_dir.display(),
                s.data_files,
                s.data_bytes,
                HumanBytes(s.data_bytes),
                s.other_files,
                s.start_lsn,
                s.last_lsn,
                s.redo_bytes,
                self.started_at.elapsed().as_secs_f64(),
                s.lock_held.as_secs_f64(),
                s.ddl_blocked.as_secs_f64()
            );
            if let Some(d) = s.delta {
                eprintln!(
                    "{} incremental: {} of {} pages scanned had changed and were copied",
                    log_label(now),
                    d.pages_written,
                    d.pages_scanned
                );
            }
            eprintln!("{} completed OK!", log_label(now));
        }
        if json_out {
            let mut m = self.base("completed", now);
            m.insert("exit_code".into(), json!(0));
            m.insert("error".into(), Value::Null);
            m.insert("error_kind".into(), Value::Null);
            m.insert("start_lsn".into(), json!(s.start_lsn));
            m.insert("to_lsn".into(), json!(s.to_lsn));
            m.insert("last_lsn".into(), json!(s.last_lsn));
            m.insert("redo_bytes".into(), json!(s.redo_bytes));
            m.insert(
                "binlog".into(),
                s.binlog
                    .as_ref()
                    .map(|b| json!({"file": b.file, "position": b.position, "gtid": b.gtid}))
                    .unwrap_or(Value::Null),
            );
            m.insert("data_files".into(), json!(s.data_files));
            m.insert("data_bytes".into(), json!(s.data_bytes));
            m.insert("other_files".into(), json!(s.other_files));
            let delta = s.delta.map(|d| json!({"pages_scanned": d.pages_scanned, "pages_written": d.pages_written}));
            m.insert("incremental".into(), delta.unwrap_or(Value::Null));
            m.insert("lock_seconds".into(), json!(s.lock_held.as_secs_f64()));
            m.insert("ddl_blocked_seconds".into(), json!(s.ddl_blocked.as_secs_f64()));
            m.insert("failed_marker".into(), Value::Null);
            println!("{}", Value::Object(m));
        }
    }

    /// The failure sentence on stderr (always, even with --quiet), and the JSON
    /// with the failure's kind.
    pub fn fail(
        &self,
        failure: &RunFailure,
        marker: Option<PathBuf>,
        tally: &Tally,
        now: u64,
        json_out: bool,
        bars: Option<&Bars>,
    ) {
        if let Some(b) = bars {
            b.clear();
        }
        eprintln!("{} innohot: backup failed: {failure}", log_label(now));
        if let Some(m) = &marker {
            eprintln!(
                "{} innohot: {} names the reason; remove the directory before the next run",
                log_label(now),
                m.display()
            );
        }
        if json_out {
            let kind = failure.kind();
            let mut m = self.base(if kind == ErrorKind::Interrupted { "interrupted" } else { "failed" }, now);
            m.insert("exit_code".into(), json!(1));
            m.insert("error".into(), json!(failure.to_string()));
            m.insert("error_kind".into(), json!(kind.as_str()));
            m.insert("data_files".into(), json!(tally.files_done.load(Ordering::Relaxed)));
            m.insert("data_bytes".into(), json!(tally.bytes_copied.load(Ordering::Relaxed)));
            m.insert("redo_bytes".into(), json!(tally.redo_bytes.load(Ordering::Relaxed)));
            m.insert("failed_marker".into(), json!(marker.map(|p| p.display().to_string())));
            println!("{}", Value::Object(m));
        }
    }
}
