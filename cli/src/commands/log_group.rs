//! `innohot mysql57-log-group`: a MySQL 5.7 backup's redo written as the log files its server's crash
//! recovery reads.

use crate::args::LogGroupCmd;
use crate::commands::run::Run;
use innohot::io::local::RealLocalFs;
use innohot::restore::mysql57_group;
use serde_json::{json, Map};
use std::process::ExitCode;

/// `innohot mysql57-log-group --target-dir DIR`.
pub fn run(cmd: &LogGroupCmd) -> ExitCode {
    let run = Run::new("mysql57-log-group", &cmd.common, &cmd.target_dir);
    let files = cmd.innodb_log_files_in_group;
    let r = match mysql57_group::write_log_group(&RealLocalFs, &cmd.target_dir, files, cmd.innodb_log_file_size) {
        Ok(r) => r,
        Err(e) => return run.fail(&e.into()),
    };
    let mib = r.file_size >> 20;
    run.say(&format!(
        "wrote {} log files of {mib} MiB in {}: redo {}..{} ({} bytes) from the start checkpoint {}. Now start a \
         MySQL 5.7 server with --datadir={} --innodb-log-files-in-group={files} --innodb-log-file-size={mib}M, \
         let its crash recovery finish, and shut it down with innodb_fast_shutdown=0",
        r.files.len(),
        cmd.target_dir.display(),
        r.checkpoint_lsn,
        r.last_lsn,
        r.copied_bytes,
        r.checkpoint_lsn,
        cmd.target_dir.display(),
    ));
    let mut m = Map::new();
    m.insert("files".into(), json!(r.files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>()));
    m.insert("innodb_log_files_in_group".into(), json!(files));
    m.insert("innodb_log_file_size".into(), json!(r.file_size));
    m.insert("checkpoint_lsn".into(), json!(r.checkpoint_lsn));
    m.insert("last_lsn".into(), json!(r.last_lsn));
    run.done("log-group-written", m)
}
